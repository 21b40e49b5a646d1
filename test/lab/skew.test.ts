import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { diagnoseCli, labPerTest } from "./diagnose-cli.js";
import { startLab } from "./lab.js";
import { writeLabConfig } from "./lab-config.js";
import { runScenario } from "./scenarios.js";
import { SKEWED_CASES } from "./skew-cases.js";

const labs = labPerTest();

interface DiagnosisJson {
  status: string;
  summary: string;
  verdicts: { target: string; cause: string }[];
  hosts: { name: string; ok: boolean; skewMs?: number; clockCorrectionMs?: number }[];
  timeline: { time: string }[];
}

describe("a host whose clock is 10 minutes off gives the verdict it gives in time", () => {
  for (const c of SKEWED_CASES) {
    it(`${c.name}: ${c.skew.host} ${c.skew.seconds > 0 ? "fast" : "slow"}`, async () => {
      const lab = labs.started(await startLab({ scenario: c.scenario, skew: c.skew }));
      const summary = await runScenario(lab, c.scenario);
      const since = new Date(Date.parse(summary.startedAt) - 1000).toISOString();
      const config = writeLabConfig(lab.info, join(lab.dir, "why502.yaml"));
      const { diagnosis: d } = await diagnoseCli<DiagnosisJson>(config, since);
      const want = summary.expected.map((e) => `${e.target} ${e.verdict}`).sort();
      expect(d.verdicts.map((v) => `${v.target} ${v.cause}`).sort()).toEqual(want);
      expect(d.status).toBe("failing");

      // The skew was measured on the host, corrected in whole seconds, and said.
      const name = c.skew.host === "gateway" ? "gw" : c.skew.host;
      const host = d.hosts.find((h) => h.name === name);
      expect(Math.abs((host?.skewMs ?? 0) - c.skew.seconds * 1000)).toBeLessThan(500);
      expect(host?.clockCorrectionMs).toBe(-c.skew.seconds * 1000);
      const way = c.skew.seconds > 0 ? "fast" : "slow";
      const shift = `${c.skew.seconds > 0 ? "\u2212" : "+"}${Math.abs(c.skew.seconds)} s`;
      expect(d.summary).toContain(`${name}'s clock is 10 min ${way}; its events were shifted by ${shift}.`);
      for (const h of d.hosts.filter((x) => x.name !== name)) expect(h.clockCorrectionMs).toBeUndefined();

      // Every event of the timeline is inside the window, in order (to the second: within one, stamps of
      // whole seconds and of milliseconds go in the order the events cause each other).
      const times = d.timeline.map((e) => Date.parse(e.time));
      const seconds = times.map((t) => Math.floor(t / 1000));
      expect(times.length).toBeGreaterThan(0);
      expect([...seconds].sort((a, b) => a - b)).toEqual(seconds);
      for (const t of times) expect(t).toBeGreaterThanOrEqual(Date.parse(since) - 1000);
    });
  }
});
