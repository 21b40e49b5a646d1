import { NginxConfRecord, type NginxConfRecordOf } from "./nginx-conf-records.js";
import { type Directive, parseSegment, type Segment } from "./nginx-conf-tokens.js";
import { upstreamServer } from "./nginx-conf-upstream-server.js";
import { localToUtc } from "./time.js";
import type { Parser, Unreadable } from "./types.js";

export { NginxConfRecord, UpstreamServer } from "./nginx-conf-records.js";
export { ConfLocation, ConfServer, ConfUpstream, NginxConf, summarizeConf } from "./nginx-conf-summary.js";
export { parseDuration, parseSize } from "./nginx-conf-units.js";

/**
 * `nginx -T` reader. nginx prints every configuration file it read, each after a
 * `# configuration file PATH:` line, in the order it opened them; included files are printed after their
 * parent, not in place. The parser tokenizes each file the way ngx_conf_file.c does (quotes, `\` escapes,
 * `#` comments, `{ } ;`), expands `include` by matching its path or glob against the printed files, and
 * walks the result by context (main, http, server, location, upstream, stream). Records are emitted at
 * `end()`, since an include can only be placed once every file is known.
 */

const HEADER = /^# configuration file (.+):$/;
const STDERR = /^nginx: (?:\[(\w+)\] )?(.*)$/;
const STAMPED = /^(\d{4})\/(\d\d)\/(\d\d) (\d\d):(\d\d):(\d\d) \[(\w+)\] \d+#\d+: (.*)$/;
const LEVELS = new Set(["emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"]);

/** glob(3) pattern as used by `include`: `*`, `?` and `[...]` classes, none crossing a `/`. */
function globToRegex(glob: string): RegExp | undefined {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] ?? "";
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[" && glob[i + 1] === "!") {
      re += "[^";
      i++;
    } else if (c === "[") re += "[";
    else if (c === "]") re += "]";
    else re += c.replace(/[\\^$.+(){}|]/g, "\\$&");
  }
  try {
    return new RegExp(`^${re}$`);
  } catch {
    return undefined;
  }
}

function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

interface Walk {
  kind: string;
  module: "http" | "stream" | "mail";
  scope: string;
  server?: NginxConfRecordOf<"server">;
  location?: NginxConfRecordOf<"location">;
  upstream?: NginxConfRecordOf<"upstream">;
  conditional?: boolean;
}

const PASSES: Record<string, "proxyPass" | "fastcgiPass" | "uwsgiPass" | "grpcPass" | "scgiPass"> = {
  proxy_pass: "proxyPass",
  fastcgi_pass: "fastcgiPass",
  uwsgi_pass: "uwsgiPass",
  grpc_pass: "grpcPass",
  scgi_pass: "scgiPass",
};

export const nginxConfParser: Parser<NginxConfRecord> = {
  kind: "nginx-conf",
  schema: NginxConfRecord,
  start(ctx, sink) {
    const segments: Segment[] = [];
    const checks: NginxConfRecordOf<"check">[] = [];
    const base = (d: { line: number; text: string }) => ({
      host: ctx.host,
      source: ctx.source,
      line: d.line,
      text: d.text,
    });

    function check(text: string, lineNo: number): boolean {
      const s = STAMPED.exec(text);
      if (s && LEVELS.has(s[7] ?? "")) {
        const [, y, mo, d, h, mi, se, level, message] = s;
        const rec: NginxConfRecordOf<"check"> = {
          ...base({ line: lineNo, text }),
          entity: "check",
          ok: null,
          level: level ?? null,
          message: message ?? "",
        };
        const time = localToUtc(
          Number(y),
          Number(mo),
          Number(d),
          Number(h),
          Number(mi),
          Number(se),
          0,
          ctx.utcOffsetMinutes,
        );
        if (time) rec.time = time;
        checks.push(rec);
        return true;
      }
      const m = STDERR.exec(text);
      if (!m) return false;
      const message = m[2] ?? "";
      if (m[1] === undefined && !/^(?:the )?configuration file /.test(message)) return false;
      if (m[1] !== undefined && !LEVELS.has(m[1])) return false;
      const ok = /syntax is ok$|test is successful$/.test(message)
        ? true
        : /test failed$/.test(message)
          ? false
          : null;
      checks.push({ ...base({ line: lineNo, text }), entity: "check", ok, level: m[1] ?? null, message });
      return true;
    }

    return {
      line(text, lineNo) {
        const header = HEADER.exec(text);
        if (header?.[1]) {
          segments.push({ path: header[1], header: lineNo, lines: [] });
          return;
        }
        if (check(text, lineNo)) return;
        const current = segments[segments.length - 1];
        if (current) {
          // Lines of the file keep their position even if a stderr line was interleaved.
          while (current.header + current.lines.length + 1 < lineNo) current.lines.push("");
          current.lines.push(text);
        } else if (text.trim() !== "") {
          sink.unreadable({ line: lineNo, text, reason: "outside any '# configuration file' section" });
        }
      },
      end() {
        const errors: Unreadable[] = [];
        const trees = segments.map((seg) => parseSegment(seg, errors));
        const out: NginxConfRecord[] = [...checks];
        const files = new Map<string, number>();
        segments.forEach((seg, i) => {
          if (!files.has(seg.path)) files.set(seg.path, i);
          out.push({
            ...base({ line: seg.header, text: `# configuration file ${seg.path}:` }),
            entity: "file",
            file: seg.path,
            fileLine: 0,
            lines: seg.lines.length,
          });
        });
        const used = new Set<number>();
        const prefix = segments[0] ? dirname(segments[0].path) : "/";
        let servers = 0;
        const childCount = new Map<string, number>();

        const located = (d: Directive) => ({ ...base(d), file: d.file, fileLine: d.fileLine });
        const setting = (d: Directive, scope: string) =>
          out.push({ ...located(d), entity: "setting", name: d.name, args: d.args, scope });

        function include(d: Directive, w: Walk, stack: number[]): void {
          const pattern = d.args[0] ?? "";
          const full = pattern.startsWith("/") ? pattern : `${prefix}/${pattern}`;
          const re = /[*?[]/.test(full) ? globToRegex(full) : undefined;
          segments.forEach((seg, i) => {
            if (files.get(seg.path) !== i || stack.includes(i)) return;
            if (re ? re.test(seg.path) : seg.path === full) {
              used.add(i);
              walk(trees[i] ?? [], w, [...stack, i]);
            }
          });
        }

        function walk(nodes: Directive[], w: Walk, stack: number[]): void {
          for (const d of nodes) {
            if (d.name === "include" && !d.children) {
              if (w.kind !== "if") setting(d, w.scope);
              include(d, w, stack);
              continue;
            }
            if (d.name === "access_log" && !d.children) {
              const [path = "", format = "combined", ...params] = d.args;
              out.push({
                ...located(d),
                entity: "access_log",
                path,
                format: path === "off" ? "" : format,
                params,
                scope: w.scope,
                conditional: w.conditional ?? false,
              });
              continue;
            }
            if (d.name === "error_log" && !d.children) {
              const [path = "", level = "error"] = d.args;
              out.push({ ...located(d), entity: "error_log", path, level, scope: w.scope });
              continue;
            }
            if (w.kind === "if") {
              if (d.name === "if" && d.children) walk(d.children, w, stack);
              continue;
            }
            if (d.children) block(d, w, stack);
            else directive(d, w);
          }
        }

        function directive(d: Directive, w: Walk): void {
          if (w.kind === "http" && d.name === "log_format") {
            const [name = "", ...rest] = d.args;
            const mode = /^escape=(default|json|none)$/.exec(rest[0] ?? "")?.[1] as
              | "default"
              | "json"
              | "none"
              | undefined;
            const parts = mode ? rest.slice(1) : rest;
            out.push({
              ...located(d),
              entity: "log_format",
              name,
              escape: mode ?? "default",
              format: parts.join(""),
            });
            return;
          }
          if (w.upstream) {
            const u = w.upstream;
            if (d.name === "server") u.servers.push(upstreamServer(d, w.module));
            else if (d.name === "keepalive" && /^\d+$/.test(d.args[0] ?? "")) u.keepalive = Number(d.args[0]);
            else u.directives.push({ name: d.name, args: d.args, line: d.line });
            return;
          }
          const pass = PASSES[d.name];
          const server = w.kind === "server" ? w.server : undefined;
          if (w.location && pass) w.location[pass] = d.args[0] ?? null;
          else if (server && d.name === "listen") server.listen.push(d.args.join(" "));
          else if (server && d.name === "server_name") server.serverName.push(...d.args);
          else if (server && d.name === "proxy_pass" && w.module === "stream")
            server.proxyPass = d.args[0] ?? null;
          else setting(d, w.scope);
        }

        function block(d: Directive, w: Walk, stack: number[]): void {
          const children = d.children ?? [];
          if (
            w.kind === "main" &&
            (d.name === "http" || d.name === "stream" || d.name === "mail" || d.name === "events")
          ) {
            const module = d.name === "events" ? w.module : d.name;
            walk(children, { kind: d.name, module, scope: d.name }, stack);
          } else if ((w.kind === "http" || w.kind === "stream" || w.kind === "mail") && d.name === "server") {
            const id = `s${servers++}`;
            const server: NginxConfRecordOf<"server"> = {
              ...located(d),
              entity: "server",
              id,
              module: w.module,
              parent: w.scope,
              listen: [],
              serverName: [],
              proxyPass: null,
            };
            out.push(server);
            walk(children, { kind: "server", module: w.module, scope: id, server }, stack);
          } else if ((w.kind === "http" || w.kind === "stream") && d.name === "upstream") {
            upstream(d, w, stack);
          } else if ((w.kind === "server" || w.kind === "location") && d.name === "location" && w.server) {
            location(d, w, stack);
          } else if (d.name === "if" && (w.kind === "server" || w.kind === "location")) {
            walk(children, { ...w, kind: "if", conditional: true }, stack);
          }
          // map, geo, types, split_clients, limit_except and unknown blocks hold no upstream routing.
        }

        function upstream(d: Directive, w: Walk, stack: number[]): void {
          const rec: NginxConfRecordOf<"upstream"> = {
            ...located(d),
            entity: "upstream",
            name: d.args[0] ?? "",
            module: w.module,
            servers: [],
            keepalive: null,
            directives: [],
          };
          out.push(rec);
          walk(
            d.children ?? [],
            { kind: "upstream", module: w.module, scope: `upstream:${rec.name}`, upstream: rec },
            stack,
          );
        }

        function location(d: Directive, w: Walk, stack: number[]): void {
          const server = w.server;
          if (!server) return;
          let [modifier = "", path = ""] = d.args.length >= 2 ? d.args : ["", d.args[0] ?? ""];
          if (d.args.length === 1) {
            const glued = /^(=|\^~|~\*|~)(.+)$/.exec(path);
            if (glued) [, modifier = "", path = ""] = glued;
          }
          const siblings = childCount.get(w.scope) ?? 0;
          childCount.set(w.scope, siblings + 1);
          const rec: NginxConfRecordOf<"location"> = {
            ...located(d),
            entity: "location",
            id: `${w.scope}/l${siblings}`,
            serverId: server.id,
            parentId: w.scope,
            modifier,
            path,
            proxyPass: null,
            fastcgiPass: null,
            uwsgiPass: null,
            grpcPass: null,
            scgiPass: null,
          };
          out.push(rec);
          walk(
            d.children ?? [],
            { kind: "location", module: w.module, scope: rec.id, server, location: rec },
            stack,
          );
        }

        if (trees[0]) {
          used.add(0);
          walk(trees[0], { kind: "main", module: "http", scope: "main" }, [0]);
        }
        segments.forEach((seg, i) => {
          if (used.has(i) || files.get(seg.path) !== i) return;
          walk(trees[i] ?? [], { kind: "http", module: "http", scope: "orphan" }, [i]);
        });
        for (const e of errors) sink.unreadable(e);
        for (const r of out) sink.record(r);
      },
    };
  },
};
