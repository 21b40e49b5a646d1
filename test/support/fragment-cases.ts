import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { compileLogFormat } from "../../src/evidence/log-format.js";
import { parsers } from "../../src/evidence/registry.js";
import { parseText } from "../../src/evidence/run.js";
import { EvidenceKind, type ParseContext, type Parser, type RecordBase } from "../../src/evidence/types.js";
import { unwrap } from "../../src/evidence/wrappers.js";
import type { Case, Family, Field } from "./fragments.js";

/**
 * Every real fixture of every kind, and the cases the fragment test builds from them: each line (or
 * multi-line report) whose whole parse yields a cause or the kind's key field, with the part of the line
 * that says it (`span`) and the fields around it. Spans come from the formats' own words (the reference's
 * sections 1 to 7), not from the parsers, so that a parser cannot pass by moving them.
 */

const EVIDENCE = join(dirname(fileURLToPath(import.meta.url)), "../../src/evidence");

export interface Fixture {
  /** Relative to src/evidence. */
  rel: string;
  text: string;
  kind: EvidenceKind;
  options?: Record<string, string>;
}

const CTX: Omit<ParseContext, "source"> = {
  host: "h",
  utcOffsetMinutes: 0,
  bootTime: "2026-11-25T12:07:22.000Z",
  now: "2026-12-01T12:00:00.000Z",
};

/** Files beside the fixtures that are no evidence: notes, log_format strings, the capture's own records. */
const NOT_EVIDENCE =
  /(?:\.md|\.format|capture-info\.txt|keepalive-race\/(?:backend-events|client)\.log|\.window\.json)$/;

function accessFormat(rel: string): string {
  const name = basename(rel);
  const sibling = join(EVIDENCE, dirname(rel), name.replace(/\.(?:txt|log)$/, ".format"));
  if (existsSync(sibling)) return readFileSync(sibling, "utf8").trim();
  return readFileSync(join(EVIDENCE, "__fixtures__/nginx-access/main_ext.format"), "utf8").trim();
}

/** The kind (and parse options) of a fixture, by where it lives; unknown places fail loudly. */
function kindOf(rel: string): Pick<Fixture, "kind" | "options"> {
  const parts = rel.split("/");
  const folder = parts[0] === "__fixtures__" ? parts[1] : parts[0];
  const name = parts.at(-1) ?? "";
  if (folder === "keepalive-race") {
    if (name === "error.log") return { kind: "nginx-error" };
    if (name === "access.log") return { kind: "nginx-access", options: { format: accessFormat(rel) } };
    if (name.startsWith("nginx-T")) return { kind: "nginx-conf" };
  }
  // The access log an aggregate was counted from.
  if (folder === "nginx-access-aggregate" && name.endsWith(".access.log"))
    return {
      kind: "nginx-access",
      options: { format: accessFormat("__fixtures__/nginx-access/main_ext.txt") },
    };
  if (folder === "nginx-access") {
    if (name === "nginx-T.txt") return { kind: "nginx-conf" };
    return { kind: "nginx-access", options: { format: accessFormat(rel) } };
  }
  if (folder === "ps" && name === "headerless-custom-columns.txt")
    return { kind: "ps", options: { columns: "pid=,ppid=,user=,lstart=,etime=,comm=" } };
  if (folder === "ps" && name === "comm.txt")
    return { kind: "ps", options: { columns: "pid,ppid,user,lstart,etimes,comm" } };
  // A supervised program's own output is an app log.
  if ((folder === "pm2" || folder === "supervisord") && /^checkout-/.test(name)) return { kind: "app" };
  const kind = EvidenceKind.safeParse(folder);
  if (kind.success) return { kind: kind.data };
  throw new Error(`fixture ${rel}: which kind is it? Map it in test/support/fragment-cases.ts`);
}

export function fixtures(): Fixture[] {
  const roots = [
    join(EVIDENCE, "__fixtures__"),
    ...readdirSync(EVIDENCE)
      .map((d) => join(EVIDENCE, d, "__fixtures__"))
      .filter((p) => existsSync(p)),
  ];
  const out: Fixture[] = [];
  const walk = (dir: string) => {
    for (const f of readdirSync(dir).sort()) {
      const path = join(dir, f);
      if (statSync(path).isDirectory()) walk(path);
      else {
        const rel = relative(EVIDENCE, path);
        if (!NOT_EVIDENCE.test(rel)) out.push({ rel, text: readFileSync(path, "utf8"), ...kindOf(rel) });
      }
    }
  };
  for (const root of roots) walk(root);
  return out;
}

const range = (at: number, length: number): [number, number] => [at, at + length];

/** The first match of any of `patterns` in `s` from `from`, as a range. */
function firstMatch(s: string, patterns: readonly RegExp[], from = 0): [number, number] | undefined {
  for (const re of patterns) {
    const m = re.exec(s.slice(from));
    if (m) return range(from + m.index, m[0].length);
  }
  return undefined;
}

/** A field at the first place its text appears at or after `from`; none when it is not in the line. */
function fieldAt(s: string, path: string, value: unknown, written: string, from = 0): Field[] {
  const at = s.indexOf(written, from);
  return at < 0 ? [] : [{ path, value, range: range(at, written.length) }];
}

interface Found {
  family: Family;
  span: [number, number];
  fields: Field[];
}

type R = RecordBase & Record<string, unknown>;

function nginxError(r: R, s: string): Found | undefined {
  const message = String(r.message ?? "");
  const at = message === "" ? -1 : s.indexOf(message);
  if (at < 0 || r.cause === undefined) return undefined;
  let end = at + message.length;
  if (r.action !== undefined) {
    const w = s.indexOf(` while ${String(r.action)}`, end - 1);
    if (w >= 0) end = w + ` while ${String(r.action)}`.length;
  }
  const fields: Field[] = [];
  if (typeof r.upstream === "string") {
    const up = fieldAt(s, "upstream", r.upstream, `upstream: "${r.upstream}"`, end);
    fields.push(...up);
    // The socket behind `fastcgi://unix:...` says whether 2, 11 and 13 are FPM's: part of the cause then.
    if ((r.cause === "fastcgi_socket" || r.cause === "pool_exhausted") && !message.includes("unix:"))
      end = up[0]?.range[1] ?? end;
  }
  if (r.pid !== undefined) fields.push(...fieldAt(s, "pid", r.pid, `${r.pid}#${r.tid}: `));
  const stamp = /\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d/.exec(s);
  if (r.time !== undefined && stamp)
    fields.push({ path: "time", value: r.time, range: [0, stamp.index + 19] });
  return { family: "line", span: [at, end], fields };
}

/** Where each variable's value is, with the literal text on both sides (what a reader anchors on). */
function accessFields(r: R, s: string, options: Record<string, string> | undefined): Found | undefined {
  const compiled = compileLogFormat(options?.format ?? "");
  if ("error" in compiled) return undefined;
  const re = new RegExp(compiled.regex.source, "d");
  let offset = 0;
  let m = re.exec(s);
  if (!m) {
    const inner = unwrap(s).inner;
    offset = s.length - inner.length;
    m = re.exec(inner);
  }
  const indices = m?.indices;
  if (!m || !indices) return undefined;
  const spanOf = (i: number): [number, number] => [
    offset + (i === 0 ? 0 : (indices[i]?.[1] ?? 0)),
    offset + (indices[i + 2]?.[0] ?? s.length - offset),
  ];
  const fields: Field[] = [];
  let span: [number, number] | undefined;
  let upstreams: [number, number] | undefined;
  compiled.variables.forEach((name, i) => {
    const at = spanOf(i);
    if (name === "status") span = at;
    if (name === "request") fields.push({ path: "request", value: r.request, range: at });
    if (name === "time_local") fields.push({ path: "time", value: r.time, range: at });
    // The attempts zip every $upstream_* list: all of them must be there.
    if (name.startsWith("upstream_"))
      upstreams = upstreams ? [Math.min(upstreams[0], at[0]), Math.max(upstreams[1], at[1])] : at;
  });
  if (upstreams) fields.push({ path: "upstreams", value: r.upstreams, range: upstreams });
  if (span === undefined) return undefined;
  fields.push({ path: "status", value: r.status, range: span });
  return { family: "line", span, fields };
}

const KERNEL_SPANS = [
  /Killed process \d+(?:, UID \d+,)? \(.*\)/,
  /Kill process \d+ \(.*\)(?= score)/,
  /^.+? invoked oom-killer:/,
  /^oom-kill:constraint=.*$/,
  /^Task in .* killed as a result of limit of .*$/,
  /oom_reaper: reaped process \d+ \(.*\)/,
  /^.+\[\d+\]: segfault at/,
  /^(?:traps: )?.+\[\d+\] general protection fault/,
];

function kernel(r: R, s: string): Found | undefined {
  if (r.cause === undefined) return undefined;
  const msgAt = s.length - String(r.message).length;
  const span = firstMatch(s, KERNEL_SPANS, msgAt);
  if (!span) return undefined;
  const fields: Field[] = [{ path: "event", value: r.event, range: span }];
  if (r.pid !== undefined) fields.push({ path: "pid", value: r.pid, range: span });
  if (r.time !== undefined) fields.push({ path: "time", value: r.time, range: [0, msgAt] });
  return { family: "line", span, fields };
}

const SYSTEMD_SPANS = [
  /[Mm]ain process exited,? code=\w+,? (?:status=\d+(?:\/[\w/-]+)?|signal=\w+)/,
  /Control process exited,? code=\w+,? (?:status=\d+(?:\/[\w/-]+)?|signal=\w+)/,
  /Failed with result '[\w-]+'/,
  /A process of this unit has been killed by the OOM killer/,
  /Scheduled restart job(?:, restart counter is at \d+)?/,
  /(?:hold-?off time over|has no hold-off time(?: \(RestartSec=0\))?), scheduling restart/i,
  /Start request repeated too quickly/,
  /Main PID: \d+ \(code=\w+, (?:status|signal)=[\w/-]+\)/,
  /Active: \w+ \(Result: [\w-]+\)/,
  /Process: \d+ \S+ .*\(code=\w+, (?:status|signal)=[\w/-]+\)/,
];

function systemd(r: R, s: string): Found | undefined {
  if (r.cause === undefined) return undefined;
  if (r.entry === "show") return { family: "table", span: [0, s.length], fields: [] };
  const span = firstMatch(s, SYSTEMD_SPANS);
  if (!span) return undefined;
  const fields: Field[] = [{ path: "event", value: r.event, range: span }];
  if (typeof r.unit === "string")
    fields.push(...fieldAt(s, "unit", r.unit, r.unit, Math.max(0, span[0] - r.unit.length - 2)));
  const msgAt = s.lastIndexOf(String(r.message));
  if (r.time !== undefined && msgAt > 0) fields.push({ path: "time", value: r.time, range: [0, msgAt] });
  return { family: "line", span, fields };
}

const APP_SPANS = [
  /WORKER TIMEOUT \(pid:\d+\)/,
  /Worker with pid \d+ was terminated due to signal \d+/,
  /Worker \(pid:\d+\) was sent SIG[A-Z]+!/,
  /Booting worker with pid: \d+/,
  /Starting gunicorn \S+/,
  /DAMN ! worker \d+ \(pid: \d+\) died(?:, killed by signal \d+)?/,
  /Respawned uWSGI worker \d+ \(new pid: \d+\)/,
  /\*\*\* HARAKIRI ON WORKER \d+ \(pid: \d+/,
  /\*\*\* Starting uWSGI .*\*\*\*/,
  /(?:\[pool [^\]]+\] )?child \d+ exited (?:on signal \d+|with code \d+)/,
  /(?:\[pool [^\]]+\] )?child \d+, script .* execution timed out \(\d+(?:\.\d+)? sec\)/,
  /^java\.lang\.OutOfMemoryError(?:: .*)?$/,
  /server reached (?:pm\.)?max_children setting \(\d+\)/,
  /fpm is running, pid \d+/,
  /Terminating due to java\.lang\.OutOfMemoryError/,
  /level=(?:fatal|panic)\b.*$/,
  /"level":"(?:fatal|panic)".*$/,
];

function app(r: R, s: string): Found | undefined {
  if (r.cause === undefined) return undefined;
  const span = firstMatch(s, APP_SPANS);
  if (!span) return undefined;
  const fields: Field[] = [{ path: "signature", value: r.signature, range: span }];
  for (const path of ["workerPid", "signal", "workerId"])
    if (r[path] !== undefined) fields.push({ path, value: r[path], range: span });
  return { family: "line", span, fields };
}

const SUPERVISORD_SPANS = [
  /spawned: '[^']+' with pid \d+/,
  /(?:exited|stopped): \S+ \((?:exit status \d+|terminated by [^);]+)(?:; (?:not )?expected)?\)/,
  /gave up: \S+ entered FATAL state/,
  /spawnerr: .*$/,
  /^\S+\s+FATAL\b/,
];

const PM2_SPANS = [
  /App \[[^\]]+:\d+\] (?:starting in -\w+ mode-|exited with code \[-?\w+\] via signal \[\w+\]|online)/,
  /Script .+ had too many unstable restarts \(\d+\)/,
];

function lifecycle(patterns: readonly RegExp[]) {
  return (r: R, s: string): Found | undefined => {
    if (r.cause === undefined) return undefined;
    if (r.entry === "status" && s.trim().startsWith("{"))
      return { family: "json", span: [0, s.length], fields: [] };
    const span = firstMatch(s, patterns);
    if (!span) return undefined;
    const fields: Field[] = [{ path: "event", value: r.event, range: span }];
    for (const path of ["program", "pid", "exitCode", "signal"])
      if (r[path] !== undefined) fields.push({ path, value: r[path], range: span });
    return { family: r.entry === "status" ? "table" : "line", span, fields };
  };
}

function ps(r: R, s: string): Found {
  const argsAt = s.trimEnd().length - String(r.args).length;
  const span: [number, number] = [0, argsAt + 1];
  const fields = ["pid", "startTime", "elapsedSeconds"].map((path) => ({
    path,
    value: r[path],
    range: span,
  }));
  return { family: "table", span, fields };
}

function ss(r: R, s: string): Found | undefined {
  const token = /\S*:(\d+|\*)(?=\s)/g;
  let m: RegExpExecArray | null = token.exec(s);
  while (m && m[1] !== String(r.localPort)) m = token.exec(s);
  if (!m) return undefined;
  // The row's fixed columns end with the peer (`0.0.0.0:*`); the process column after it may be cut.
  const peer = /\s+\S+/.exec(s.slice(m.index + m[0].length));
  const span: [number, number] = [0, m.index + m[0].length + (peer ? peer.index + peer[0].length : 0)];
  const fields: Field[] = ["localPort", "localAddress"].map((path) => ({
    path,
    value: r[path],
    range: span,
  }));
  const users = s.search(/users:\(|\d+\/\S/);
  const processes = r.processes as unknown[];
  if (processes.length > 0 && users > 0)
    fields.push({ path: "processes", value: processes, range: [users, s.trimEnd().length] });
  return { family: "table", span, fields };
}

/** The host-side aggregate's counts: why502's own output, every field of it the key. */
function aggregate(r: R, s: string): Found {
  const all: [number, number] = [0, s.length];
  const fields = ["minute", "status", "target", "count"].map((path) => ({
    path,
    value: r[path],
    range: all,
  }));
  return { family: "exact", span: all, fields };
}

type Finder = (r: R, s: string, f: Fixture) => Found | undefined;

const FINDERS: Partial<Record<EvidenceKind, Finder>> = {
  "nginx-error": nginxError,
  "nginx-access": (r, s, f) => accessFields(r, s, f.options),
  kernel,
  systemd,
  app,
  supervisord: lifecycle(SUPERVISORD_SPANS),
  pm2: lifecycle(PM2_SPANS),
  ps,
  ss,
  "nginx-access-aggregate": aggregate,
};

/** The fields a multi-line record keeps: its cause and what says what kind of report it is. */
function blockCase(f: Fixture, ctx: ParseContext, r: R): Case {
  const family: Family = f.kind === "app" ? "block" : "json";
  const all: [number, number] = [0, r.text.length];
  const fields: Field[] = ["signature", "errorType", "exitCode", "oomKilled", "program", "state", "restarts"]
    .filter((path) => r[path] !== undefined)
    .map((path) => ({ path, value: r[path], range: all }));
  return {
    where: `${f.rel}:${r.line}`,
    kind: f.kind,
    ctx,
    family,
    line: r.text,
    before: [],
    after: [],
    cause: r.cause,
    span: all,
    fields,
  };
}

/** `systemctl show`: each property that alone says a cause (`Result=oom-kill`), as a table row. */
function showCases(f: Fixture, ctx: ParseContext, r: R): Case[] {
  const parser = parsers.systemd as Parser<RecordBase>;
  return r.text.split("\n").flatMap((line, i): Case[] => {
    const alone = parseText(parser, line, ctx).records[0];
    if (alone?.cause === undefined) return [];
    return [
      {
        where: `${f.rel}:${r.line + i}`,
        kind: f.kind,
        ctx,
        family: "table",
        line,
        before: [],
        after: [],
        cause: alone.cause,
        span: [0, line.length],
        fields: [],
      },
    ];
  });
}

/** nginx -T: each upstream server line, varied in place; the upstream's servers must read the same. */
function confCases(f: Fixture, ctx: ParseContext, records: R[], lines: string[]): Case[] {
  const out: Case[] = [];
  for (const r of records) {
    if (r.entity !== "upstream") continue;
    const servers = (rec: R) =>
      (rec.servers as { address: string; params: unknown }[]).map((s) => [s.address, s.params]);
    const expected = servers(r);
    for (const s of r.servers as { line: number }[]) {
      out.push({
        where: `${f.rel}:${s.line}`,
        kind: f.kind,
        ctx,
        family: "conf",
        line: lines[s.line - 1] ?? "",
        before: lines.slice(0, s.line - 1),
        after: lines.slice(s.line),
        cause: undefined,
        span: [0, 0],
        fields: [],
        compare: (got) => {
          const u = (got as R[]).find(
            (x) => x.entity === "upstream" && x.name === r.name && x.file === r.file,
          );
          return u ? servers(u) : undefined;
        },
        expected,
      });
    }
  }
  return out;
}

export function casesOf(f: Fixture): Case[] {
  const ctx: ParseContext = { ...CTX, source: f.rel, ...(f.options ? { options: f.options } : {}) };
  const parser = parsers[f.kind] as Parser<RecordBase>;
  const records = parseText(parser, f.text, ctx).records as R[];
  const lines = f.text.split("\n").map((l) => l.replace(/\r$/, ""));
  if (f.kind === "nginx-conf") return confCases(f, ctx, records, lines);
  const firstRecord = Math.min(...records.map((r) => r.line));
  const out: Case[] = [];
  for (const r of records) {
    if (r.entry === "show" && f.kind === "systemd") {
      out.push(...showCases(f, ctx, r));
      continue;
    }
    if (r.text.includes("\n") || f.kind === "docker") {
      if (r.cause !== undefined) out.push(blockCase(f, ctx, r));
      continue;
    }
    // An item of a pretty-printed JSON array is labelled (`pm2 jlist: checkout`): the whole file is its text.
    if (f.kind === "pm2" && r.entry === "status" && !r.text.trim().startsWith("{")) {
      if (r.cause !== undefined) out.push({ ...blockCase(f, ctx, r), line: f.text.trimEnd(), where: f.rel });
      continue;
    }
    const found = FINDERS[f.kind]?.(r, r.text, f);
    if (!found) {
      if (r.cause !== undefined || ["ps", "ss", "nginx-access", "nginx-access-aggregate"].includes(f.kind))
        throw new Error(`${f.rel}:${r.line}: a ${f.kind} record the fragment cases cannot place: ${r.text}`);
      continue;
    }
    const table = found.family === "table";
    out.push({
      where: `${f.rel}:${r.line}`,
      kind: f.kind,
      ctx,
      family: found.family,
      line: r.text,
      // A table's header says what its columns are; JSON and free lines stand alone.
      before: table && (f.kind === "ps" || f.kind === "ss") ? lines.slice(0, firstRecord - 1) : [],
      after: [],
      cause: r.cause,
      span: found.span,
      fields: found.fields,
    });
  }
  return out;
}
