import { isUnreadable, type NginxErrorRecord, parseNginxErrorLine } from "../evidence/nginx-error.js";
import {
  type Candidate,
  completeStart,
  MESSAGE_STARTS,
  parseCandidate,
  unwrapFragment,
} from "../evidence/nginx-error-fragment.js";
import type { ParseContext } from "../evidence/types.js";
import { startsWithSlashDate } from "../evidence/wrappers.js";
import { nginxErrorMeaning } from "./nginx-error-meaning.js";
import type { Reading } from "./schema.js";

/**
 * nginx error-log lines, whole or as people paste them: without the timestamp (`[error] 1234#1234: ...`,
 * `*17 connect() failed ...`, or just the message), cut at either end, behind a container runtime's
 * prefix, or with the stray spaces of a machine translation (`connect () failed`, `unix: /path`,
 * `1706 # 1706: * 795218`), completed as evidence/nginx-error-fragment.ts does; here a line cut before
 * its action is also read with the action its call implies (said in the reading), and a synthetic stamp
 * put in front of a fragment is never reported as the line's time.
 */

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
  const whole = parseCandidate(c, ctx);
  if (whole && (whole.cause !== undefined || whole.status !== undefined)) return { record: whole, c };
  const mended = completeEnd(c);
  const record = mended.line === c.line ? whole : (parseCandidate(mended, ctx) ?? whole);
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
  const { inner, prefix, wrapperTime } = unwrapFragment(line);
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
  return wrapperTime === undefined
    ? { ...reading, time: undefined, timeless: true }
    : { ...reading, time: wrapperTime };
}
