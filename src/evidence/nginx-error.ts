import { z } from "zod";
import { classify, findTarget, upstreamScheme } from "./nginx-error-causes.js";
import { scanFields } from "./nginx-error-fields.js";
import { localToUtc } from "./time.js";
import { type ParseContext, type Parser, RecordBase, type Sink, type Unreadable } from "./types.js";
import { startsWithSlashDate, syslogStampToUtc, type Unwrapped, unwrap } from "./wrappers.js";

/**
 * nginx error log (`error_log`), one record per line: `2026/11/25 13:19:16 [error] 22593#22593: *3 <message>
 * while <action>, client: ..., server: ..., request: "...", upstream: "...", host: "..."`, and the
 * `nginx: [emerg] ...` lines nginx prints on stderr. Wrappers (docker, compose, syslog, journald, ANSI)
 * are stripped first. A FastCGI stderr message that holds newlines spans several lines: they make one record.
 */

export const NginxLevel = z.enum(["emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"]);
export type NginxLevel = z.infer<typeof NginxLevel>;

export const NginxErrorRecord = RecordBase.extend({
  level: NginxLevel,
  /** Absent on `nginx: [emerg] ...` stderr lines. */
  pid: z.number().int().optional(),
  /** Thread id: equals pid on Linux builds with threads, 0 on older builds. */
  tid: z.number().int().optional(),
  /** Connection number (`*N`); absent on resolver, startup and other connection-less lines. */
  conn: z.number().int().optional(),
  /** The message without ` while <action>` and the trailing fields. */
  message: z.string(),
  errno: z.number().int().optional(),
  errnoText: z.string().optional(),
  action: z.string().optional(),
  client: z.string().optional(),
  /** server_name of the server block; may be empty (`server: ,`). Stream lines: the listen address. */
  server: z.string().optional(),
  request: z.string().optional(),
  method: z.string().optional(),
  path: z.string().optional(),
  subrequest: z.string().optional(),
  /** The `upstream:` field as written (`http://127.0.0.1:18190/x`, `fastcgi://unix:/run/php.sock:`). */
  upstream: z.string().optional(),
  upstreamScheme: z.string().optional(),
  /** The peer the line concerns: `host:port`, `[v6]:port`, `unix:/path`, a group or an unresolved name. */
  target: z.string().optional(),
  /** `target` is an upstream{} group name (no peer could be chosen, e.g. `no live upstreams`). */
  targetIsGroup: z.boolean().optional(),
  httpHost: z.string().optional(),
  referrer: z.string().optional(),
  /** Resolver address on `... while resolving, resolver: 127.0.0.1:53` lines. */
  resolver: z.string().optional(),
  /** Stream-module byte counts (`bytes from/to client:79/0, bytes from/to upstream:0/79`). */
  bytes: z
    .object({
      fromClient: z.number().int(),
      toClient: z.number().int(),
      fromUpstream: z.number().int(),
      toUpstream: z.number().int(),
    })
    .optional(),
  /** The HTTP status the client got, when the line determines it (502, 504, 404...). */
  status: z.number().int().optional(),
  /** nginx cut the line at its 2048-byte limit: trailing fields may be missing. */
  truncated: z.boolean().optional(),
});
export type NginxErrorRecord = z.infer<typeof NginxErrorRecord>;

const LEVELS: Readonly<Record<string, NginxLevel>> = {
  emerg: "emerg",
  alert: "alert",
  crit: "crit",
  error: "error",
  warn: "warn",
  notice: "notice",
  info: "info",
  debug: "debug",
};

/** nginx formats each line in a 2048-byte buffer (NGX_MAX_ERROR_STR) and cuts what does not fit. */
const NGINX_LINE_LIMIT = 2040;
const STDERR_OPEN = 'sent in stderr: "';
const MAX_CONTINUATION_LINES = 64;

const ERRNO = / \((\d+): ([^)]*)\)/;
const ERRNO_OPEN = / \(\d+: [^)]*$/;

/** Last time converted: lines come in bursts within the same second. */
let lastStampKey = -1;
let lastStampOffset = 0;
let lastStampIso: string | undefined;

function digitsAt(s: string, from: number, count: number): number {
  let n = 0;
  for (let i = from; i < from + count; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/** `yyyy/mm/dd HH:MM:SS` at the start of `s` (local time) -> UTC ISO; null when not such a stamp. */
function stampToUtc(s: string, offset: number): string | undefined | null {
  if (s.charCodeAt(10) !== 32 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return null;
  const y = digitsAt(s, 0, 4);
  const mo = digitsAt(s, 5, 2);
  const d = digitsAt(s, 8, 2);
  const h = digitsAt(s, 11, 2);
  const mi = digitsAt(s, 14, 2);
  const sec = digitsAt(s, 17, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || sec < 0) return null;
  const key = ((((y * 100 + mo) * 100 + d) * 100 + h) * 100 + mi) * 100 + sec;
  if (key === lastStampKey && offset === lastStampOffset) return lastStampIso;
  const iso = localToUtc(y, mo, d, h, mi, sec, 0, offset);
  lastStampKey = key;
  lastStampOffset = offset;
  lastStampIso = iso;
  return iso;
}

const QUARTER_HOUR_MS = 900_000;
const WRAPPER_SLACK_MS = 120_000;

/**
 * The zone of nginx's local time, read off a zoned wrapper stamp (docker, RFC 3339 syslog) written when
 * the line was received: the difference rounded to a quarter hour, if the rest is within two minutes.
 * A container's zone often differs from its host's; a wrapper written later (a replay) tells nothing.
 */
function offsetFromWrapper(inner: string, wrapperMs: number): number | undefined {
  const local = Date.UTC(
    digitsAt(inner, 0, 4),
    digitsAt(inner, 5, 2) - 1,
    digitsAt(inner, 8, 2),
    digitsAt(inner, 11, 2),
    digitsAt(inner, 14, 2),
    digitsAt(inner, 17, 2),
  );
  const diff = local - wrapperMs;
  const quarters = Math.round(diff / QUARTER_HOUR_MS);
  if (Math.abs(quarters) > 14 * 4 || Math.abs(diff - quarters * QUARTER_HOUR_MS) > WRAPPER_SLACK_MS)
    return undefined;
  return quarters * 15;
}

function unreadable(line: number, text: string, reason: string): Unreadable {
  return { line, text, reason };
}

function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c < 0xdc00 ? 2 : 3;
  }
  return n;
}

function notNginx(line: number, text: string, inner: string): Unreadable {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for binary bytes
  if (/[\u0000-\u0008\u000e-\u001f\ufffd]/.test(inner)) return unreadable(line, text, "binary data");
  if (inner.startsWith("nginx: ")) return unreadable(line, text, "nginx command output, not a log line");
  return unreadable(line, text, "not an nginx error-log line");
}

/**
 * Parse one line (already split, without its newline) of an nginx error log, wrappers and all.
 * Returns the record, or an Unreadable with the reason when the line is not an nginx error-log line
 * or was cut short.
 */
export function parseNginxErrorLine(
  line: string,
  lineNo: number,
  ctx: ParseContext,
): NginxErrorRecord | Unreadable {
  if (startsWithSlashDate(line)) return parseInner(line, line, lineNo, ctx, undefined);
  const u = unwrap(line);
  return parseInner(u.inner, line, lineNo, ctx, u);
}

export function isUnreadable(r: NginxErrorRecord | Unreadable): r is Unreadable {
  return "reason" in r;
}

function parseInner(
  inner: string,
  text: string,
  lineNo: number,
  ctx: ParseContext,
  wrap: Unwrapped | undefined,
): NginxErrorRecord | Unreadable {
  let level: NginxLevel | undefined;
  let pid: number | undefined;
  let tid: number | undefined;
  let conn: number | undefined;
  let time: string | undefined;
  let p: number;
  if (startsWithSlashDate(inner)) {
    const t = stampToUtc(inner, ctx.utcOffsetMinutes);
    if (t === null || inner.charCodeAt(19) !== 32 || inner.charCodeAt(20) !== 91 /* [ */) {
      return notNginx(lineNo, text, inner);
    }
    if (t === undefined) return unreadable(lineNo, text, "impossible date");
    time = t;
    const close = inner.indexOf("] ", 21);
    level = close > 0 && close < 28 ? LEVELS[inner.slice(21, close)] : undefined;
    if (level === undefined) return unreadable(lineNo, text, "unknown level");
    p = close + 2;
    const hash = inner.indexOf("#", p);
    const colon = hash < 0 ? -1 : inner.indexOf(": ", hash);
    if (colon < 0 || colon - p > 24) return unreadable(lineNo, text, "truncated line");
    pid = digitsAt(inner, p, hash - p);
    tid = digitsAt(inner, hash + 1, colon - hash - 1);
    if (pid < 0 || tid < 0 || hash === p || colon === hash + 1) return notNginx(lineNo, text, inner);
    p = colon + 2;
    if (inner.charCodeAt(p) === 42 /* * */) {
      const sp = inner.indexOf(" ", p);
      const n = sp < 0 ? -1 : digitsAt(inner, p + 1, sp - p - 1);
      if (n < 0 || sp === p + 1) return unreadable(lineNo, text, "truncated line");
      conn = n;
      p = sp + 1;
    }
  } else if (inner.startsWith("nginx: [")) {
    const close = inner.indexOf("] ", 8);
    level = close > 0 ? LEVELS[inner.slice(8, close)] : undefined;
    if (level === undefined) return notNginx(lineNo, text, inner);
    p = close + 2;
  } else {
    return notNginx(lineNo, text, inner);
  }
  if (wrap !== undefined) {
    if (pid === undefined) {
      time = wrap.wrapperTime;
      if (time === undefined && wrap.localStamp !== undefined) {
        time = syslogStampToUtc(wrap.localStamp, ctx.utcOffsetMinutes, ctx.now);
      }
    } else if (wrap.wrapperMs !== undefined) {
      const offset = offsetFromWrapper(inner, wrap.wrapperMs);
      if (offset !== undefined && offset !== ctx.utcOffsetMinutes) time = stampToUtc(inner, offset) ?? time;
    }
  }
  if (p >= inner.length) return unreadable(lineNo, text, "truncated line");

  const cutByNginx = inner.length >= NGINX_LINE_LIMIT / 3 && utf8Length(inner) >= NGINX_LINE_LIMIT;
  if (!cutByNginx && inner.charCodeAt(inner.length - 1) === 36 /* $ */) {
    return unreadable(lineNo, text, "truncated line (pager $)");
  }

  // Where the message ends: FastCGI stderr text is arbitrary, so look for the fields after its closing quote.
  let from = p;
  const stderrAt = inner.indexOf(STDERR_OPEN, p);
  if (stderrAt >= 0) {
    const closeQuote = inner.lastIndexOf('" while ');
    from = closeQuote > stderrAt ? closeQuote : inner.length;
  }
  let fieldsAt = inner.indexOf(", client: ", from);
  if (fieldsAt < 0) fieldsAt = inner.indexOf(", resolver: ", from);
  if (fieldsAt < 0) fieldsAt = inner.indexOf(", bytes from/to client:", from);
  const coreEnd = fieldsAt < 0 ? inner.length : fieldsAt;
  let action: string | undefined;
  let msgEnd = coreEnd;
  const whileAt = inner.lastIndexOf(" while ", coreEnd - 1);
  if (whileAt >= from || (stderrAt < 0 && whileAt >= p)) {
    action = inner.slice(whileAt + 7, coreEnd);
    msgEnd = whileAt;
  }
  const message = inner.slice(p, msgEnd);

  let errno: number | undefined;
  let errnoText: string | undefined;
  if (stderrAt < 0 && message.includes(" (")) {
    const e = ERRNO.exec(message);
    if (e?.[1] !== undefined) {
      errno = Number(e[1]);
      errnoText = e[2];
    } else if (!cutByNginx && fieldsAt < 0 && ERRNO_OPEN.test(message)) {
      return unreadable(lineNo, text, "truncated line");
    }
  }

  const f = fieldsAt < 0 ? undefined : scanFields(inner, fieldsAt + 2);
  if (f?.unterminated === true && !cutByNginx) return unreadable(lineNo, text, "truncated line");

  const upstream = f?.upstream;
  const found = findTarget(message, upstream);
  const stream = f?.bytes !== undefined;
  const subrequest = f?.subrequest;
  const verdict = classify({
    message,
    errno,
    action,
    target: found?.target,
    stream,
    subrequest: subrequest !== undefined,
  });

  let method: string | undefined;
  let path: string | undefined;
  const request = f?.request;
  if (request !== undefined) {
    const sp = request.indexOf(" ");
    if (sp > 0) {
      method = request.slice(0, sp);
      const last = request.lastIndexOf(" ");
      path = last > sp ? request.slice(sp + 1, last) : request.slice(sp + 1);
    }
  }

  return {
    host: ctx.host,
    source: ctx.source,
    line: lineNo,
    text,
    time,
    cause: verdict.cause,
    level,
    pid,
    tid,
    conn,
    message,
    errno,
    errnoText,
    action,
    client: f?.client,
    server: f?.server,
    request,
    method,
    path,
    subrequest,
    upstream,
    upstreamScheme: upstream === undefined ? undefined : upstreamScheme(upstream),
    target: found?.target,
    targetIsGroup: found === undefined ? undefined : found.isGroup,
    httpHost: f?.host,
    referrer: f?.referrer,
    resolver: f?.resolver,
    bytes: f?.bytes,
    status: verdict.status,
    truncated: cutByNginx ? true : undefined,
  };
}

/** A line that starts a FastCGI stderr message and does not close it: more lines follow. */
function opensStderr(inner: string): boolean {
  const at = inner.indexOf(STDERR_OPEN);
  if (at < 0) return false;
  return !closesStderr(inner, at + STDERR_OPEN.length);
}

function closesStderr(inner: string, from: number): boolean {
  return (
    inner.indexOf('" while ', from) >= 0 ||
    inner.indexOf('", client: ', from) >= 0 ||
    (inner.length > from && inner.charCodeAt(inner.length - 1) === 34)
  );
}

interface Pending {
  texts: string[];
  inners: string[];
  lineNo: number;
  wrap: Unwrapped | undefined;
  unwrapped: boolean;
}

export const nginxErrorParser: Parser<NginxErrorRecord> = {
  kind: "nginx-error",
  schema: NginxErrorRecord,
  start(ctx: ParseContext, sink: Sink<NginxErrorRecord>) {
    let pending: Pending | undefined;
    const emit = (r: NginxErrorRecord | Unreadable) => {
      if (isUnreadable(r)) sink.unreadable(r);
      else sink.record(r);
    };
    const flush = () => {
      if (pending === undefined) return;
      const p = pending;
      pending = undefined;
      emit(parseInner(p.inners.join("\n"), p.texts.join("\n"), p.lineNo, ctx, p.wrap));
    };
    return {
      line(text: string, lineNo: number) {
        if (pending !== undefined) {
          const inner = pending.unwrapped ? unwrap(text).inner : text;
          if (!startsWithSlashDate(inner) && !inner.startsWith("nginx: [")) {
            pending.texts.push(text);
            pending.inners.push(inner);
            if (closesStderr(inner, 0) || pending.texts.length >= MAX_CONTINUATION_LINES) flush();
            return;
          }
          flush();
        }
        let inner = text;
        let wrap: Unwrapped | undefined;
        if (!startsWithSlashDate(text)) {
          if (text.trim() === "") return;
          wrap = unwrap(text);
          inner = wrap.inner;
        }
        if (opensStderr(inner)) {
          pending = { texts: [text], inners: [inner], lineNo, wrap, unwrapped: inner !== text };
          return;
        }
        emit(parseInner(inner, text, lineNo, ctx, wrap));
      },
      end() {
        flush();
      },
    };
  },
};
