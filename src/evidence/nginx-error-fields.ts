/**
 * The fields nginx appends to an error-log message (ngx_http_log_error_handler and its stream and
 * resolver cousins), in this order: `client: A, server: S, request: "R", subrequest: "U",
 * upstream: "P", host: "H", referrer: "F"`; stream lines add `bytes from/to client:N/N, bytes from/to
 * upstream:N/N`; resolver lines have `resolver: A`.
 */
export class TrailingFields {
  client: string | undefined = undefined;
  server: string | undefined = undefined;
  request: string | undefined = undefined;
  subrequest: string | undefined = undefined;
  upstream: string | undefined = undefined;
  host: string | undefined = undefined;
  referrer: string | undefined = undefined;
  resolver: string | undefined = undefined;
  bytes: { fromClient: number; toClient: number; fromUpstream: number; toUpstream: number } | undefined =
    undefined;
  /** A quoted value had no closing quote: the line was cut (the value holds what there is). */
  unterminated = false;
}

/** `key:` at `at`: lower-case letters, spaces and `/`, then a colon (`host:`, `bytes from/to client:`). */
function keyEnd(s: string, at: number): number {
  const limit = Math.min(s.length, at + 24);
  for (let i = at; i < limit; i++) {
    const c = s.charCodeAt(i);
    if (c === 58 /* : */) return i > at ? i : -1;
    if (!((c >= 97 && c <= 122) || c === 32 || c === 47)) return -1;
  }
  return -1;
}

/**
 * Whether the fields from `at` may hold a quoted value that is never closed (what scanFields calls
 * unterminated). Not when they hold no quote; not when their last quote cannot open a value (a value
 * opens right after `key:` or `key: `) and ends the line or is followed by `, key:`: each value opened
 * before it then closes there at the latest.
 */
export function mayLeaveQuoteOpen(s: string, at: number): boolean {
  const last = s.length - 1;
  let q = last;
  if (s.charCodeAt(last) !== 34) {
    q = s.lastIndexOf('"');
    if (q < at) return false;
    if (s.charCodeAt(q + 1) !== 44 || s.charCodeAt(q + 2) !== 32 || keyEnd(s, q + 3) < 0) return true;
  }
  const before = s.charCodeAt(q - 1);
  return before === 32 || before === 58;
}

/** The key found after the last closing quote, so that the next field does not read it twice. */
let checkedKeyAt = -1;
let checkedKeyEnd = -1;

/** Index of the quote that closes a value opened before `from`: one followed by `, key:` or the end. */
function quotedEnd(s: string, from: number): number {
  const last = s.length - 1;
  let j = from;
  for (;;) {
    j = s.indexOf('"', j);
    if (j < 0 || j === last) return j;
    if (s.charCodeAt(j + 1) === 44 && s.charCodeAt(j + 2) === 32) {
      const colon = keyEnd(s, j + 3);
      if (colon > 0) {
        checkedKeyAt = j + 3;
        checkedKeyEnd = colon;
        return j;
      }
    }
    j++;
  }
}

/** `79/0` -> [79, 0] */
function pair(v: string): [number, number] | undefined {
  const slash = v.indexOf("/");
  if (slash <= 0) return undefined;
  const a = Number(v.slice(0, slash));
  const b = Number(v.slice(slash + 1));
  return Number.isInteger(a) && Number.isInteger(b) ? [a, b] : undefined;
}

/**
 * A quoted value closed by its first quote. What the regex wants after it (`, key: ` or the end) is what
 * quotedEnd wants of a closing quote, so both read the same value.
 */
const QUOTED = '"([^"]*)"';

/**
 * The fields as the HTTP module writes them, in its order, to the end of the line: one regex costs less
 * than scanning them a character at a time. Stream and resolver lines, a quote inside a value, a cut
 * line or anything else unusual does not match and is scanned.
 */
const HTTP_FIELDS = new RegExp(
  `client: (?!")([^,]*), server: (?!")([^,]*)` +
    `(?:, request: ${QUOTED})?(?:, subrequest: ${QUOTED})?(?:, upstream: ${QUOTED})?` +
    `(?:, host: ${QUOTED})?(?:, referrer: ${QUOTED})?$`,
  "y",
);

/** Scan the fields starting at `at` (the `c` of `client:`). */
export function scanFields(s: string, at: number): TrailingFields {
  const out = new TrailingFields();
  HTTP_FIELDS.lastIndex = at;
  const m = HTTP_FIELDS.exec(s);
  if (m !== null) {
    out.client = m[1];
    out.server = m[2];
    out.request = m[3];
    out.subrequest = m[4];
    out.upstream = m[5];
    out.host = m[6];
    out.referrer = m[7];
    return out;
  }
  const length = s.length;
  let bytesClient: [number, number] | undefined;
  let bytesUpstream: [number, number] | undefined;
  let i = at;
  checkedKeyAt = -1;
  while (i < length) {
    const colon = i === checkedKeyAt ? checkedKeyEnd : keyEnd(s, i);
    if (colon < 0) break;
    let v = colon + 1;
    if (s.charCodeAt(v) === 32) v++;
    let start = v;
    let end: number;
    let next: number;
    if (s.charCodeAt(v) === 34 /* " */) {
      start = v + 1;
      end = quotedEnd(s, start);
      if (end < 0) {
        out.unterminated = true;
        end = length;
        next = length;
      } else {
        next = end + 3;
      }
    } else {
      end = s.indexOf(", ", v);
      if (end < 0) end = length;
      next = end + 2;
    }
    const keyLength = colon - i;
    switch (s.charCodeAt(i)) {
      case 99: // c
        if (keyLength === 6) out.client = s.slice(start, end);
        break;
      case 115: // s
        if (keyLength === 6) out.server = s.slice(start, end);
        else if (keyLength === 10) out.subrequest = s.slice(start, end);
        break;
      case 114: // r
        if (keyLength === 7) out.request = s.slice(start, end);
        else if (keyLength === 8) {
          if (s.charCodeAt(i + 2) === 102) out.referrer = s.slice(start, end);
          else out.resolver = s.slice(start, end);
        }
        break;
      case 117: // u
        if (keyLength === 8) out.upstream = s.slice(start, end);
        break;
      case 104: // h
        if (keyLength === 4) out.host = s.slice(start, end);
        break;
      case 98: // b
        if (s.startsWith("bytes from/to client", i)) bytesClient = pair(s.slice(start, end));
        else if (s.startsWith("bytes from/to upstream", i)) bytesUpstream = pair(s.slice(start, end));
        break;
    }
    i = next;
  }
  if (bytesClient !== undefined || bytesUpstream !== undefined) {
    out.bytes = {
      fromClient: bytesClient?.[0] ?? 0,
      toClient: bytesClient?.[1] ?? 0,
      fromUpstream: bytesUpstream?.[0] ?? 0,
      toUpstream: bytesUpstream?.[1] ?? 0,
    };
  }
  return out;
}
