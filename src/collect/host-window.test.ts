import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cmd, logWin, NONCE, nginxLine, sh, wall } from "../../test/support/run-script.js";
import { buildScript } from "./script.js";
import { parseClock, splitSections } from "./sections.js";

const dir = mkdtempSync(join(tmpdir(), "why502-host-window-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * This machine plays the host; the collector's clock is `hostAhead` seconds behind it (a host 600 s fast) or
 * ahead of it (negative: a host 600 s slow). The log is stamped in the host's clock, as a skewed host's is.
 */
async function collectFrom(hostAhead: number, withReference: boolean) {
  const hostNow = Math.floor(Date.now() / 1000);
  const log = join(dir, `error-${hostAhead}-${withReference}.log`);
  // host-clock stamps: 400 s ago is before the window, 200 s ago inside it
  writeFileSync(log, `${nginxLine(wall(hostNow - 400, 0), 1)}${nginxLine(wall(hostNow - 200, 0), 2)}`);
  const collectorNow = hostNow - hostAhead;
  const script = buildScript(
    [{ id: "clock", type: "clock" }, logWin("log", log), cmd("since", 'echo "$W_SINCE"')],
    {
      sinceEpochSeconds: collectorNow - 300,
      ...(withReference ? { collectorEpochSeconds: collectorNow } : {}),
      nonce: NONCE,
    },
  );
  const run = await sh(script, { env: { TZ: "UTC" } });
  const { sections } = splitSections(run.stdout, run.stderr, NONCE);
  const clock = sections.get("clock");
  if (!clock) throw new Error("no clock section");
  const raw = parseClock(clock);
  if ("error" in raw) throw new Error(raw.error);
  return {
    conns: [...(sections.get("log")?.stdout ?? "").matchAll(/\*(\d+) connect/g)].map((m) => Number(m[1])),
    since: Number(sections.get("since")?.stdout.trim()),
    reported: raw.windowSinceSeconds,
    hostNow,
    collectorNow,
  };
}

describe("the window start in the host's own clock", () => {
  it("a host 10 min fast reads from the window start as its clock says it, not 10 more minutes", async () => {
    const r = await collectFrom(600, true);
    expect(r.conns).toEqual([2]);
    // the host's offset plus at most a second of rounding, 2 s early
    expect(r.since - (r.collectorNow - 300 + 600)).toBeGreaterThanOrEqual(-3);
    expect(r.since - (r.collectorNow - 300 + 600)).toBeLessThanOrEqual(0);
    expect(r.reported).toBe(r.since);
    // without the collector's clock the host would read from the collector's start
    expect((await collectFrom(600, false)).conns).toEqual([1, 2]);
  });

  it("a host 10 min slow still reads its whole window, which it would otherwise miss", async () => {
    const r = await collectFrom(-600, true);
    expect(r.conns).toEqual([2]);
    expect(r.since - (r.hostNow - 300)).toBeGreaterThanOrEqual(-3);
    expect(r.since - (r.hostNow - 300)).toBeLessThanOrEqual(0);
    expect((await collectFrom(-600, false)).conns).toEqual([]);
  });

  it("leaves a host within a second or two of the collector alone", async () => {
    const r = await collectFrom(0, true);
    expect(r.since).toBe(r.collectorNow - 300);
    expect(r.conns).toEqual([2]);
  });
});
