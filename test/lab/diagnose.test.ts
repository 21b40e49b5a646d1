import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { diagnoseCli, labPerTest } from "./diagnose-cli.js";
import { type Lab, startLab } from "./lab.js";
import { writeLabConfig } from "./lab-config.js";
import { SCENARIOS, type ScenarioName } from "./lab-info.js";
import { ensurePm2, Pm2Unreachable } from "./pm2.js";
import { runScenario, type ScenarioSummary } from "./scenarios.js";

const labs = labPerTest();

interface DiagnosisJson {
  status: string;
  verdicts: { target: string; cause: string; title: string; evidence: { host: string; text: string }[] }[];
  hosts: { name: string; ok: boolean; failure?: { code: string } }[];
}

/** `why502 diagnose checkout` against the lab over real SSH, as a user runs it. */
async function diagnose(
  l: Lab,
  since: string,
  extraInstances: ScenarioSummary["extraInstances"],
): Promise<{ diagnosis: DiagnosisJson; stderr: string }> {
  const config = writeLabConfig(l.info, join(l.dir, "why502.yaml"), { extraInstances });
  return diagnoseCli<DiagnosisJson>(config, since);
}

describe("why502 diagnose over SSH against the lab", () => {
  // socket.test.ts and gunicorn-oom.test.ts diagnose their scenarios, with more to check.
  for (const scenario of SCENARIOS.filter((s) => !s.startsWith("socket-") && s !== "gunicorn-oom")) {
    it(`${scenario}: the right verdict for each failing target`, async (ctx) => {
      // Only a registry that cannot be reached skips a PM2 scenario (test/lab/pm2.ts).
      if (scenario.endsWith("-pm2")) {
        const unreachable = await ensurePm2().then(
          () => undefined,
          (err: unknown) => (err instanceof Pm2Unreachable ? err.message : undefined),
        );
        if (unreachable) ctx.skip(unreachable);
      }
      const lab = labs.started(await startLab({ scenario: scenario as ScenarioName }));
      const summary = await runScenario(lab, scenario as ScenarioName);
      const since = new Date(Date.parse(summary.startedAt) - 1000).toISOString();
      const { diagnosis, stderr } = await diagnose(lab, since, summary.extraInstances);

      // Only the inventory hosts the lab does not run (host-down) fail, and as unreachable.
      expect(diagnosis.hosts.filter((h) => !h.ok).map((h) => [h.name, h.failure?.code])).toEqual(
        summary.extraInstances.map((e) => [e.name, "unreachable"]),
      );
      expect(stderr).toMatch(/collecting: \d+\/\d+ hosts answered/);
      const want = summary.expected
        .filter((e) => e.verdict !== "healthy")
        .map((e) => `${e.target} ${e.verdict}`)
        .sort();
      const got = diagnosis.verdicts.map((v) => `${v.target} ${v.cause}`).sort();
      expect(got).toEqual(want);
      expect(diagnosis.status).toBe(want.length === 0 ? "healthy" : "failing");
      for (const v of diagnosis.verdicts) expect(v.evidence.length).toBeGreaterThan(0);
      // An OOM verdict cites the kernel's own kill line, with the victim's pid.
      for (const v of diagnosis.verdicts.filter((x) => x.cause === "oom_killed")) {
        expect(v.evidence.map((e) => e.text).join("\n")).toMatch(
          /Memory cgroup out of memory: Killed process \d+ \(node\)/,
        );
      }
      // A runtime that ended its own work is cited in its own words, and its limit from its command line.
      for (const v of diagnosis.verdicts.filter((x) => x.cause === "worker_timeout")) {
        expect(v.title).toMatch(/^gunicorn killed 3 workers .* after its 2 s timeout \(--timeout 2\)/);
        const cited = v.evidence.map((e) => e.text).join("\n");
        expect(cited).toMatch(/\[CRITICAL\] WORKER TIMEOUT \(pid:\d+\)/);
        expect(cited).toMatch(/\/usr\/bin\/gunicorn .*--timeout 2 /);
      }
      for (const v of diagnosis.verdicts.filter((x) => x.cause === "heap_exhausted")) {
        expect(v.title).toMatch(/ran out of its 32 MiB Java heap \(-Xmx32m\)$/);
        const cited = v.evidence.map((e) => e.text).join("\n");
        expect(cited).toMatch(/^Terminating due to java\.lang\.OutOfMemoryError: Java heap space$/m);
        expect(cited).toMatch(/status=3\/NOTIMPLEMENTED/);
      }
    });
  }
});
