import { expect } from "vitest";
import type { Config } from "../../src/config/schema.js";
import { assertAllowlisted } from "./allowlist.js";
import { masked, plannedScripts, type SentScript, windowStart } from "./script-check.js";

/** Each service's scripts for the default window: what any accepted input must reproduce, windows aside. */
export async function referenceScripts(config: Config, now: number): Promise<Map<string, SentScript[]>> {
  const out = new Map<string, SentScript[]>();
  for (const s of Object.keys(config.services))
    out.set(s, await plannedScripts(config, s, now - config.defaults.window, now));
  return out;
}

/**
 * The property every accepted input must meet: the service's reference scripts, byte for byte but for the
 * window start (W_SINCE, which is the accepted window's, within defaults.max_window of now).
 */
export function expectReferencePlan(
  reference: Map<string, SentScript[]>,
  config: Config,
  now: number,
  service: string,
  sent: SentScript[],
  sinceMs: number,
): void {
  const ref = reference.get(service);
  expect(ref, `${service} is a service of the config`).toBeDefined();
  expect(sent.map((s) => s.host)).toEqual(ref?.map((s) => s.host));
  sent.forEach((s, i) => {
    assertAllowlisted(s.script, config);
    expect(masked(s.script)).toBe(masked(ref?.[i]?.script ?? ""));
    expect(windowStart(s.script)).toBe(Math.floor(sinceMs / 1000));
  });
  expect(sinceMs).toBeGreaterThanOrEqual(now - config.defaults.max_window);
  expect(sinceMs).toBeLessThan(now);
}
