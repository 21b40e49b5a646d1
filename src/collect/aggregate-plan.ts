import { aggregateFields } from "./aggregate-fields.js";
import type { PlannedSection } from "./plan.js";

/** Distinct (minute, status, upstream) keys a host may count; a two-hour window with 50 peers fits. */
export const AGGREGATE_MAX_KEYS = 20_000;
/** Bytes of counts a host may send: about 50 bytes a key, and room for long upstream names. */
export const AGGREGATE_MAX_BYTES = 2 * 1024 * 1024;
/** Seconds of counting allowed on a host: several GB at the 100-300 MB/s mawk reads an access log. */
export const AGGREGATE_TIMEOUT_SECONDS = 90;

export interface AggregateRequest {
  /** The access log, absolute. */
  path: string;
  /** Its log_format string (quoted parts joined), as `options.format` of nginx-access. */
  format: string;
  /** The window, epoch seconds in the collector's clock, both ends included. */
  sinceEpochSeconds: number;
  untilEpochSeconds: number;
  maxKeys?: number;
  maxBytes?: number;
  timeoutSeconds?: number;
}

const iso = (s: number) => new Date(s * 1000).toISOString().replace(".000Z", "Z");

/**
 * The `nginx-access-aggregate` section for one gateway: counts of the access log and its rotations over the
 * window per UTC minute, status and upstream, made on the host by a fixed awk program that gets only the
 * field positions (integers derived here from the format). Returns why not when the format cannot be
 * counted that way.
 */
export function aggregateSection(req: AggregateRequest): PlannedSection | { error: string } {
  const fields = aggregateFields(req.format);
  if ("error" in fields) return { error: fields.error };
  const maxKeys = req.maxKeys ?? AGGREGATE_MAX_KEYS;
  const maxBytes = req.maxBytes ?? AGGREGATE_MAX_BYTES;
  const timeoutSeconds = req.timeoutSeconds ?? AGGREGATE_TIMEOUT_SECONDS;
  return {
    template: "nginx-access-aggregate",
    spec: {
      id: "nginx-access-aggregate",
      type: "log-aggregate",
      path: req.path,
      fields,
      sinceEpochSeconds: req.sinceEpochSeconds,
      untilEpochSeconds: req.untilEpochSeconds,
      maxKeys,
      maxBytes,
      timeoutSeconds,
    },
    kind: "nginx-access-aggregate",
    source: req.path,
    display:
      `count ${req.path} (and rotated files) per UTC minute, status and upstream from ` +
      `${iso(req.sinceEpochSeconds)} to ${iso(req.untilEpochSeconds)} with awk on the host; only the counts ` +
      `are sent (at most ${maxKeys} keys, ${maxBytes} bytes, ${timeoutSeconds} s)`,
    options: { format: req.format },
  };
}
