import { z } from "zod";
import { NginxErrorBlocks } from "./nginx-error-block.js";
import { mayLeaveQuoteOpen, scanFields, type TrailingFields } from "./nginx-error-fields.js";
import { type Head, NginxLevel, type NoHead, readStampedHead, readStderrHead } from "./nginx-error-head.js";
import { errnoIn, lastWhileAt } from "./nginx-error-message.js";
import { NginxErrorLine } from "./nginx-error-record.js";
import { offsetFromWrapper, stampToUtc } from "./nginx-error-stamp.js";
import {
  type LineFeeder,
  type ParseContext,
  type Parser,
  RecordBase,
  type Sink,
  type Unreadable,
} from "./types.js";
import { startsWithSlashDate, syslogStampToUtc, type Unwrapped, unwrap } from "./wrappers.js";

/**
 * nginx error log (`error_log`), one record per line: `2026/11/25 13:19:16 [error] 22593#22593: *3 <message>
 * while <action>, client: ..., server: ..., request: "...", upstream: "...", host: "..."`, and the
 * `nginx: [emerg] ...` lines nginx prints on stderr. Wrappers (docker, compose, syslog, journald, ANSI)
 * are stripped first. A FastCGI stderr message that holds newlines spans several lines: they make one record.
 */

export { NginxLevel } from "./nginx-error-head.js";

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

/** nginx formats each line in a 2048-byte buffer (NGX_MAX_ERROR_STR) and cuts what does not fit. */
const NGINX_LINE_LIMIT = 2040;
const STDERR_OPEN = 'sent in stderr: "';
/** The rarer tail of STDERR_OPEN, searched first: most lines have many an `s` and no `derr: "`. */
const STDERR_TAIL = STDERR_OPEN.slice(10);
const MAX_CONTINUATION_LINES = 64;

/** Index of the first `sent in stderr: "` at or after `from`, -1 when none. */
function stderrOpenAt(s: string, from: number): number {
  for (let i = s.indexOf(STDERR_TAIL, from + 10); i >= 0; i = s.indexOf(STDERR_TAIL, i + 1)) {
    if (s.startsWith(STDERR_OPEN, i - 10)) return i - 10;
  }
  return -1;
}

/**
 * Where the trailing fields start: the first `, client: ` from `from`, else the first `, resolver: `,
 * else the first `, bytes from/to client:`; -1 when none. One pass over the `, ` of the line.
 */
function fieldsStart(s: string, from: number): number {
  let resolverAt = -1;
  let bytesAt = -1;
  for (let i = s.indexOf(", ", from); i >= 0; i = s.indexOf(", ", i + 1)) {
    switch (s.charCodeAt(i + 2)) {
      case 99 /* c */:
        if (s.startsWith("client: ", i + 2)) return i;
        break;
      case 114 /* r */:
        if (resolverAt < 0 && s.startsWith("resolver: ", i + 2)) resolverAt = i;
        break;
      case 98 /* b */:
        if (bytesAt < 0 && s.startsWith("bytes from/to client:", i + 2)) bytesAt = i;
        break;
    }
  }
  return resolverAt >= 0 ? resolverAt : bytesAt;
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

/**
 * One line (or the lines of one FastCGI stderr message, joined) after its wrappers: `inner`. `stderrAt`
 * is where `sent in stderr: "` is and `stamped` whether `inner` starts with a slash date, when the caller
 * looked already.
 */
function parseInner(
  inner: string,
  text: string,
  lineNo: number,
  ctx: ParseContext,
  wrap: Unwrapped | undefined,
  stderrAt?: number,
  stamped: boolean = startsWithSlashDate(inner),
): NginxErrorRecord | Unreadable {
  let head: Head | NoHead | undefined;
  if (stamped) head = readStampedHead(inner, ctx.utcOffsetMinutes);
  else if (inner.startsWith("nginx: [")) head = readStderrHead(inner);
  if (head === undefined || head === "not nginx") return notNginx(lineNo, text, inner);
  if (typeof head === "string") return unreadable(lineNo, text, head);
  const { level, pid, tid, conn } = head;
  let time = head.time;
  const p = head.end;
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
  const length = inner.length;
  if (p >= length) return unreadable(lineNo, text, "truncated line");

  const cutByNginx =
    length >= NGINX_LINE_LIMIT || (length >= NGINX_LINE_LIMIT / 3 && utf8Length(inner) >= NGINX_LINE_LIMIT);
  if (!cutByNginx && inner.charCodeAt(length - 1) === 36 /* $ */) {
    return unreadable(lineNo, text, "truncated line (pager $)");
  }

  // Where the message ends: FastCGI stderr text is arbitrary, so look for the fields after its closing quote.
  // (No `sent in stderr` can start inside the stamp, level and pids: looking from 0 or from p is the same.)
  const stderr = stderrAt ?? stderrOpenAt(inner, p);
  let from = p;
  if (stderr >= 0) {
    const closeQuote = inner.lastIndexOf('" while ');
    from = closeQuote > stderr ? closeQuote : length;
  }
  const fieldsAt = fieldsStart(inner, from);
  const coreEnd = fieldsAt < 0 ? length : fieldsAt;
  let action: string | undefined;
  let msgEnd = coreEnd;
  const whileAt = lastWhileAt(inner, from, coreEnd - 1);
  if (whileAt >= 0) {
    action = inner.slice(whileAt + 7, coreEnd);
    msgEnd = whileAt;
  }
  const message = inner.slice(p, msgEnd);

  let errno: number | undefined;
  let errnoText: string | undefined;
  if (stderr < 0) {
    const e = errnoIn(inner, p, msgEnd);
    if (e === "open") {
      if (!cutByNginx && fieldsAt < 0) return unreadable(lineNo, text, "truncated line");
    } else if (e !== undefined) {
      errno = e.errno;
      errnoText = e.text;
    }
  }

  // A quoted field that is never closed makes a line cut short, unless nginx cut it: read the fields now
  // when that may be so, else when first asked for.
  let f: TrailingFields | undefined;
  if (fieldsAt >= 0 && !cutByNginx && mayLeaveQuoteOpen(inner, fieldsAt)) {
    f = scanFields(inner, fieldsAt + 2);
    if (f.unterminated) return unreadable(lineNo, text, "truncated line");
  }
  return new NginxErrorLine(
    ctx.host,
    ctx.source,
    lineNo,
    text,
    time,
    level,
    pid,
    tid,
    conn,
    message,
    errno,
    errnoText,
    action,
    cutByNginx,
    inner,
    fieldsAt,
    f,
  );
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
    const feeder: LineFeeder = {
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
        // A line that starts a FastCGI stderr message and does not close it: more lines follow.
        const stderrAt = stderrOpenAt(inner, 0);
        if (stderrAt >= 0 && !closesStderr(inner, stderrAt + STDERR_OPEN.length)) {
          pending = { texts: [text], inners: [inner], lineNo, wrap, unwrapped: inner !== text };
          return;
        }
        emit(parseInner(inner, text, lineNo, ctx, wrap, stderrAt, wrap === undefined || undefined));
      },
      block(bytes, text, from, to, lineNo, each) {
        blocks ??= new NginxErrorBlocks(
          ctx,
          (r) => {
            flush();
            sink.record(r);
          },
          (text, n) => feeder.line(text, n),
        );
        return blocks.read(bytes, text, from, to, lineNo, each);
      },
      end() {
        flush();
      },
    };
    let blocks: NginxErrorBlocks | undefined;
    return feeder;
  },
};
