import { z } from "zod";
import {
  COMBINED_FORMAT,
  type CompiledLogFormat,
  compileLogFormat,
  type LogEscape,
  matchLogFormat,
  unescapeValue,
} from "./log-format.js";
import type { NginxConf } from "./nginx-conf.js";
import { localToUtc, monthNumber, parseOffset } from "./time.js";
import { type ParseContext, type Parser, RecordBase } from "./types.js";
import { unwrap } from "./wrappers.js";

/**
 * One upstream attempt, from the lists in `$upstream_addr`, `$upstream_status`, `$upstream_*_time`.
 * nginx writes one entry per peer tried (`, ` between attempts) and starts a new group after an internal
 * redirect to another upstream (` : ` between groups, e.g. error_page to a named location).
 */
export const UpstreamAttempt = z.object({
  /** Index of the redirect group (0 for the first location's upstream, 1 after the first ` : `...). */
  group: z.number().int().nonnegative(),
  /** `host:port`, `unix:/path`, or the upstream{} group name when no peer could be chosen. */
  addr: z.string().nullable(),
  /** The address is an upstream{} group name (`no live upstreams`), not a peer. */
  isGroup: z.boolean(),
  /** The peer's status, or nginx's synthetic 502/504 when the peer failed; null for `-`. */
  status: z.number().int().nullable(),
  /** Seconds, null for `-` (no connection made, or the value is absent from the format). */
  responseTime: z.number().nullable(),
  connectTime: z.number().nullable(),
  headerTime: z.number().nullable(),
});
export type UpstreamAttempt = z.infer<typeof UpstreamAttempt>;

/**
 * One access-log line, read with the line's log_format. Typed fields are set only when the format has the
 * variable; `vars` keeps every variable's raw value as logged. Access lines carry no cause: the error log
 * says why a request failed.
 */
export const NginxAccessRecord = RecordBase.extend({
  remoteAddr: z.string().optional(),
  /** null for `-` (no authenticated user). */
  remoteUser: z.string().nullable().optional(),
  /** The request line, unescaped. */
  request: z.string().optional(),
  method: z.string().optional(),
  /** The request URI as sent (path and query). */
  path: z.string().optional(),
  protocol: z.string().optional(),
  status: z.number().int().optional(),
  bodyBytesSent: z.number().int().optional(),
  bytesSent: z.number().int().optional(),
  referer: z.string().nullable().optional(),
  userAgent: z.string().nullable().optional(),
  forwardedFor: z.string().nullable().optional(),
  /** `$request_time`, seconds. */
  requestTime: z.number().optional(),
  /** `$connection`: the same number as the `*N` of the error log's lines for this request. */
  connection: z.number().int().optional(),
  connectionRequests: z.number().int().optional(),
  /** Upstream attempts in order; absent when the format logs no `$upstream_*` variable. */
  upstreams: z.array(UpstreamAttempt).optional(),
  vars: z.record(z.string(), z.string()),
});
export type NginxAccessRecord = z.infer<typeof NginxAccessRecord>;

const TIME_LOCAL = /^(\d{1,2})\/([A-Za-z]{3})\/(\d{4}):(\d\d):(\d\d):(\d\d) ([+-]\d{4})$/;
const ISO8601 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)$/;
const REQUEST_LINE = /^([A-Z][A-Z0-9_-]*) (\S+)(?: (HTTP\/\d(?:\.\d)?))?$/;
const NUMBER = /^\d+(?:\.\d+)?$/;

function nullIfDash(v: string | undefined): string | null | undefined {
  if (v === undefined) return undefined;
  return v === "-" || v === "" ? null : v;
}

function num(v: string | undefined): number | undefined {
  if (v === undefined || !NUMBER.test(v)) return undefined;
  return Number(v);
}

function int(v: string | undefined): number | undefined {
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  return Number.parseInt(v, 10);
}

function timeOf(vars: Record<string, string>): string | undefined {
  const msec = vars.msec;
  if (msec !== undefined && NUMBER.test(msec)) return new Date(Math.round(Number(msec) * 1000)).toISOString();
  const iso = vars.time_iso8601;
  if (iso !== undefined && ISO8601.test(iso)) {
    const t = Date.parse(iso);
    if (!Number.isNaN(t)) return new Date(t).toISOString();
  }
  const m = vars.time_local === undefined ? null : TIME_LOCAL.exec(vars.time_local);
  if (m) {
    const month = monthNumber(m[2] ?? "");
    const offset = parseOffset(m[7] ?? "");
    if (month !== undefined && offset !== undefined)
      return localToUtc(
        Number(m[3]),
        month,
        Number(m[1]),
        Number(m[4]),
        Number(m[5]),
        Number(m[6]),
        0,
        offset,
      );
  }
  return undefined;
}

/** `a, b : c` -> [[a, b], [c]]; `-` stays as is. */
function splitList(v: string | undefined): string[][] | undefined {
  if (v === undefined) return undefined;
  return v.split(" : ").map((group) => group.split(", ").map((s) => s.trim()));
}

const UPSTREAM_VARS = [
  "upstream_addr",
  "upstream_status",
  "upstream_response_time",
  "upstream_connect_time",
  "upstream_header_time",
] as const;

/** Zip the upstream lists into attempts. Attempts with nothing known (all `-`) are dropped. */
export function upstreamAttempts(vars: Record<string, string>): UpstreamAttempt[] | undefined {
  if (!UPSTREAM_VARS.some((name) => name in vars)) return undefined;
  const [addr, status, response, connect, header] = UPSTREAM_VARS.map((name) => splitList(vars[name]));
  const lists = [addr, status, response, connect, header];
  const groups = Math.max(...lists.map((l) => l?.length ?? 0));
  const out: UpstreamAttempt[] = [];
  for (let g = 0; g < groups; g++) {
    const count = Math.max(...lists.map((l) => l?.[g]?.length ?? 0));
    for (let i = 0; i < count; i++) {
      const at = (l: string[][] | undefined) => nullIfDash(l?.[g]?.[i]) ?? null;
      // nginx writes `unix:/path`; a paste through a translator or a chat client may have `unix: /path`.
      const a = at(addr)?.replace(/^unix: \//, "unix:/") ?? null;
      const attempt: UpstreamAttempt = {
        group: g,
        addr: a,
        isGroup: a !== null && !a.startsWith("unix:") && !/:\d+$/.test(a),
        status: int(at(status) ?? undefined) ?? null,
        responseTime: num(at(response) ?? undefined) ?? null,
        connectTime: num(at(connect) ?? undefined) ?? null,
        headerTime: num(at(header) ?? undefined) ?? null,
      };
      const known =
        attempt.addr !== null ||
        attempt.status !== null ||
        attempt.responseTime !== null ||
        attempt.connectTime !== null ||
        attempt.headerTime !== null;
      if (known) out.push(attempt);
    }
  }
  return out;
}

/** The record of a line's variables (as matched by its log_format). */
export function buildRecord(
  base: RecordBase,
  vars: Record<string, string>,
  mode: LogEscape,
): NginxAccessRecord {
  const r: NginxAccessRecord = { ...base, vars };
  const text = (name: string) => {
    const v = vars[name];
    return v === undefined ? undefined : unescapeValue(v, mode);
  };
  const time = timeOf(vars);
  if (time !== undefined) r.time = time;
  const remoteAddr = text("remote_addr");
  if (remoteAddr !== undefined) r.remoteAddr = remoteAddr;
  const remoteUser = nullIfDash(text("remote_user"));
  if (remoteUser !== undefined) r.remoteUser = remoteUser;

  const request = text("request");
  if (request !== undefined) {
    r.request = request;
    const m = REQUEST_LINE.exec(request);
    if (m?.[1] && m[2]) {
      r.method = m[1];
      r.path = m[2];
      if (m[3]) r.protocol = m[3];
    }
  }
  const method = nullIfDash(text("request_method"));
  if (r.method === undefined && method) r.method = method;
  const path = nullIfDash(text("request_uri") ?? text("uri"));
  if (r.path === undefined && path) r.path = path;
  const protocol = nullIfDash(text("server_protocol"));
  if (r.protocol === undefined && protocol) r.protocol = protocol;

  const status = int(vars.status);
  if (status !== undefined) r.status = status;
  const bodyBytes = int(vars.body_bytes_sent);
  if (bodyBytes !== undefined) r.bodyBytesSent = bodyBytes;
  const bytes = int(vars.bytes_sent);
  if (bytes !== undefined) r.bytesSent = bytes;
  const referer = nullIfDash(text("http_referer"));
  if (referer !== undefined) r.referer = referer;
  const userAgent = nullIfDash(text("http_user_agent"));
  if (userAgent !== undefined) r.userAgent = userAgent;
  const forwardedFor = nullIfDash(text("http_x_forwarded_for"));
  if (forwardedFor !== undefined) r.forwardedFor = forwardedFor;
  const requestTime = num(vars.request_time);
  if (requestTime !== undefined) r.requestTime = requestTime;
  const connection = int(vars.connection);
  if (connection !== undefined) r.connection = connection;
  const connectionRequests = int(vars.connection_requests);
  if (connectionRequests !== undefined) r.connectionRequests = connectionRequests;
  const upstreams = upstreamAttempts(vars);
  if (upstreams !== undefined) r.upstreams = upstreams;
  return r;
}

/** The log_format a context names (`options.format`, `options.escape`), compiled; nginx's `combined` by default. */
export function formatOf(ctx: ParseContext): CompiledLogFormat | { error: string } {
  const escapeOption = ctx.options?.escape;
  const mode =
    escapeOption === "default" || escapeOption === "json" || escapeOption === "none"
      ? escapeOption
      : undefined;
  return compileLogFormat(ctx.options?.format ?? COMBINED_FORMAT, mode);
}

/**
 * Access-log parser. `ctx.options.format` is the log_format string (quoted parts joined, optionally led by
 * `escape=json`); `ctx.options.escape` may give the escape mode instead. Default: nginx's `combined`.
 * Lines that do not match are tried once more without a shipper's wrapper (docker, journald, compose).
 */
export const nginxAccessParser: Parser<NginxAccessRecord> = {
  kind: "nginx-access",
  schema: NginxAccessRecord,
  start(ctx, sink) {
    const compiled = formatOf(ctx);
    const ok: CompiledLogFormat | undefined = "error" in compiled ? undefined : compiled;
    const error = "error" in compiled ? compiled.error : "";
    return {
      line(text, lineNo) {
        if (text.trim() === "") return;
        if (!ok) {
          sink.unreadable({ line: lineNo, text, reason: `invalid log_format: ${error}` });
          return;
        }
        let vars = matchLogFormat(ok, text);
        if (!vars) {
          const inner = unwrap(text).inner;
          if (inner !== text) vars = matchLogFormat(ok, inner);
        }
        if (!vars) {
          sink.unreadable({ line: lineNo, text, reason: "does not match log_format" });
          return;
        }
        sink.record(buildRecord({ host: ctx.host, source: ctx.source, line: lineNo, text }, vars, ok.escape));
      },
      end() {},
    };
  },
};

/**
 * The log_format string for the access log at `path`, as configured in `conf`: the format named by the
 * `access_log` line for that path (`combined` when it names none). Falls back to a unique entry whose path
 * ends with the same file name, since a collector may read a rotated or symlinked copy.
 */
export function formatForAccessLog(conf: NginxConf, path: string): string | undefined {
  const logs = conf.accessLogs.filter((l) => l.path !== "off");
  let entry = logs.find((l) => l.path === path);
  if (!entry) {
    const base = path.slice(path.lastIndexOf("/") + 1);
    const same = logs.filter((l) => l.path.slice(l.path.lastIndexOf("/") + 1) === base);
    const names = new Set(same.map((l) => l.format));
    if (same.length > 0 && names.size === 1) entry = same[0];
  }
  if (!entry) return undefined;
  return conf.logFormats[entry.format];
}
