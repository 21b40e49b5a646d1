import { isUnreadable, type NginxErrorRecord, parseNginxErrorLine } from "../evidence/nginx-error.js";
import type { ParseContext } from "../evidence/types.js";
import { startsWithSlashDate, unwrap } from "../evidence/wrappers.js";
import { nginxErrorMeaning } from "./nginx-error-meaning.js";
import type { Reading } from "./schema.js";

/**
 * nginx error-log lines, whole or as people paste them: without the timestamp (`[error] 1234#1234: ...`,
 * `*17 connect() failed ...`, or just the message), cut at either end, behind a container runtime's
 * prefix, or with the stray spaces of a machine translation (`connect () failed`, `unix: /path`,
 * `1706 # 1706: * 795218`). The parser in evidence/ reads a normalised copy; a synthetic stamp put in
 * front of a fragment is never reported as the line's time.
 */

const SYNTHETIC_STAMP = "1970/01/01 00:00:00";
/** containerd / CRI-O log files: `2026-11-25T12:00:00.123456789Z stderr F <line>`. */
const CRI = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)) (?:stdout|stderr) [FP] /;
const LEVELED = /\[(?:emerg|alert|crit|error|warn|notice|info|debug)\] \d+#\d+: /;
const PID_TID = /(?:^|\s)(\d+#\d+: )/;
const CONN = /(?:^|\s)(\*\d+ )/;
/** Where a message nginx logs about an upstream starts, for fragments cut before `*N`. */
const MESSAGE_STARTS = [
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
/** The phase each call belongs to, for messages cut before ` while <action>`. */
const ACTION_FOR_CALL: ReadonlyArray<readonly [string, string]> = [
  ["connect() ", "connecting to upstream"],
  ["SSL_do_handshake() ", "SSL handshaking to upstream"],
  ["peer closed connection in SSL handshake", "SSL handshaking to upstream"],
  ["writev() ", "sending request to upstream"],
  ["send() ", "sending request to upstream"],
  ["recv() ", "reading response header from upstream"],
  ["upstream prematurely closed connection", "reading response header from upstream"],
  ["upstream sent ", "reading response header from upstream"],
];
/** What precedes the message: ` [level] pid#tid: ` and the connection number. */
const HEAD = / \[[a-z]+\] \d+#\d+: (?:\*\d+ )?/;
const ACTIONS = [
  "connecting to upstream",
  "SSL handshaking to upstream",
  "sending request to upstream",
  "reading response header from upstream",
  "reading upstream",
  "proxying upgraded connection",
  "proxying and reading from upstream",
  "sending to client",
  "resolving",
];

/** Undo the spacing a translator or a chat client put into nginx's fixed tokens. */
function respace(s: string): string {
  return s
    .replace(/(^|\s)(\d+) ?# ?(\d+) ?: /, "$1$2#$3: ")
    .replace(/(: |^)\* (\d+) /, "$1*$2 ")
    .replace(/\b(connect|recv|readv|writev|send|sendfile|SSL_do_handshake|SSL_read|SSL_write) \(\)/g, "$1()")
    .replace(/\bunix: \//g, "unix:/")
    .replace(/\((\d+) ?: ?([A-Z])/g, "($1: $2");
}

interface Candidate {
  line: string;
  synthetic: boolean;
  /** The action was guessed for a line cut before it. */
  assumedAction?: string;
}

/** A fragment turned into a whole line with a synthetic stamp, or undefined when no nginx shape is in it. */
function completeStart(inner: string): Candidate | undefined {
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

/** Mend a line cut at its end: a pager's `$`, an open errno, a half-written action, a cut quoted field. */
function completeEnd(c: Candidate): Candidate {
  // A pager's `$`, then a half-written field name (`, clie`).
  let line = c.line
    .replace(/\$+$/, "")
    .trimEnd()
    .replace(/,(?: [a-z/ ]*)?$/, "");
  let assumedAction = c.assumedAction;
  if (/ \(\d+: [^)]*$/.test(line)) line += ")";
  const half = / while ([a-zA-Z ]*)$/.exec(line);
  if (half?.[1] !== undefined && !ACTIONS.includes(half[1])) {
    const done = ACTIONS.find((a) => a.startsWith(half[1] ?? ""));
    if (done) line = `${line.slice(0, half.index)} while ${done}`;
  }
  const head = HEAD.exec(line);
  const msg = head ? line.slice(head.index + head[0].length) : "";
  if (head && !msg.includes(" while ") && !msg.includes(", client: ")) {
    const action = ACTION_FOR_CALL.find(([call]) => msg.startsWith(call))?.[1];
    if (action) {
      line += ` while ${action}`;
      assumedAction = action;
    }
  }
  return { ...c, line, ...(assumedAction === undefined ? {} : { assumedAction }) };
}

const CUT_UPSTREAM_URI = /, upstream: "[a-z]+:\/\/(?:unix:[^":]+:|[^"/]+\/)[^"]*$/;

/** Cut back to the last complete `, key: value` field (a quoted value that never closes was cut). */
function dropLastField(line: string): string | undefined {
  const at = line.lastIndexOf(", ");
  if (at < 0 || !/^, [a-z/ ]+:/.test(line.slice(at))) return undefined;
  return line.slice(0, at);
}

function parse(c: Candidate, ctx: ParseContext): NginxErrorRecord | undefined {
  let line = c.line;
  for (let i = 0; i < 8; i++) {
    const r = parseNginxErrorLine(line, 1, ctx);
    if (!isUnreadable(r)) return r;
    if (!r.reason.startsWith("truncated")) return undefined;
    // An `upstream:` value cut inside its URI still names the peer whole.
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

/** Is a record read from a fragment worth calling nginx? Without `pid#tid` it must say something known. */
function convincing(r: NginxErrorRecord, c: Candidate): boolean {
  if (!c.synthetic || r.pid !== 0) return true;
  return (
    r.cause !== undefined ||
    r.errno !== undefined ||
    MESSAGE_STARTS.some((s) => r.message.startsWith(s)) ||
    r.message.includes(" could not be resolved")
  );
}

function read(c: Candidate, ctx: ParseContext): { record: NginxErrorRecord; c: Candidate } | undefined {
  const whole = parse(c, ctx);
  if (whole && (whole.cause !== undefined || whole.status !== undefined)) return { record: whole, c };
  const mended = completeEnd(c);
  const record = mended.line === c.line ? whole : (parse(mended, ctx) ?? whole);
  if (!record) return undefined;
  const used = record === whole ? c : mended;
  return convincing(record, used) ? { record, c: used } : undefined;
}

/** The reading of an nginx error-log line or fragment, or undefined when it is not one. */
export function readNginxError(line: string, ctx: ParseContext): Reading | undefined {
  if (line.trim() === "") return undefined;
  const direct = parseNginxErrorLine(line, 1, ctx);
  if (!isUnreadable(direct) && (direct.cause !== undefined || direct.status !== undefined)) {
    return nginxErrorMeaning(direct, undefined);
  }
  const cri = CRI.exec(line);
  const dewrapped = cri?.[1] === undefined ? line : `${cri[1]} ${line.slice(cri[0].length)}`;
  const u = unwrap(dewrapped);
  const inner = respace(u.inner);
  const prefix = dewrapped.endsWith(u.inner) ? dewrapped.slice(0, dewrapped.length - u.inner.length) : "";
  let found: { record: NginxErrorRecord; c: Candidate } | undefined;
  if (startsWithSlashDate(inner) || inner.startsWith("nginx: [")) {
    found = read({ line: `${prefix}${inner}`, synthetic: false }, ctx);
  } else {
    const c = completeStart(inner);
    if (c) found = read(c, ctx);
  }
  if (!found) return isUnreadable(direct) ? undefined : nginxErrorMeaning(direct, undefined);
  const reading = nginxErrorMeaning(found.record, found.c.assumedAction);
  if (!found.c.synthetic) return reading;
  // A fragment's own time is gone; a container runtime's stamp in front of it is still the line's time.
  const wrapperTime = u.wrapperTime;
  return wrapperTime === undefined
    ? { ...reading, time: undefined, timeless: true }
    : { ...reading, time: wrapperTime };
}
