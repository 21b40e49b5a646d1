import { localToUtc } from "./time.js";

/** The number written in `count` decimal digits at `from`; -1 when one of them is not a digit. */
export function digitsAt(s: string, from: number, count: number): number {
  let n = 0;
  for (let i = from; i < from + count; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/** Two decimal digits at `at` of a string known to be long enough; -1 when they are not digits. */
function twoDigits(s: string, at: number): number {
  const a = s.charCodeAt(at) - 48;
  const b = s.charCodeAt(at + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/** The last stamp converted: lines come in bursts within the same second. */
let lastKey = -1;
let lastOffset = 0;
let lastIso: string | undefined;

/**
 * `yyyy/mm/dd HH:MM:SS` at the start of `s` (local time, `s` known to start with `dddd/dd/`) -> UTC ISO;
 * undefined when it is no real date, null when it is not such a stamp.
 */
export function stampToUtc(s: string, offset: number): string | undefined | null {
  if (s.charCodeAt(10) !== 32 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return null;
  if (s.length < 19) {
    // Cut inside the seconds: digitsAt reads past the end (NaN), which makes no date.
    const y = digitsAt(s, 0, 4);
    const mo = digitsAt(s, 5, 2);
    const d = digitsAt(s, 8, 2);
    const h = digitsAt(s, 11, 2);
    const mi = digitsAt(s, 14, 2);
    const sec = digitsAt(s, 17, 2);
    if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || sec < 0) return null;
    return localToUtc(y, mo, d, h, mi, sec, 0, offset);
  }
  const century = twoDigits(s, 0);
  const year = twoDigits(s, 2);
  const mo = twoDigits(s, 5);
  const d = twoDigits(s, 8);
  const h = twoDigits(s, 11);
  const mi = twoDigits(s, 14);
  const sec = twoDigits(s, 17);
  if (century < 0 || year < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || sec < 0) return null;
  const y = century * 100 + year;
  const key = ((((y * 100 + mo) * 100 + d) * 100 + h) * 100 + mi) * 100 + sec;
  if (key === lastKey && offset === lastOffset) return lastIso;
  const iso = localToUtc(y, mo, d, h, mi, sec, 0, offset);
  lastKey = key;
  lastOffset = offset;
  lastIso = iso;
  return iso;
}

const QUARTER_HOUR_MS = 900_000;
const WRAPPER_SLACK_MS = 120_000;

/**
 * The zone of nginx's local time, read off a zoned wrapper stamp (docker, RFC 3339 syslog) written when
 * the line was received: the difference rounded to a quarter hour, if the rest is within two minutes.
 * A container's zone often differs from its host's; a wrapper written later (a replay) tells nothing.
 */
export function offsetFromWrapper(inner: string, wrapperMs: number): number | undefined {
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
