/**
 * One-line app-log shapes: timestamps (Go LstdFlags, ISO, python logging, logback, journald prefixes), levels,
 * logrus logfmt/JSON lines, and signal numbers. Worker-server lines are in app-workers.ts, multi-line crash
 * reports in app-blocks.ts.
 */
import type { AppFields } from "./app-schema.js";
import { localToUtc, monthNumber, parseOffset, yearOf } from "./time.js";
import type { CauseId } from "./types.js";

const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGSEGV: 11,
  SIGPIPE: 13,
  SIGTERM: 15,
};

export const signalNumber = (name: string): number | undefined => SIGNALS[name.toUpperCase()];

/** What a worker's death by signal points to: a crash, a kill (OOM killer, supervisor) or nothing special. */
export function signalCause(signal: number | undefined): CauseId | undefined {
  if (signal === 11 || signal === 7 || signal === 4 || signal === 8) return "segfault";
  if (signal === 9) return "service_killed";
  return undefined;
}

/** Milliseconds of a fraction of a second as printed (`123456` -> 123). */
export const millis = (frac: string | undefined): number =>
  frac ? Number(frac.slice(0, 3).padEnd(3, "0")) : 0;

// Go log.LstdFlags (`2014/02/25 21:05:15 msg`, optional Lmicroseconds): local time.
const LSTD = /^(\d{4})\/(\d\d)\/(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d+))? (.*)$/;
// ISO 8601 with `T` or a space, `.` or `,` before the fraction, optional zone (python logging, logback, JS).
const ISOISH = /^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d+))?(Z|[+-]\d\d:?\d\d)? +(.*)$/;
// uWSGI's log-date prefix: `Wed Nov 25 12:21:32 2026 - `, local time.
const CTIME_DASH =
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([A-Z][a-z]{2}) +(\d{1,2}) (\d\d):(\d\d):(\d\d) (\d{4}) - (.*)$/;

export interface Stamped {
  time: string | undefined;
  rest: string;
  shape: "lstd" | "iso" | "ctime";
}

/** A leading timestamp in one of the common app-log shapes; zone-less ones are local to the host. */
export function readStamp(line: string, utcOffsetMinutes: number): Stamped | undefined {
  let m = LSTD.exec(line);
  if (m) {
    const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as number[];
    const time = localToUtc(y ?? 0, mo ?? 0, d ?? 0, h ?? 0, mi ?? 0, s ?? 0, millis(m[7]), utcOffsetMinutes);
    return { time, rest: m[8] ?? "", shape: "lstd" };
  }
  m = ISOISH.exec(line);
  if (m) {
    const offset = m[8] === undefined ? utcOffsetMinutes : parseOffset(m[8]);
    if (offset === undefined) return undefined;
    const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as number[];
    const time = localToUtc(y ?? 0, mo ?? 0, d ?? 0, h ?? 0, mi ?? 0, s ?? 0, millis(m[7]), offset);
    return { time, rest: m[9] ?? "", shape: "iso" };
  }
  m = CTIME_DASH.exec(line);
  if (m) {
    const month = monthNumber(m[1] ?? "");
    if (month === undefined) return undefined;
    const [d, h, mi, s, y] = [m[2], m[3], m[4], m[5], m[6]].map(Number) as number[];
    const time = localToUtc(y ?? 0, month, d ?? 0, h ?? 0, mi ?? 0, s ?? 0, 0, utcOffsetMinutes);
    return { time, rest: m[7] ?? "", shape: "ctime" };
  }
  return undefined;
}

// journald / syslog around the app's own line: `Nov 25 12:28:22 vm checkout[15480]: ` (`-o short[-precise]`).
const SYSLOG_PREFIX =
  /^([A-Z][a-z]{2}) +(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.(\d+))? \S+ [^\s:[]+(?:\[\d+\])?: /;

/** Time of a syslog/journald prefix (local, year-less: the year of `now`, or the one before if in the future). */
export function syslogTime(
  line: string,
  utcOffsetMinutes: number,
  now: string | undefined,
): string | undefined {
  const m = SYSLOG_PREFIX.exec(line);
  const month = m ? monthNumber(m[1] ?? "") : undefined;
  if (!m || month === undefined) return undefined;
  const [d, h, mi, s] = [m[2], m[3], m[4], m[5]].map(Number) as number[];
  let year = yearOf(now);
  const nowMs = now === undefined ? Number.NaN : Date.parse(now);
  if (!Number.isNaN(nowMs) && Date.UTC(year, month - 1, d ?? 0) - nowMs > 2 * 86_400_000) year--;
  return localToUtc(year, month, d ?? 0, h ?? 0, mi ?? 0, s ?? 0, millis(m[6]), utcOffsetMinutes);
}

const LEVEL_TOKEN =
  /^\[?(trace|debug|info|notice|warn|warning|error|err|crit|critical|fatal|severe|panic|emerg|alert)\]?:?$/i;
const LEVEL_ALIASES: Record<string, string> = { warning: "warn", err: "error", crit: "critical" };
const SERIOUS = new Set(["error", "critical", "fatal", "severe", "panic", "emerg", "alert"]);
// Words of a last line before a deliberate exit (`log.Fatal(err)`), for lines that carry no level.
const FATALISH =
  /\b(fatal|panic|cannot|can't|could not|couldn't|unable to|failed|failure|error|refused|denied|not found|no such|already in use|invalid|missing|timed? ?out|exiting|bind)\b/i;

export const normaliseLevel = (level: string): string => {
  const l = level.toLowerCase();
  return LEVEL_ALIASES[l] ?? l;
};

/** The level named in the first few words of a log message (`INFO`, `[main] INFO`, `[error]`). */
function levelOf(rest: string): string | undefined {
  for (const token of rest.split(/\s+/, 4)) {
    const m = LEVEL_TOKEN.exec(token);
    if (m?.[1]) return normaliseLevel(m[1]);
  }
  return undefined;
}

/**
 * An ordinary stamped log line. `fatalCandidate` marks what could be the last line of a deliberate exit:
 * a serious level, or (no level, as Go's log.Fatal prints) fatal-ish words; its level is then guessed as
 * `error`. Only the facts layer knows whether it really was the last line before the process exited.
 */
export function logLine(rest: string): AppFields {
  const level = levelOf(rest);
  if (level !== undefined) {
    return { signature: "log_line", level, message: rest, fatalCandidate: SERIOUS.has(level) || undefined };
  }
  if (FATALISH.test(rest))
    return { signature: "log_line", level: "error", message: rest, fatalCandidate: true };
  return { signature: "log_line", message: rest };
}

/** `key=value key="quoted \"value\""` pairs, or undefined when the line is not entirely logfmt. */
function logfmt(line: string): Map<string, string> | undefined {
  const pairs = new Map<string, string>();
  const re = /\s*([\w.-]+)=(?:"((?:[^"\\]|\\.)*)"|([^\s"]*))/y;
  let at = 0;
  while (at < line.length) {
    re.lastIndex = at;
    const m = re.exec(line);
    if (!m?.[1]) return undefined;
    pairs.set(m[1], m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : (m[3] ?? ""));
    at = re.lastIndex;
    if (/^\s*$/.test(line.slice(at))) break;
  }
  return pairs;
}

function zonedTime(value: unknown): string | undefined {
  if (typeof value === "number" && Number.isFinite(value)) return new Date(value * 1000).toISOString();
  if (
    typeof value !== "string" ||
    !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)$/.test(value)
  ) {
    return undefined;
  }
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

function structured(level: string, msg: string, error: string | undefined, time: unknown): AppFields {
  const l = normaliseLevel(level);
  return {
    signature: "logrus",
    level: l,
    summary: error ? `${msg}: ${error}` : msg,
    time: zonedTime(time),
    // logrus and zap exit(1) after a fatal-level line; other serious levels may or may not be the last words.
    cause: l === "fatal" ? "log_fatal" : undefined,
    fatalCandidate: SERIOUS.has(l) || undefined,
  };
}

/** logrus/logfmt `time="..." level=fatal msg="..."` or a JSON line with level and msg (logrus, zap). */
export function structuredLine(line: string): AppFields | undefined {
  if (line.startsWith("{") && line.endsWith("}")) {
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch {
      return undefined;
    }
    if (typeof o !== "object" || o === null) return undefined;
    const r = o as Record<string, unknown>;
    const level = r.level ?? r.severity;
    const msg = r.msg ?? r.message;
    if (typeof level !== "string" || typeof msg !== "string") return undefined;
    const error = typeof r.error === "string" ? r.error : undefined;
    return structured(level, msg, error, r.time ?? r.ts ?? r.timestamp);
  }
  if (!/\blevel=/.test(line)) return undefined;
  const kv = logfmt(line);
  const level = kv?.get("level");
  const msg = kv?.get("msg");
  if (!kv || level === undefined || msg === undefined) return undefined;
  return structured(level, msg, kv.get("error"), kv.get("time") ?? kv.get("ts"));
}
