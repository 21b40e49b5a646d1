import type { FragmentReader } from "./fragment.js";
import { isUnreadable, type NginxErrorRecord, parseNginxErrorLine } from "./nginx-error.js";
import { plainRecord } from "./nginx-error-record.js";
import type { ParseContext } from "./types.js";
import { startsWithSlashDate, unwrap } from "./wrappers.js";

/**
 * nginx error-log lines as people paste them: without the timestamp (`[error] 1234#1234: ...`, `*17
 * connect() failed ...`, or just the message), cut at either end, behind a container runtime's prefix,
 * indented, or with the stray spaces of a machine translation (`connect () failed`, `unix: /path`,
 * `1706 # 1706: * 795218`). A fragment is completed into a whole line (a synthetic head in front, a cut
 * field dropped) and read by the parser; the synthetic stamp is never reported as the line's time, and a
 * head the fragment lacked leaves pid and tid unset.
 */

const SYNTHETIC_STAMP = "1970/01/01 00:00:00";
const LEVELED = /\[(?:emerg|alert|crit|error|warn|notice|info|debug)\] \d+#\d+: /;
const PID_TID = /(?:^|\s)(\d+#\d+: )/;
const CONN = /(?:^|\s)(\*\d+ )/;
/** Where a message nginx logs about an upstream starts, for fragments cut before `*N`. */
export const MESSAGE_STARTS = [
  "connect() failed (",
  "connect() to ",
  "recv() failed (",
  "readv() failed (",
  "writev() failed (",
  "send() failed (",
  "sendfile() failed (",
  "upstream prematurely closed",
  "upstream timed out",
  "no live upstreams",
  "upstream sent ",
  "upstream SSL certificate",
  "upstream server temporarily disabled",
  "SSL_do_handshake() failed",
  "SSL_read() failed",
  "SSL_write() failed",
  "peer closed connection in SSL handshake",
  "no resolver defined to resolve ",
  "host not found in upstream ",
  "FastCGI sent in stderr: ",
];
/** `(111: Connection refused) while connecting to upstream`: a fragment cut inside the message. */
const ERRNO_ACTION = /\((\d+): [^)]*\) while ([a-zA-Z ]+upstream)/;
/** The call nginx makes in each upstream phase, for messages cut before their first word. */
const CALL_FOR_ACTION: Readonly<Record<string, string>> = {
  "connecting to upstream": "connect() failed",
  "SSL handshaking to upstream": "SSL_do_handshake() failed",
  "sending request to upstream": "writev() failed",
  "reading response header from upstream": "recv() failed",
  "reading upstream": "recv() failed",
};
const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Something only an nginx error line has, looked for before any completing is tried. */
const NGINX_TOKEN = new RegExp(
  [
    String.raw`\(\d+ ?: ?[A-Z]`,
    String.raw`(?:^|\s)\d+ ?# ?\d+ ?: `,
    String.raw`\* ?\d+ `,
    String.raw`\[(?:emerg|alert|crit|error|warn|notice|info|debug)\] `,
    " could not be resolved ",
    ...MESSAGE_STARTS.map((m) => escapeRegex(m).replaceAll("\\(\\)", " ?\\(\\)")),
  ].join("|"),
);

/** A sign of the spacing `respace` undoes, looked for before the replacing. */
const SPACED = / \(\)|# | #|\* \d|: \/|\(\d+ :|\(\d+:[A-Z]/;

/** Undo the spacing a translator or a chat client put into nginx's fixed tokens. */
export function respace(s: string): string {
  if (!SPACED.test(s)) return s;
  return s
    .replace(/(^|\s)(\d+) ?# ?(\d+) ?: /, "$1$2#$3: ")
    .replace(/(: |^)\* (\d+) /, "$1*$2 ")
    .replace(/\b(connect|recv|readv|writev|send|sendfile|SSL_do_handshake|SSL_read|SSL_write) \(\)/g, "$1()")
    .replace(/\bunix: \//g, "unix:/")
    .replace(/\((\d+) ?: ?([A-Z])/g, "($1: $2");
}

export interface Candidate {
  line: string;
  /** The head (stamp, level, pid) was made up: its time and pid are not the line's. */
  synthetic: boolean;
  /** The action was guessed for a line cut before it. */
  assumedAction?: string;
}

/** A fragment turned into a whole line with a synthetic stamp, or undefined when no nginx shape is in it. */
export function completeStart(inner: string): Candidate | undefined {
  let m = LEVELED.exec(inner);
  if (m) return { line: `${SYNTHETIC_STAMP} ${inner.slice(m.index)}`, synthetic: true };
  m = PID_TID.exec(inner);
  if (m?.[1]) {
    const at = m.index + m[0].length - m[1].length;
    return { line: `${SYNTHETIC_STAMP} [error] ${inner.slice(at)}`, synthetic: true };
  }
  m = CONN.exec(inner);
  if (m?.[1]) {
    const at = m.index + m[0].length - m[1].length;
    return { line: `${SYNTHETIC_STAMP} [error] 0#0: ${inner.slice(at)}`, synthetic: true };
  }
  let first = -1;
  for (const start of MESSAGE_STARTS) {
    const at = inner.indexOf(start);
    if (at >= 0 && (first < 0 || at < first)) first = at;
  }
  const resolved = / could not be resolved \(/.exec(inner);
  if (resolved) {
    const nameAt = inner.lastIndexOf(" ", resolved.index - 1) + 1;
    if (first < 0 || nameAt < first) first = nameAt;
  }
  if (first >= 0) return { line: `${SYNTHETIC_STAMP} [error] 0#0: ${inner.slice(first)}`, synthetic: true };
  const e = ERRNO_ACTION.exec(inner);
  const call = e?.[2] === undefined ? undefined : CALL_FOR_ACTION[e[2]];
  if (e && call) {
    return { line: `${SYNTHETIC_STAMP} [error] 0#0: ${call} ${inner.slice(e.index)}`, synthetic: true };
  }
  return undefined;
}

const CUT_UPSTREAM_URI = /, upstream: "[a-z]+:\/\/(?:unix:[^":]+:|[^"/]+\/)[^"]*$/;

/** Cut back to the last complete `, key: value` field (a quoted value that never closes was cut). */
function dropLastField(line: string): string | undefined {
  const at = line.lastIndexOf(", ");
  if (at < 0 || !/^, [a-z/ ]+:/.test(line.slice(at))) return undefined;
  return line.slice(0, at);
}

/**
 * Read a completed line; a line cut inside its trailing fields is read without the cut one (an `upstream:`
 * value cut inside its URI still names the peer whole).
 */
export function parseCandidate(c: Candidate, ctx: ParseContext): NginxErrorRecord | undefined {
  // A pager's `$` and a half-written field name (`, clie`) are no fields.
  let line = c.line
    .replace(/\$+$/, "")
    .trimEnd()
    .replace(/,(?: [a-z/ ]*:?)?$/, "");
  for (let i = 0; i < 8; i++) {
    const r = parseNginxErrorLine(line, 1, ctx);
    if (!isUnreadable(r)) return r;
    if (!r.reason.startsWith("truncated")) return undefined;
    if (CUT_UPSTREAM_URI.test(line)) {
      line += '"';
      continue;
    }
    const shorter = dropLastField(line);
    if (shorter === undefined) return undefined;
    line = shorter;
  }
  return undefined;
}

/**
 * The pasted line without its wrappers (a compose prefix cut before its `|` too), re-spaced; `prefix` is
 * the wrappers' text (kept for the time).
 */
export function unwrapFragment(line: string): {
  inner: string;
  prefix: string;
  wrapperTime: string | undefined;
} {
  const trimmed = line.trim().replace(/^\|(?:\[[0-9;]*m)? ?/, "");
  const u = unwrap(trimmed);
  const prefix = trimmed.endsWith(u.inner) ? trimmed.slice(0, trimmed.length - u.inner.length) : "";
  return { inner: respace(u.inner.trim()), prefix, wrapperTime: u.wrapperTime };
}

/** The record a fragment holds, with what its completion made up taken out again. */
export function readFragment(
  text: string,
  lineNo: number,
  ctx: ParseContext,
): { record: NginxErrorRecord; candidate: Candidate } | undefined {
  if (!NGINX_TOKEN.test(text)) return undefined;
  const { inner, prefix, wrapperTime } = unwrapFragment(text);
  const whole = startsWithSlashDate(inner) || inner.startsWith("nginx: [");
  const candidate = whole ? { line: `${prefix}${inner}`, synthetic: false } : completeStart(inner);
  if (!candidate) return undefined;
  const r = parseCandidate(candidate, ctx);
  if (!r) return undefined;
  const record: NginxErrorRecord = { ...plainRecord(r), line: lineNo, text };
  if (candidate.synthetic) {
    if (wrapperTime === undefined) delete record.time;
    else record.time = wrapperTime;
    if (record.pid === 0 && !/(?:^|\s)0 ?# ?0 ?: /.test(inner)) {
      delete record.pid;
      delete record.tid;
    }
  }
  return { record, candidate };
}

/** The number of times `c` occurs in `text` (indexOf skips the other characters faster than a loop reads them). */
function count(text: string, c: string, atMost = Number.POSITIVE_INFINITY): number {
  let n = 0;
  for (let i = text.indexOf(c); i >= 0 && n < atMost; i = text.indexOf(c, i + 1)) n++;
  return n;
}

/** Cut at the end: a trailing comma or colon, a quote or parenthesis left open, a pager's `$`. */
const HALF_FIELD = /, [a-z][a-z/ ]*$/;

function looksCut(text: string): boolean {
  const last = text.charCodeAt(text.length - 1);
  if (last === 44 || last === 58 || last === 36 || last === 32) return true;
  // A field name cut before its colon (`..., request: "GET / HTTP/1.1", u`).
  if (last >= 97 && last <= 122 && HALF_FIELD.test(text.slice(-24))) return true;
  if (count(text, '"') % 2 === 1) return true;
  const open = count(text, "(");
  return open > 0 && count(text, ")", open) < open;
}

/** What nginx is doing when it logs (`log->action`): anything else is an action cut short. */
const ACTIONS = new Set([
  "connecting to upstream",
  "SSL handshaking to upstream",
  "sending request to upstream",
  "reading response header from upstream",
  "reading upstream",
  "sending to client",
  "proxying upgraded connection",
  "proxying and reading from upstream",
  "proxying and reading from client",
  "proxying connection",
  "resolving",
  "reading client request line",
  "reading client request headers",
  "reading client request body",
  "reading client pipelined request line",
  "reading PROXY protocol",
  "SSL handshaking",
  "waiting for request",
  "closing request",
  "sending response to client",
]);

export const nginxErrorFragments: FragmentReader<NginxErrorRecord> = {
  fields: [
    "pid",
    "tid",
    "conn",
    "client",
    "server",
    "request",
    "subrequest",
    "upstream",
    "httpHost",
    "referrer",
  ],
  // An action with a comma in it is a line cut inside its fields (`while connecting to upstream, cli`).
  strong: (r) => r.cause !== undefined && r.action?.includes(",") !== true,
  // An upstream error cut before or inside its action (`*39 upstream timed out`, `while connecting`) says
  // less than it would whole: the next line may finish it.
  complete: (r) =>
    r.cause !== undefined && (r.action === undefined ? r.cause === "dns" : ACTIONS.has(r.action)),
  read: (text, lineNo, ctx) => {
    // A whole stamped line, neither cut nor re-spaced, the parser has read as well as it can be.
    if (startsWithSlashDate(text) && !looksCut(text) && respace(text) === text) return undefined;
    const found = readFragment(text, lineNo, ctx);
    return found?.record.cause === undefined ? undefined : found.record;
  },
  startsRecord: (text) => {
    const inner = unwrap(text.trim()).inner;
    return startsWithSlashDate(inner) || inner.startsWith("nginx: [");
  },
};
