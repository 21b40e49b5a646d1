import type { HostBundle } from "../bundle/schema.js";
import { plainRecord } from "../evidence/nginx-error-record.js";

/**
 * Skews smaller than this are left alone: the measurement itself is only good to about half a round trip,
 * and most log stamps have whole seconds.
 */
export const SKEW_TOLERANCE_MS = 2_000;

/**
 * What to add to a host's stamps to put them on the collector's clock: minus the host's measured skew, in
 * whole seconds so that whole-second stamps stay on whole seconds; 0 when the skew is within tolerance or
 * was not measured.
 */
export function clockCorrectionMs(host: HostBundle): number {
  const skew = host.clock?.skewMs;
  if (skew === undefined || !Number.isFinite(skew) || Math.abs(skew) < SKEW_TOLERANCE_MS) return 0;
  return -Math.round(skew / 1000) * 1000 || 0;
}

/** A UTC instant as parsers write them. */
const INSTANT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z$/;
/** Fields that hold host text, never an instant to move, even when the text looks like one. */
const TEXT_FIELDS = new Set(["host", "source", "text", "message", "line"]);

/**
 * The record with every instant it carries (its `time`, and fields such as `startTime` or a unit's
 * timestamps) moved by `ms`. Records keep their original text: the cited line shows the host's own stamp.
 */
export function shiftRecord<R extends object>(record: R, ms: number): R {
  if (ms === 0) return record;
  const out = { ...plainRecord(record) } as Record<string, unknown>;
  for (const [key, value] of Object.entries(out)) {
    if (typeof value !== "string" || TEXT_FIELDS.has(key) || !INSTANT.test(value)) continue;
    const t = Date.parse(value);
    if (!Number.isNaN(t)) out[key] = new Date(t + ms).toISOString();
  }
  return out as R;
}

/** `10 min`, `45 s`, `2 h 5 min`: a skew as a person says it. */
export function spokenDuration(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} min`;
}

/** `checkout-1's clock is 10 min fast; its events were shifted by −600 s`. */
export function correctionNote(host: string, correctionMs: number): string {
  const s = Math.round(correctionMs / 1000);
  const way = correctionMs < 0 ? "fast" : "slow";
  const sign = s < 0 ? "\u2212" : "+";
  return `${host}'s clock is ${spokenDuration(correctionMs)} ${way}; its events were shifted by ${sign}${Math.abs(s)} s`;
}
