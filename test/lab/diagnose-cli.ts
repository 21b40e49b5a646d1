import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterEach } from "vitest";
import type { Lab } from "./lab.js";

const execFileAsync = promisify(execFile);

/** The CLI as a user runs it (`npm ci` builds dist). */
export const bin = new URL("../../bin/why502.js", import.meta.url).pathname;

/**
 * The lab of the test running now, stopped after each test whether it passed or failed. Call once at the top
 * of a test file; `started` records a lab as soon as it is up, `release` hands it back to stop by hand.
 */
export function labPerTest(): { started<L extends Lab>(l: L): L; release(): Lab | undefined } {
  let current: Lab | undefined;
  afterEach(async () => {
    const l = current;
    current = undefined;
    await l?.stop();
  });
  return {
    started(l) {
      current = l;
      return l;
    },
    release() {
      const l = current;
      current = undefined;
      return l;
    },
  };
}

/** `why502 diagnose checkout --config CONFIG --since SINCE --json [more]` over real SSH, as a user runs it. */
export async function diagnoseCli<T>(
  config: string,
  since: string,
  more: string[] = [],
): Promise<{ diagnosis: T; stderr: string }> {
  const { stdout, stderr } = await execFileAsync(
    process.execPath,
    [bin, "diagnose", "checkout", "--config", config, "--since", since, "--json", ...more],
    { timeout: 60_000 },
  );
  return { diagnosis: JSON.parse(stdout) as T, stderr };
}
