import { localToUtc, monthNumber, yearOf } from "./time.js";

/**
 * Wrappers that log shippers put around real lines: `docker logs --timestamps`, containerd / CRI-O log
 * files, compose prefixes (with their colours or the remnants of them), syslog and journald prefixes
 * (traditional, RFC 3339, with or without the `<PRI>` of the wire format), and ANSI colour. `unwrap`
 * strips them, outermost first, and returns the inner line plus the time the wrapper carried.
 */
export interface Unwrapped {
  readonly inner: string;
  /** Time from the wrapper, UTC ISO, when it had a full zoned stamp (docker, RFC 3339 syslog). */
  readonly wrapperTime?: string | undefined;
  /** `wrapperTime` in epoch milliseconds. */
  readonly wrapperMs?: number | undefined;
  /**
   * A zone-less syslog stamp as written (`Nov 25 13:19:16`, `avril 16 21:08:50.123`): local to the host
   * and without a year. Turn it into UTC with `syslogStampToUtc`.
   */
  readonly localStamp?: string | undefined;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes are control characters
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;
/** `docker logs --timestamps`, and containerd / CRI-O log files (`<stamp> stderr F <line>`, `P` for a part). */
const DOCKER_TS =
  /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)) (?:(?:stdout|stderr) [FP] )?/;
/** Docker and the CRI runtimes stamp in UTC with a `Z`; syslog's RFC 3339 stamps carry an offset. */
const Z_STAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z /;
/** `name-1  | `, `nginx_1 | `, `nginx.1    | `; a copied terminal may leave `|[0m ` (the escape lost). */
const COMPOSE = /^[A-Za-z0-9][\w.-]*\s*\|(?:\[[0-9;]*m)? ?/;
/**
 * `<163>Nov 25 13:19:16 vm nginx: `, `Nov 05 15:28:00 app nginx[30523]: `,
 * `2026-11-25T13:19:16+01:00 vm nginx: `, journald's short-precise `Aug 30 06:58:55.050705 host kernel: `.
 */
const SYSLOG =
  /^(?:<\d{1,3}>)?(?:([A-Za-z\u00C0-\u024F]{3,}\.? +\d{1,2} \d\d:\d\d:\d\d(?:\.\d+)?)|(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d))) \S+ [\w./@-]+(?:\[\d+\])?: /;

/** True when the line starts like `2026/11/25` (nginx error log, Go log): no wrapper to look for. */
export function startsWithSlashDate(line: string): boolean {
  const c0 = line.charCodeAt(0);
  return c0 >= 48 && c0 <= 57 && line.charCodeAt(4) === 47 && line.charCodeAt(7) === 47;
}

class UnwrappedLine implements Unwrapped {
  constructor(
    readonly inner: string,
    readonly wrapperMs: number | undefined,
    readonly localStamp: string | undefined,
  ) {}

  /** Computed on demand: most callers never look, and toISOString per line is measurable. */
  get wrapperTime(): string | undefined {
    return this.wrapperMs === undefined ? undefined : new Date(this.wrapperMs).toISOString();
  }
}

export function unwrap(line: string): Unwrapped {
  if (startsWithSlashDate(line)) return new UnwrappedLine(line, undefined, undefined);
  let inner = line.includes("\u001b") ? line.replace(ANSI, "") : line;
  let wrapperMs: number | undefined;
  let localStamp: string | undefined;
  for (let i = 0; i < 3; i++) {
    if (startsWithSlashDate(inner)) break;
    // `2026-...Z fatal error: x` is a runtime's stamp on a Go crash, not syslog's host `fatal` and tag `error`.
    const s = Z_STAMP.test(inner) ? null : SYSLOG.exec(inner);
    if (s) {
      if (s[1] !== undefined) localStamp ??= s[1];
      else if (s[2] !== undefined) wrapperMs ??= zonedToMs(s[2]);
      inner = inner.slice(s[0].length);
      continue;
    }
    const d = DOCKER_TS.exec(inner);
    if (d?.[1]) {
      wrapperMs ??= zonedToMs(d[1]);
      inner = inner.slice(d[0].length);
      continue;
    }
    const c = COMPOSE.exec(inner);
    if (c) {
      inner = inner.slice(c[0].length);
      continue;
    }
    break;
  }
  return new UnwrappedLine(inner, Number.isNaN(wrapperMs) ? undefined : wrapperMs, localStamp);
}

/** A compose prefix whose name a paste cut off: `| ` (maybe with its colour's remnant) at the start. */
const NAMELESS_COMPOSE = /^\|(?:\[[0-9;]*m)? ?/;

/**
 * A pasted line without its wrappers: leading spaces and a compose prefix cut before its `|` go too.
 * Trailing spaces stay (a log format may end a field with one).
 */
export function unwrapPasted(line: string): Unwrapped {
  return unwrap(line.trimStart().replace(NAMELESS_COMPOSE, ""));
}

/**
 * Only what a container runtime puts in front of a line (`docker logs --timestamps`, containerd / CRI-O,
 * compose, ANSI colour), not syslog's or journald's prefixes, which some parsers read as the line's own.
 */
export function unwrapRuntime(line: string): { inner: string; wrapperTime: string | undefined } {
  let inner = (line.includes("\u001b") ? line.replace(ANSI, "") : line).replace(NAMELESS_COMPOSE, "");
  let wrapperMs: number | undefined;
  // One runtime stamp at most: a second one is the line's own (journalctl -o short-iso, RFC 3339 syslog).
  for (let i = 0; i < 3; i++) {
    const d = wrapperMs === undefined ? DOCKER_TS.exec(inner) : null;
    if (d?.[1]) {
      wrapperMs = zonedToMs(d[1]);
      inner = inner.slice(d[0].length);
      continue;
    }
    const c = COMPOSE.exec(inner);
    if (!c) break;
    inner = inner.slice(c[0].length);
  }
  const ms = wrapperMs === undefined || Number.isNaN(wrapperMs) ? undefined : wrapperMs;
  return { inner, wrapperTime: ms === undefined ? undefined : new Date(ms).toISOString() };
}

const SYSLOG_STAMP = /^(\S+?)\.? +(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?$/;
const DAY_MS = 86_400_000;

/**
 * A zone-less, year-less syslog stamp (`Nov 25 13:19:16`, `Aug 30 06:58:55.050705`) -> UTC ISO. The year
 * is the one of `now`, or the one before when that would put the stamp more than a day after `now` (a
 * December line read in January). Month names other than English give undefined.
 */
export function syslogStampToUtc(
  stamp: string,
  utcOffsetMinutes: number,
  now: string | undefined,
): string | undefined {
  const m = SYSLOG_STAMP.exec(stamp);
  if (!m?.[1]) return undefined;
  const month = monthNumber(m[1]);
  if (month === undefined) return undefined;
  const millis = m[6] === undefined ? 0 : Number(m[6].slice(0, 3).padEnd(3, "0"));
  const at = (year: number) =>
    localToUtc(year, month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), millis, utcOffsetMinutes);
  const year = yearOf(now);
  const iso = at(year);
  const nowMs = now === undefined ? Number.NaN : Date.parse(now);
  if (iso !== undefined && !Number.isNaN(nowMs) && Date.parse(iso) > nowMs + DAY_MS) return at(year - 1);
  return iso;
}

let lastSecond = "";
let lastZone = "";
let lastBase = Number.NaN;

/** `2026-11-25T12:19:59.327915123Z` -> epoch ms. The date part is cached: stamps come in bursts. */
function zonedToMs(stamp: string): number {
  let i = 19;
  let frac = 0;
  if (stamp.charCodeAt(19) === 46 /* . */) {
    let scale = 100;
    for (i = 20; i < stamp.length; i++) {
      const d = stamp.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      frac += d * scale;
      scale /= 10;
    }
    frac = Math.floor(frac);
  }
  const zoneLength = stamp.length - i;
  if (!(stamp.startsWith(lastSecond) && lastZone.length === zoneLength && stamp.endsWith(lastZone))) {
    lastSecond = stamp.slice(0, 19);
    lastZone = stamp.slice(i);
    lastBase = Date.parse(lastSecond + lastZone);
  }
  return lastBase + frac;
}
