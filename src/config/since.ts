import { UserError } from "../errors.js";
import { parseDuration } from "./duration.js";

/** How far back a window may reach unless the config says otherwise (`defaults.max_window`). */
export const DEFAULT_MAX_WINDOW_MS = 7 * 86_400_000;

export interface SinceOptions {
  /** The collector's clock, epoch ms. */
  now: number;
  /** The window's length when no start is given (`defaults.window`). */
  defaultMs: number;
  /** The longest window allowed (`defaults.max_window`). */
  maxMs: number;
  /** How the value is named in messages; default `--since`. */
  label?: string;
}

const UNITS: [number, string][] = [
  [86_400_000, "d"],
  [3_600_000, "h"],
  [60_000, "m"],
  [1000, "s"],
];

/** Milliseconds as the config writes them: `7d`, `90m`, `1500ms`; `1h30m` for mixed units. */
export function formatDuration(ms: number): string {
  if (ms <= 0 || !Number.isFinite(ms)) return `${ms}ms`;
  let rest = Math.round(ms);
  let out = "";
  for (const [size, unit] of UNITS) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return rest > 0 ? `${out}${rest}ms` : out;
}

const INSTANT =
  /^(\d{4})-(\d\d)-(\d\d)(?:[Tt ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,9}))?)?)?(?:([Zz])|([+-])(\d\d):?(\d\d))?$/;

/**
 * A point in time written as ISO 8601 with a zone (`2026-11-25T12:00:00Z`, `2026-11-25 13:00+01:00`):
 * epoch ms; `no_zone` when it is a time but says not in which zone; undefined when it is not a time.
 * Dates that do not exist (February 30, 25:00) are not times.
 */
export function parseInstant(text: string): number | "no_zone" | undefined {
  const m = INSTANT.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, hh = "00", mi = "00", ss = "00", frac = "", z, sign, oh = "00", om = "00"] = m;
  const parts = [Number(y), Number(mo) - 1, Number(d), Number(hh), Number(mi), Number(ss)] as const;
  const t = Date.UTC(...parts);
  const back = new Date(t);
  const same =
    back.getUTCFullYear() === parts[0] &&
    back.getUTCMonth() === parts[1] &&
    back.getUTCDate() === parts[2] &&
    back.getUTCHours() === parts[3] &&
    back.getUTCMinutes() === parts[4] &&
    back.getUTCSeconds() === parts[5];
  if (!same || Number(oh) > 23 || Number(om) > 59) return undefined;
  if (z === undefined && sign === undefined) return "no_zone";
  const offset = sign === undefined ? 0 : (sign === "-" ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000;
  return t + Math.floor(Number(`0.${frac || "0"}`) * 1000) - offset;
}

/** Why a window [since, until] cannot be diagnosed, as a phrase ("starts after it ends"); undefined when fine. */
export function windowProblem(since: number, until: number, maxMs: number): string | undefined {
  if (since > until) return "starts after it ends";
  if (since === until) return "is empty (it starts when it ends)";
  if (until - since > maxMs)
    return `is ${formatDuration(until - since)} long, more than ${formatDuration(maxMs)}`;
  return undefined;
}

function usage(message: string): UserError {
  return new UserError("usage", message);
}

function checkLength(ms: number, shown: string, opts: { maxMs: number; label: string }): void {
  if (ms <= 0) throw usage(`${opts.label} ${shown} is an empty window: give a length such as 30m.`);
  if (ms > opts.maxMs) {
    throw usage(
      `${opts.label} ${shown} reaches back more than the ${formatDuration(opts.maxMs)} allowed (defaults.max_window): ask for ${formatDuration(opts.maxMs)} or less, or raise defaults.max_window.`,
    );
  }
}

function noUnit(text: string, label: string): UserError | undefined {
  const s = text.trim();
  if (!/^\d+(\.\d+)?$/.test(s)) return undefined;
  return usage(`${label} "${s}" has no unit: write ${s}m for minutes (or ${s}s, ${s}h, ${s}d).`);
}

/**
 * A bare window length back from now, as a chat command gives it (`15m`, `2h`): the window start, epoch ms.
 * The same bounds and messages as parseSince; a number without a unit is refused.
 */
export function parseSinceDuration(
  text: string,
  opts: { now: number; maxMs: number; label?: string },
): number {
  const label = opts.label ?? "--since";
  const unitless = noUnit(text, label);
  if (unitless) throw unitless;
  const d = parseDuration(text);
  if (d === undefined) {
    throw usage(`${label} "${text.trim()}" is not a duration: write 15m, 2h or 1d.`);
  }
  checkLength(d, `"${text.trim()}"`, { maxMs: opts.maxMs, label });
  return opts.now - d;
}

/**
 * The window start (epoch ms) that `--since` asks for: a duration back from now (`30m`, `2h`), or a time with
 * a zone (`2026-11-25T12:00:00Z`); the default window when absent. A number without a unit, a time without a
 * zone, a start in the future and a window longer than `maxMs` are usage errors, each one sentence.
 */
export function parseSince(flag: string | undefined, opts: SinceOptions): number {
  const label = opts.label ?? "--since";
  if (flag === undefined) {
    checkLength(opts.defaultMs, formatDuration(opts.defaultMs), {
      maxMs: opts.maxMs,
      label: "defaults.window",
    });
    return opts.now - opts.defaultMs;
  }
  const text = flag.trim();
  const unitless = noUnit(text, label);
  if (unitless) throw unitless;
  if (parseDuration(text) !== undefined) return parseSinceDuration(text, opts);
  const t = parseInstant(text);
  if (t === "no_zone") {
    throw usage(
      `${label} "${text}" has no time zone: add Z for UTC or an offset, e.g. ${text}Z or ${text}+01:00.`,
    );
  }
  if (t === undefined) {
    throw usage(
      `${label} "${text}" is neither a duration nor a time: write 30m, 2h or 2026-11-25T12:00:00Z.`,
    );
  }
  if (t >= opts.now) {
    throw usage(
      `${label} ${text} is in the future (it is now ${new Date(opts.now).toISOString()}): the window must start before now.`,
    );
  }
  if (opts.now - t > opts.maxMs) {
    throw usage(
      `${label} ${text} is ${formatDuration(Math.floor((opts.now - t) / 60_000) * 60_000)} ago, more than the ${formatDuration(opts.maxMs)} allowed (defaults.max_window): start later, or raise defaults.max_window.`,
    );
  }
  return t;
}
