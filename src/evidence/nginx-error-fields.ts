/**
 * The fields nginx appends to an error-log message (ngx_http_log_error_handler and its stream and
 * resolver cousins), in this order: `client: A, server: S, request: "R", subrequest: "U",
 * upstream: "P", host: "H", referrer: "F"`; stream lines add `bytes from/to client:N/N, bytes from/to
 * upstream:N/N`; resolver lines have `resolver: A`.
 */
export interface TrailingFields {
  client?: string | undefined;
  server?: string | undefined;
  request?: string | undefined;
  subrequest?: string | undefined;
  upstream?: string | undefined;
  host?: string | undefined;
  referrer?: string | undefined;
  resolver?: string | undefined;
  bytes?: { fromClient: number; toClient: number; fromUpstream: number; toUpstream: number } | undefined;
  /** A quoted value had no closing quote: the line was cut (the value holds what there is). */
  unterminated?: boolean;
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

/** Index of the quote that closes a value opened before `from`: one followed by `, key:` or the end. */
function quotedEnd(s: string, from: number): number {
  let j = from;
  for (;;) {
    j = s.indexOf('"', j);
    if (j < 0) return -1;
    if (j === s.length - 1) return j;
    if (s.charCodeAt(j + 1) === 44 && s.charCodeAt(j + 2) === 32 && keyEnd(s, j + 3) > 0) return j;
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

/** Scan the fields starting at `at` (the `c` of `client:`). */
export function scanFields(s: string, at: number): TrailingFields {
  const out: TrailingFields = {};
  let bytesClient: [number, number] | undefined;
  let bytesUpstream: [number, number] | undefined;
  let i = at;
  while (i < s.length) {
    const colon = keyEnd(s, i);
    if (colon < 0) break;
    let v = colon + 1;
    if (s.charCodeAt(v) === 32) v++;
    let value: string;
    let next: number;
    if (s.charCodeAt(v) === 34 /* " */) {
      const end = quotedEnd(s, v + 1);
      if (end < 0) {
        out.unterminated = true;
        value = s.slice(v + 1);
        next = s.length;
      } else {
        value = s.slice(v + 1, end);
        next = end + 3;
      }
    } else {
      let end = s.indexOf(", ", v);
      if (end < 0) end = s.length;
      value = s.slice(v, end);
      next = end + 2;
    }
    switch (s.charCodeAt(i)) {
      case 99: // c
        if (colon - i === 6) out.client = value;
        break;
      case 115: // s
        if (colon - i === 6) out.server = value;
        else if (colon - i === 10) out.subrequest = value;
        break;
      case 114: // r
        if (colon - i === 7) out.request = value;
        else if (colon - i === 8) {
          if (s.charCodeAt(i + 2) === 102) out.referrer = value;
          else out.resolver = value;
        }
        break;
      case 117: // u
        if (colon - i === 8) out.upstream = value;
        break;
      case 104: // h
        if (colon - i === 4) out.host = value;
        break;
      case 98: // b
        if (s.startsWith("bytes from/to client", i)) bytesClient = pair(value);
        else if (s.startsWith("bytes from/to upstream", i)) bytesUpstream = pair(value);
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
