import type { Bundle, CommandOutput, HostBundle } from "../bundle/schema.js";
import { clockCorrectionMs, spokenDuration } from "./clock.js";

/** Whole-second stamps and the window's rounding: a log read from up to this late still covers the window. */
const START_SLACK_MS = 1_000;

/**
 * Why one gateway's nginx error log was not read over the whole window, as a phrase; undefined when it was.
 * Without every gateway's error log in full, "no errors" is not "healthy".
 */
function gap(host: HostBundle, windowSince: number): string | undefined {
  if (host.failure) return `${host.name} did not answer (${host.failure.code})`;
  const logs = host.commands.filter((c) => c.kind === "nginx-error");
  if (logs.length === 0) return `${host.name} named no error log to read`;
  for (const log of logs) {
    if (log.failure)
      return `${host.name}'s error log ${log.source} could not be read (${log.failure.code}: ${log.failure.message})`;
    if (log.truncated) return `${cutLog(host.name, log)}, so the window's start is missing`;
  }
  // The log was read from the window start as the host's clock gave it; on the collector's clock that must
  // not be after the window's start.
  const correction = clockCorrectionMs(host);
  const read = Date.parse(host.clock?.windowSince ?? "");
  const late = (Number.isNaN(read) ? windowSince : read) + correction - windowSince;
  if (late > START_SLACK_MS) {
    return `${host.name}'s clock is ${spokenDuration(correction)} slow and its logs were read from the window start by that clock, so the first ${spokenDuration(late)} of the window are missing`;
  }
  return undefined;
}

/** `gw's error log /var/log/nginx/error.log was cut to its last 16384 bytes (...)`: which host, which log, how much. */
function cutLog(host: string, log: CommandOutput): string {
  return `${host}'s error log ${log.source} was cut to its last ${Buffer.byteLength(log.stdout)} bytes (byte cap, or rotated files left unread)`;
}

/** Each gateway error log that was cut, said as a sentence (without its full stop), whatever was found in it. */
export function cutGatewayLogs(bundle: Bundle): string[] {
  return bundle.hosts
    .filter((h) => h.role === "gateway")
    .flatMap((h) =>
      h.commands.filter((c) => c.kind === "nginx-error" && c.truncated).map((c) => cutLog(h.name, c)),
    );
}

export interface LogGap {
  host: string;
  /** The host answered: what is missing is its log, not the host. */
  answered: boolean;
  /** What is missing, as a phrase naming the host. */
  missing: string;
}

/** For each gateway whose error log was not read over the whole window, what is missing. Pure. */
export function gatewayLogGaps(bundle: Bundle): LogGap[] {
  const since = Date.parse(bundle.window.since);
  const out: LogGap[] = [];
  for (const h of bundle.hosts) {
    if (h.role !== "gateway") continue;
    const missing = gap(h, since);
    if (missing) out.push({ host: h.name, answered: h.failure === undefined, missing });
  }
  return out;
}
