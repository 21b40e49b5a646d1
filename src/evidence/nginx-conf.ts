import { z } from "zod";
import { COMBINED_FORMAT } from "./log-format.js";
import { localToUtc } from "./time.js";
import { type Parser, RecordBase, type Unreadable } from "./types.js";

/**
 * `nginx -T` reader. nginx prints every configuration file it read, each after a
 * `# configuration file PATH:` line, in the order it opened them; included files are printed after their
 * parent, not in place. The parser tokenizes each file the way ngx_conf_file.c does (quotes, `\` escapes,
 * `#` comments, `{ } ;`), expands `include` by matching its path or glob against the printed files, and
 * walks the result by context (main, http, server, location, upstream, stream). Records are emitted at
 * `end()`, since an include can only be placed once every file is known.
 */

const Located = {
  /** The configuration file (`# configuration file X:`) the directive is written in. */
  file: z.string(),
  /** Line within that file (1-based); `line` is the line in the `nginx -T` output. */
  fileLine: z.number().int().nonnegative(),
};

export const UpstreamServer = z.object({
  /** As nginx writes it in logs: `host:port` (port 80 added when absent in http), or `unix:/path`. */
  address: z.string(),
  /** The address as written in the config. */
  raw: z.string(),
  host: z.string().nullable(),
  port: z.number().int().nullable(),
  unix: z.string().optional(),
  /** Effective parameters: nginx's defaults (weight 1, max_fails 1, fail_timeout 10 s) when not written. */
  params: z.object({
    weight: z.number(),
    max_fails: z.number(),
    /** Seconds. */
    fail_timeout: z.number(),
    backup: z.boolean(),
    down: z.boolean(),
    resolve: z.boolean(),
    /** 0 means unlimited. */
    max_conns: z.number(),
    other: z.record(z.string(), z.string()),
  }),
  line: z.number().int().positive(),
  fileLine: z.number().int().nonnegative(),
  text: z.string(),
});
export type UpstreamServer = z.infer<typeof UpstreamServer>;

const Module = z.enum(["http", "stream", "mail"]);

export const NginxConfRecord = z.discriminatedUnion("entity", [
  RecordBase.extend({
    entity: z.literal("check"),
    /** true for `syntax is ok` / `test is successful`, false for `test failed`, null for other messages. */
    ok: z.boolean().nullable(),
    level: z.string().nullable(),
    message: z.string(),
  }),
  RecordBase.extend({ entity: z.literal("file"), ...Located, lines: z.number().int().nonnegative() }),
  RecordBase.extend({
    entity: z.literal("upstream"),
    ...Located,
    name: z.string(),
    module: Module,
    servers: z.array(UpstreamServer),
    /** `keepalive N` (idle connections cached per worker), null when not set. */
    keepalive: z.number().int().nullable(),
    /** Other directives of the block (`zone`, `least_conn`, `hash`, `keepalive_timeout`, `check`...). */
    directives: z.array(z.object({ name: z.string(), args: z.array(z.string()), line: z.number().int() })),
  }),
  RecordBase.extend({
    entity: z.literal("server"),
    ...Located,
    /** `s0`, `s1`... in configuration order. */
    id: z.string(),
    module: Module,
    /** Scope the server inherits from: `http`, `stream`, `mail`, or `orphan` (file included from nowhere). */
    parent: z.string(),
    listen: z.array(z.string()),
    serverName: z.array(z.string()),
    /** stream{} servers proxy without locations. */
    proxyPass: z.string().nullable(),
  }),
  RecordBase.extend({
    entity: z.literal("location"),
    ...Located,
    /** `s0/l1`, nested `s0/l1/l0`. */
    id: z.string(),
    serverId: z.string(),
    /** The enclosing location's id, or the server's. */
    parentId: z.string(),
    /** `=`, `~`, `~*`, `^~`, or "" for a prefix or named (`@x`) location. */
    modifier: z.string(),
    path: z.string(),
    proxyPass: z.string().nullable(),
    fastcgiPass: z.string().nullable(),
    uwsgiPass: z.string().nullable(),
    grpcPass: z.string().nullable(),
    scgiPass: z.string().nullable(),
  }),
  RecordBase.extend({
    entity: z.literal("log_format"),
    ...Located,
    name: z.string(),
    escape: z.enum(["default", "json", "none"]),
    /** The quoted parts joined, as nginx joins them. */
    format: z.string(),
  }),
  RecordBase.extend({
    entity: z.literal("access_log"),
    ...Located,
    /** A file path, `syslog:...`, or `off`. */
    path: z.string(),
    format: z.string(),
    /** `buffer=`, `flush=`, `gzip`, `if=`... */
    params: z.array(z.string()),
    scope: z.string(),
    /** Written inside an `if` block. */
    conditional: z.boolean(),
  }),
  RecordBase.extend({
    entity: z.literal("error_log"),
    ...Located,
    path: z.string(),
    level: z.string(),
    scope: z.string(),
  }),
  RecordBase.extend({
    entity: z.literal("setting"),
    ...Located,
    name: z.string(),
    args: z.array(z.string()),
    /**
     * `main`, `events`, `http`, `stream`, `mail`, a server id (`s0`), a location id (`s0/l1`),
     * `upstream:NAME` (an include inside an upstream block), or `orphan` (a printed file no include matched).
     */
    scope: z.string(),
  }),
]);
export type NginxConfRecord = z.infer<typeof NginxConfRecord>;
type Rec<E extends NginxConfRecord["entity"]> = Extract<NginxConfRecord, { entity: E }>;

/** nginx time (`90s`, `1m30s`, `500ms`, `1h`, bare number = seconds) in seconds. */
export function parseDuration(text: string): number | undefined {
  const units: Record<string, number> = {
    ms: 0.001,
    s: 1,
    m: 60,
    h: 3600,
    d: 86400,
    w: 604800,
    M: 2592000,
    y: 31536000,
  };
  if (/^\d+$/.test(text)) return Number(text);
  const re = /(\d+)\s*(ms|[smhdwMy])\s*/y;
  let total = 0;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) return undefined;
    total += Number(m[1]) * (units[m[2] ?? ""] ?? 0);
    pos = re.lastIndex;
  }
  return pos === 0 ? undefined : Math.round(total * 1000) / 1000;
}

/** nginx size (`4k`, `8K`, `1m`, bare number = bytes) in bytes. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+)([kKmMgG]?)$/.exec(text);
  if (!m) return undefined;
  const unit = (m[2] ?? "").toLowerCase();
  return Number(m[1]) * (unit === "k" ? 1024 : unit === "m" ? 1024 ** 2 : unit === "g" ? 1024 ** 3 : 1);
}

interface Directive {
  name: string;
  args: string[];
  line: number;
  fileLine: number;
  file: string;
  text: string;
  children?: Directive[];
}

interface Segment {
  path: string;
  header: number;
  lines: string[];
}

const HEADER = /^# configuration file (.+):$/;
const STDERR = /^nginx: (?:\[(\w+)\] )?(.*)$/;
const STAMPED = /^(\d{4})\/(\d\d)\/(\d\d) (\d\d):(\d\d):(\d\d) \[(\w+)\] \d+#\d+: (.*)$/;
const LEVELS = new Set(["emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"]);

/** Tokenize one printed file into a directive tree (ngx_conf_read_token rules). Errors are collected. */
function parseSegment(seg: Segment, errors: Unreadable[]): Directive[] {
  const root: Directive[] = [];
  const stack: { children: Directive[]; opener: Directive | null }[] = [{ children: root, opener: null }];
  const text = seg.lines.join("\n");
  let line = 1;
  let words: { text: string; line: number }[] = [];
  const lineText = (n: number) => seg.lines[n - 1] ?? "";
  const fail = (n: number, reason: string) =>
    errors.push({ line: seg.header + n, text: lineText(n), reason: `${seg.path}:${n}: ${reason}` });
  const unquote = (w: string) =>
    w.replace(/\\(["'\\tnr])/g, (_, c: string) =>
      c === "t" ? "\t" : c === "n" ? "\n" : c === "r" ? "\r" : c,
    );
  const finish = (endLine: number, block: boolean): Directive | undefined => {
    const [first, ...rest] = words;
    words = [];
    if (!first) return undefined;
    const span: string[] = [];
    for (let n = first.line; n <= endLine; n++) span.push(lineText(n));
    const d: Directive = {
      name: first.text,
      args: rest.map((w) => w.text),
      line: seg.header + first.line,
      fileLine: first.line,
      file: seg.path,
      text: span.join("\n"),
    };
    if (block) d.children = [];
    stack[stack.length - 1]?.children.push(d);
    return d;
  };
  let i = 0;
  while (i < text.length) {
    const ch = text[i] ?? "";
    if (ch === "\n") {
      line++;
      i++;
    } else if (ch === " " || ch === "\t" || ch === "\r") {
      i++;
    } else if (ch === "#") {
      while (i < text.length && text[i] !== "\n") i++;
    } else if (ch === ";" || ch === "{") {
      if (words.length === 0) fail(line, `unexpected "${ch}"`);
      const d = finish(line, ch === "{");
      if (d?.children) stack.push({ children: d.children, opener: d });
      i++;
    } else if (ch === "}") {
      if (words.length > 0) {
        fail(line, 'unexpected "}"');
        words = [];
      }
      if (stack.length > 1) stack.pop();
      else fail(line, 'unexpected "}"');
      i++;
    } else if (ch === '"' || ch === "'") {
      const start = line;
      let j = i + 1;
      let raw = "";
      while (j < text.length && text[j] !== ch) {
        if (text[j] === "\\" && j + 1 < text.length) raw += text[j++];
        if (text[j] === "\n") line++;
        raw += text[j++];
      }
      if (j >= text.length) {
        fail(start, "unexpected end of file in quoted string");
        i = j;
        words = [];
        break;
      }
      words.push({ text: unquote(raw), line: start });
      i = j + 1;
      const next = text[i];
      if (next !== undefined && !/[ \t\r\n;{)]/.test(next))
        fail(line, `unexpected "${next}" after quoted string`);
    } else {
      let j = i;
      let raw = "";
      while (j < text.length) {
        const c = text[j] ?? "";
        if (c === "\\" && j + 1 < text.length) {
          raw += c + text[j + 1];
          j += 2;
          continue;
        }
        if (c === "{" && raw.endsWith("$")) {
          raw += c;
          j++;
          continue;
        }
        if (/[ \t\r\n;{]/.test(c)) break;
        raw += c;
        j++;
      }
      words.push({ text: unquote(raw), line });
      i = j;
    }
  }
  if (words.length > 0) fail(words[0]?.line ?? line, 'unexpected end of file, expecting ";" or "}"');
  for (const open of stack.slice(1).reverse())
    if (open.opener) fail(open.opener.fileLine, 'unexpected end of file, expecting "}"');
  return root;
}

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

function parseServerAddress(
  raw: string,
  module: string,
): Pick<UpstreamServer, "address" | "host" | "port" | "unix"> {
  if (raw.startsWith("unix:")) return { address: raw, host: null, port: null, unix: raw.slice(5) };
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(raw);
  if (!m?.[1]) return { address: raw, host: null, port: null };
  const port = m[2] ? Number(m[2]) : module === "http" ? 80 : null;
  return { address: port === null ? m[1] : `${m[1]}:${port}`, host: m[1], port };
}

function upstreamServer(d: Directive, module: string): UpstreamServer {
  const raw = d.args[0] ?? "";
  const params: UpstreamServer["params"] = {
    weight: 1,
    max_fails: 1,
    fail_timeout: 10,
    backup: false,
    down: false,
    resolve: false,
    max_conns: 0,
    other: {},
  };
  for (const arg of d.args.slice(1)) {
    const eq = arg.indexOf("=");
    const key = eq === -1 ? arg : arg.slice(0, eq);
    const value = eq === -1 ? "" : arg.slice(eq + 1);
    if (key === "backup" || key === "down" || key === "resolve") params[key] = true;
    else if (key === "fail_timeout" && parseDuration(value) !== undefined)
      params.fail_timeout = parseDuration(value) ?? 10;
    else if ((key === "weight" || key === "max_fails" || key === "max_conns") && /^\d+$/.test(value))
      params[key] = Number(value);
    else params.other[key] = value;
  }
  return {
    ...parseServerAddress(raw, module),
    raw,
    params,
    line: d.line,
    fileLine: d.fileLine,
    text: d.text,
  };
}

interface Walk {
  kind: string;
  module: "http" | "stream" | "mail";
  scope: string;
  server?: Rec<"server">;
  location?: Rec<"location">;
  upstream?: Rec<"upstream">;
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
    const checks: Rec<"check">[] = [];
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
        const rec: Rec<"check"> = {
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
            const server: Rec<"server"> = {
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
          const rec: Rec<"upstream"> = {
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
          const rec: Rec<"location"> = {
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

/** Where a summary item was written: cite `source` as evidence. */
const ConfRef = z.object({ host: z.string(), source: z.string(), line: z.number(), text: z.string() });
const Where = { file: z.string(), line: z.number().int(), fileLine: z.number().int(), source: ConfRef };

export const ConfLocation = z.object({
  id: z.string(),
  modifier: z.string(),
  path: z.string(),
  proxyPass: z.string().nullable(),
  fastcgiPass: z.string().nullable(),
  uwsgiPass: z.string().nullable(),
  grpcPass: z.string().nullable(),
  scgiPass: z.string().nullable(),
  /** Host part of the active `*_pass`: `host:port`, `unix:/path`, a group name, or text with `$variables`. */
  target: z.string().nullable(),
  /** The upstream{} group the pass names, when it names one. */
  upstream: z.string().nullable(),
  /** Seconds / bytes, inherited from enclosing locations, the server and http, else nginx's defaults. */
  proxyReadTimeout: z.number(),
  proxyConnectTimeout: z.number(),
  proxySendTimeout: z.number(),
  /** Default one memory page: 4k on x86-64 Linux (the docs say 4k|8k). */
  proxyBufferSize: z.number(),
  proxyNextUpstream: z.array(z.string()),
  fastcgiBufferSize: z.number(),
  fastcgiReadTimeout: z.number(),
  fastcgiConnectTimeout: z.number(),
  uwsgiReadTimeout: z.number(),
  grpcReadTimeout: z.number(),
  /** Resolver addresses in effect, for `*_pass` with variables. */
  resolver: z.array(z.string()).nullable(),
  ...Where,
});
export type ConfLocation = z.infer<typeof ConfLocation>;

export const ConfServer = z.object({
  id: z.string(),
  module: Module,
  listen: z.array(z.string()),
  serverName: z.array(z.string()),
  proxyPass: z.string().nullable(),
  upstream: z.string().nullable(),
  locations: z.array(ConfLocation),
  ...Where,
});
export type ConfServer = z.infer<typeof ConfServer>;

export const ConfUpstream = z.object({
  name: z.string(),
  module: Module,
  servers: z.array(UpstreamServer.extend({ source: ConfRef })),
  keepalive: z.number().int().nullable(),
  directives: z.array(z.object({ name: z.string(), args: z.array(z.string()), line: z.number().int() })),
  ...Where,
});
export type ConfUpstream = z.infer<typeof ConfUpstream>;

/** What a gateway's configuration says, from the records of one `nginx -T`. */
export const NginxConf = z.object({
  files: z.array(z.string()),
  /** By name; a stream{} group whose name an http group already took is keyed `stream:NAME`. */
  upstreams: z.record(z.string(), ConfUpstream),
  servers: z.array(ConfServer),
  /** Name -> format (quoted parts joined; led by `escape=json ` when so declared). `combined` is always there. */
  logFormats: z.record(z.string(), z.string()),
  accessLogs: z.array(
    z.object({
      path: z.string(),
      format: z.string(),
      params: z.array(z.string()),
      scope: z.string(),
      conditional: z.boolean(),
      ...Where,
    }),
  ),
  errorLogs: z.array(z.object({ path: z.string(), level: z.string(), scope: z.string(), ...Where })),
  /** The http-level resolver (else the first one written), null when none. */
  resolver: z
    .object({
      addresses: z.array(z.string()),
      /** `valid=` in seconds. */
      valid: z.number().nullable(),
      ipv6: z.boolean().nullable(),
      /** `resolver_timeout` in the same scope, seconds (default 30). */
      timeout: z.number(),
      scope: z.string(),
      ...Where,
    })
    .nullable(),
  /** nginx's own verdict on the config, from the stderr lines when they were captured. */
  check: z.object({ ok: z.boolean().nullable(), messages: z.array(z.string()) }),
});
export type NginxConf = z.infer<typeof NginxConf>;

const DEFAULTS: Record<string, string[]> = {
  proxy_read_timeout: ["60s"],
  proxy_connect_timeout: ["60s"],
  proxy_send_timeout: ["60s"],
  proxy_buffer_size: ["4k"],
  proxy_next_upstream: ["error", "timeout"],
  fastcgi_buffer_size: ["4k"],
  fastcgi_read_timeout: ["60s"],
  fastcgi_connect_timeout: ["60s"],
  uwsgi_read_timeout: ["60s"],
  grpc_read_timeout: ["60s"],
};

function where(r: Exclude<NginxConfRecord, Rec<"check">>) {
  return {
    file: r.file,
    line: r.line,
    fileLine: r.fileLine,
    source: { host: r.host, source: r.source, line: r.line, text: r.text },
  };
}

/** `http://app_pool/v1/` -> `app_pool`; `http://unix:/s.sock:/x` -> `unix:/s.sock`; `unix:/php.sock` as is. */
function passTarget(pass: string): string {
  const rest = pass.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "");
  if (rest.startsWith("unix:")) {
    const end = rest.indexOf(":", 5);
    return end === -1 ? rest : rest.slice(0, end);
  }
  const slash = rest.indexOf("/");
  return slash === -1 ? rest : rest.slice(0, slash);
}

/** Build the summary of one `nginx -T` from its records. Pure. */
export function summarizeConf(records: readonly NginxConfRecord[]): NginxConf {
  const settings = new Map<string, Map<string, string[]>>();
  const conf: NginxConf = {
    files: [],
    upstreams: {},
    servers: [],
    logFormats: { combined: COMBINED_FORMAT },
    accessLogs: [],
    errorLogs: [],
    resolver: null,
    check: { ok: null, messages: [] },
  };
  const groups = new Map<string, string>();
  for (const r of records) {
    if (r.entity === "setting") {
      const scope = settings.get(r.scope) ?? new Map<string, string[]>();
      scope.set(r.name, r.args);
      settings.set(r.scope, scope);
    } else if (r.entity === "upstream") {
      const taken = conf.upstreams[r.name] !== undefined;
      const key = taken ? `${r.module}:${r.name}` : r.name;
      const servers = r.servers.map((s) => ({
        ...s,
        source: { host: r.host, source: r.source, line: s.line, text: s.text },
      }));
      const { name, module, keepalive, directives } = r;
      conf.upstreams[key] = { name, module, servers, keepalive, directives, ...where(r) };
      if (!groups.has(`${r.module}:${r.name.toLowerCase()}`))
        groups.set(`${r.module}:${r.name.toLowerCase()}`, key);
    }
  }
  const lookup = (chain: string[], name: string): string[] => {
    for (const scope of chain) {
      const v = settings.get(scope)?.get(name);
      if (v) return v;
    }
    return DEFAULTS[name] ?? [];
  };
  const groupOf = (module: string, target: string | null): string | null => {
    if (target === null || target.includes("$") || target.startsWith("unix:")) return null;
    return groups.get(`${module}:${target.toLowerCase()}`) ?? null;
  };
  const seconds = (chain: string[], name: string) =>
    parseDuration(lookup(chain, name)[0] ?? "") ?? parseDuration(DEFAULTS[name]?.[0] ?? "") ?? 0;
  const bytes = (chain: string[], name: string) =>
    parseSize(lookup(chain, name)[0] ?? "") ?? parseSize(DEFAULTS[name]?.[0] ?? "") ?? 0;

  const servers = new Map<string, ConfServer & { parent: string }>();
  const resolvers: Rec<"setting">[] = [];
  const okValues: boolean[] = [];
  for (const r of records) {
    switch (r.entity) {
      case "check":
        conf.check.messages.push(r.level ? `[${r.level}] ${r.message}` : r.message);
        if (r.ok !== null) okValues.push(r.ok);
        break;
      case "file":
        if (!conf.files.includes(r.file)) conf.files.push(r.file);
        break;
      case "log_format":
        conf.logFormats[r.name] = r.escape === "default" ? r.format : `escape=${r.escape} ${r.format}`;
        break;
      case "access_log": {
        const { path, format, params, scope, conditional } = r;
        conf.accessLogs.push({ path, format, params, scope, conditional, ...where(r) });
        break;
      }
      case "error_log":
        conf.errorLogs.push({ path: r.path, level: r.level, scope: r.scope, ...where(r) });
        break;
      case "setting":
        if (r.name === "resolver") resolvers.push(r);
        break;
      case "server": {
        const target = r.proxyPass === null ? null : passTarget(r.proxyPass);
        const server = {
          id: r.id,
          module: r.module,
          listen: r.listen,
          serverName: r.serverName,
          proxyPass: r.proxyPass,
          upstream: groupOf(r.module, target),
          locations: [],
          ...where(r),
        };
        conf.servers.push(server);
        servers.set(r.id, { ...server, parent: r.parent });
        break;
      }
      case "location": {
        const server = conf.servers.find((s) => s.id === r.serverId);
        if (!server) break;
        const parts = r.id.split("/");
        const chain = parts.map((_, i) => parts.slice(0, parts.length - i).join("/"));
        chain.push(servers.get(r.serverId)?.parent ?? "http");
        const pass = r.proxyPass ?? r.fastcgiPass ?? r.uwsgiPass ?? r.grpcPass ?? r.scgiPass;
        const target = pass === null ? null : passTarget(pass);
        const resolver = lookup(chain, "resolver").filter((a) => !a.includes("="));
        server.locations.push({
          id: r.id,
          modifier: r.modifier,
          path: r.path,
          proxyPass: r.proxyPass,
          fastcgiPass: r.fastcgiPass,
          uwsgiPass: r.uwsgiPass,
          grpcPass: r.grpcPass,
          scgiPass: r.scgiPass,
          target,
          upstream: groupOf(server.module, target),
          proxyReadTimeout: seconds(chain, "proxy_read_timeout"),
          proxyConnectTimeout: seconds(chain, "proxy_connect_timeout"),
          proxySendTimeout: seconds(chain, "proxy_send_timeout"),
          proxyBufferSize: bytes(chain, "proxy_buffer_size"),
          proxyNextUpstream: lookup(chain, "proxy_next_upstream"),
          fastcgiBufferSize: bytes(chain, "fastcgi_buffer_size"),
          fastcgiReadTimeout: seconds(chain, "fastcgi_read_timeout"),
          fastcgiConnectTimeout: seconds(chain, "fastcgi_connect_timeout"),
          uwsgiReadTimeout: seconds(chain, "uwsgi_read_timeout"),
          grpcReadTimeout: seconds(chain, "grpc_read_timeout"),
          resolver: resolver.length > 0 ? resolver : null,
          ...where(r),
        });
        break;
      }
      default:
        break;
    }
  }
  conf.check.ok = okValues.includes(false) ? false : okValues.length > 0 ? true : null;
  const resolver = resolvers.find((r) => r.scope === "http") ?? resolvers[0];
  if (resolver) {
    const option = (key: string) => resolver.args.find((a) => a.startsWith(`${key}=`))?.slice(key.length + 1);
    const valid = option("valid");
    const ipv6 = option("ipv6");
    const timeout = settings.get(resolver.scope)?.get("resolver_timeout")?.[0];
    conf.resolver = {
      addresses: resolver.args.filter((a) => !a.includes("=")),
      valid: valid === undefined ? null : (parseDuration(valid) ?? null),
      ipv6: ipv6 === undefined ? null : ipv6 === "on",
      timeout: (timeout === undefined ? undefined : parseDuration(timeout)) ?? 30,
      scope: resolver.scope,
      ...where(resolver),
    };
  }
  return conf;
}
