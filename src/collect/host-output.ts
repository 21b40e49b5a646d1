import type { Failure, FailureCode, HostBundle } from "../bundle/schema.js";
import type { CollectDeps } from "./collect-types.js";
import type { SectionResult } from "./sections.js";
import type { TransportError } from "./transport.js";

// What the runner reads out of one host's answer: failures by section and transport, the host's zone
// offset and addresses; and the bounded fan-out over hosts.

export const transportCode: Record<string, FailureCode> = {
  unreachable: "unreachable",
  auth_failed: "auth_failed",
  host_key_unknown: "host_key_unknown",
  host_key_mismatch: "host_key_mismatch",
  host_key_revoked: "host_key_revoked",
  timeout: "timeout",
  error: "error",
};

/** Why one section has no (or only part of its) output; `lost`: the connection was lost during the script. */
export function sectionFailure(
  r: SectionResult | undefined,
  incomplete: boolean,
  lost = false,
): Failure | undefined {
  if (incomplete && lost)
    return { code: "unreachable", message: "the connection was lost before the section finished" };
  if (incomplete)
    return { code: "timeout", message: "the section did not finish before the command timeout" };
  if (!r && lost) return { code: "unreachable", message: "not run: the connection was lost before it began" };
  if (!r) return { code: "error", message: "the section produced no output (the script stopped early)" };
  const first = r.stderr.trim().split("\n")[0] ?? "";
  if (r.timedOut) return { code: "timeout", message: `timed out${first ? `: ${first}` : ""}` };
  if (r.missing) return { code: "command_missing", message: first || "command not found" };
  if (r.denied) return { code: "permission_denied", message: first || "permission denied" };
  if (r.exitCode !== 0 && r.stdout === "" && first) return { code: "error", message: first };
  return undefined;
}

/** A host whose connection was lost after some sections arrived: the loss, and that what arrived is kept. */
export function partialFailure(lost: TransportError, arrived: number, total: number): Failure {
  return {
    code: transportCode[lost.code] ?? "unreachable",
    message: `${lost.message.replace(/\.$/, "")}; what arrived before is kept (partial: ${arrived} of ${total} sections).`,
  };
}

export function offsetOfZone(zone: string, atMs: number): number | undefined {
  try {
    const parts = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      timeZoneName: "longOffset",
    }).formatToParts(atMs);
    const name = parts.find((p) => p.type === "timeZoneName")?.value ?? "";
    const m = /GMT([+-])(\d\d):(\d\d)/.exec(name);
    if (!m) return name === "GMT" ? 0 : undefined;
    const mins = Number(m[2]) * 60 + Number(m[3]);
    return m[1] === "-" ? -mins : mins;
  } catch {
    return undefined;
  }
}

export function addressesOf(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(/\binet6? ([0-9a-fA-F:.]+)\//g)) if (m[1]) out.add(m[1]);
  if (out.size === 0)
    for (const w of text.trim().split(/\s+/)) if (/^[0-9a-fA-F:.]+$/.test(w) && w.length > 2) out.add(w);
  return [...out];
}

/** Run jobs with a concurrency limit; every job resolves (failures are outcomes). */
export async function runAll<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** A gateway that gave no answer at all in a later round: a host failure with the reason, not a crash. */
export function failedHost(name: string, deps: CollectDeps, message: string): HostBundle {
  const address = deps.resolve(name).address;
  return {
    name,
    address,
    role: "gateway",
    addresses: [address],
    commands: [],
    failure: { code: "error", message },
  };
}
