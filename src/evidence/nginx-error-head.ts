import { z } from "zod";
import { digitsAt, stampToUtc } from "./nginx-error-stamp.js";

/** nginx's levels, most severe first: the order the block scanner numbers them in (nginx-error-scan.ts). */
export const NginxLevel = z.enum(["emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"]);
export type NginxLevel = z.infer<typeof NginxLevel>;

/**
 * The head of an nginx error-log line: `2026/11/25 13:19:16 [error] 22593#22593: *3 ` (stamp, level,
 * pid#tid, connection) or nginx's stderr `nginx: [emerg] `. Read with charCodeAt where the text is
 * where nginx always puts it (each string builtin call costs more than a few character reads), with
 * the general search behind it for anything unusual.
 */
export interface Head {
  /** UTC ISO; undefined on `nginx: [...]` lines. */
  time: string | undefined;
  level: NginxLevel;
  pid: number | undefined;
  tid: number | undefined;
  conn: number | undefined;
  /** Where the message starts. */
  end: number;
}

/** Why a line has no head: not nginx's at all, or nginx's and unreadable for the reason given. */
export type NoHead = "not nginx" | "impossible date" | "unknown level" | "truncated line";

/** The level written at `at` and followed by `] ` (`error` in `[error] `); undefined when none. */
export function levelAt(s: string, at: number): NginxLevel | undefined {
  switch (s.charCodeAt(at)) {
    case 101 /* e */:
      if (s.startsWith("error] ", at)) return "error";
      return s.startsWith("emerg] ", at) ? "emerg" : undefined;
    case 119 /* w */:
      return s.startsWith("warn] ", at) ? "warn" : undefined;
    case 110 /* n */:
      return s.startsWith("notice] ", at) ? "notice" : undefined;
    case 105 /* i */:
      return s.startsWith("info] ", at) ? "info" : undefined;
    case 99 /* c */:
      return s.startsWith("crit] ", at) ? "crit" : undefined;
    case 97 /* a */:
      return s.startsWith("alert] ", at) ? "alert" : undefined;
    case 100 /* d */:
      return s.startsWith("debug] ", at) ? "debug" : undefined;
    default:
      return undefined;
  }
}

/** Index of the first character after the decimal digits from `at` (`at` itself when there are none). */
function digitsEnd(s: string, at: number): number {
  let i = at;
  for (;;) {
    const c = s.charCodeAt(i);
    if (!(c >= 48 && c <= 57)) return i;
    i++;
  }
}

/**
 * The last stamp and `pid#tid: ` read, as written, and what they said: most lines repeat both, and
 * comparing the text costs less than reading the digits again. A line that repeats the text has the
 * same values. Compared in pieces of at most 12 characters: V8 copies a slice that short, and compares
 * two copies in place, where a longer slice is a view that it compares through a runtime call.
 */
let lastDay: string | undefined;
let lastClock: string | undefined;
let lastOffset = 0;
let lastTime = "";
let lastPids: string | undefined;
let lastPidsRest = "";
let lastPid = 0;
let lastTid = 0;

/** The head of a line that starts with a slash date (`startsWithSlashDate`). */
export function readStampedHead(s: string, utcOffsetMinutes: number): Head | NoHead {
  let time: string;
  // `2026/11/25 ` and `13:19:16 [`
  if (utcOffsetMinutes === lastOffset && s.slice(11, 21) === lastClock && s.slice(0, 11) === lastDay) {
    time = lastTime;
  } else {
    const t = stampToUtc(s, utcOffsetMinutes);
    if (t === null || s.charCodeAt(19) !== 32 || s.charCodeAt(20) !== 91 /* [ */) return "not nginx";
    if (t === undefined) return "impossible date";
    time = t;
    lastDay = s.slice(0, 11);
    lastClock = s.slice(11, 21);
    lastOffset = utcOffsetMinutes;
    lastTime = t;
  }
  const level = levelAt(s, 21);
  if (level === undefined) return "unknown level";
  let p = 21 + level.length + 2;
  let pid: number;
  let tid: number;
  let colon: number;
  if (
    lastPids !== undefined &&
    s.slice(p, p + lastPids.length) === lastPids &&
    (lastPidsRest === "" || s.slice(p + 12, p + 12 + lastPidsRest.length) === lastPidsRest)
  ) {
    pid = lastPid;
    tid = lastTid;
    colon = p + lastPids.length + lastPidsRest.length - 2;
  } else {
    // `22593#22593: `: digits, `#`, digits, `: `.
    const hash = digitsEnd(s, p);
    colon = s.charCodeAt(hash) === 35 /* # */ ? digitsEnd(s, hash + 1) : -1;
    if (
      hash > p &&
      colon > hash + 1 &&
      colon - p <= 24 &&
      s.charCodeAt(colon) === 58 /* : */ &&
      s.charCodeAt(colon + 1) === 32
    ) {
      pid = digitsAt(s, p, hash - p);
      tid = digitsAt(s, hash + 1, colon - hash - 1);
      // At most 24 characters from p to the colon: two pieces.
      lastPids = s.slice(p, Math.min(p + 12, colon + 2));
      lastPidsRest = s.slice(p + lastPids.length, colon + 2);
      lastPid = pid;
      lastTid = tid;
    } else {
      // Not that: the general reading, which says why.
      const anyHash = s.indexOf("#", p);
      colon = anyHash < 0 ? -1 : s.indexOf(": ", anyHash);
      if (colon < 0 || colon - p > 24) return "truncated line";
      pid = digitsAt(s, p, anyHash - p);
      tid = digitsAt(s, anyHash + 1, colon - anyHash - 1);
      if (pid < 0 || tid < 0 || anyHash === p || colon === anyHash + 1) return "not nginx";
    }
  }
  p = colon + 2;
  let conn: number | undefined;
  if (s.charCodeAt(p) === 42 /* * */) {
    const sp = s.indexOf(" ", p);
    const n = sp < 0 ? -1 : digitsAt(s, p + 1, sp - p - 1);
    if (n < 0 || sp === p + 1) return "truncated line";
    conn = n;
    p = sp + 1;
  }
  return { time, level, pid, tid, conn, end: p };
}

/** The head of an `nginx: [level] ` line (nginx's own stderr); undefined when it is none. */
export function readStderrHead(s: string): Head | undefined {
  const level = levelAt(s, 8);
  if (level === undefined) return undefined;
  return {
    time: undefined,
    level,
    pid: undefined,
    tid: undefined,
    conn: undefined,
    end: 8 + level.length + 2,
  };
}
