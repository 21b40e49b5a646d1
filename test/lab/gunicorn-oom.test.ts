import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { diagnoseCli, labPerTest } from "./diagnose-cli.js";
import { gunicornOom } from "./gunicorn-oom.js";
import { startLab } from "./lab.js";
import { writeLabConfig } from "./lab-config.js";
import { alive } from "./procs.js";

const labs = labPerTest();

interface DiagnosisJson {
  verdicts: {
    target: string;
    cause: string;
    title: string;
    explain?: string;
    evidence: { text: string }[];
  }[];
}

describe("gunicorn's worker OOM-killed by the kernel, over real SSH", () => {
  it("gunicorn-oom: oom_killed names the worker, citing the kernel's kill and gunicorn's signal 9", async () => {
    const startedAt = new Date().toISOString();
    const lab = labs.started(await startLab({ scenario: "gunicorn-oom" }));
    const b = lab.backends[0];
    if (!b) throw new Error("the lab has no backend");
    const { workerPid, masterPid } = await gunicornOom(lab, b);
    expect(b.info.cgroup).not.toBeNull();

    const config = writeLabConfig(lab.info, join(lab.dir, "why502.yaml"));
    const since = new Date(Date.parse(startedAt) - 1000).toISOString();
    const { diagnosis } = await diagnoseCli<DiagnosisJson>(config, since);
    expect(diagnosis.verdicts.map((v) => `${v.target} ${v.cause}`)).toEqual([`${b.info.target} oom_killed`]);
    const v = diagnosis.verdicts[0];
    expect(v?.title).toBe(
      `A gunicorn worker on ${b.info.name} was OOM-killed by the kernel (pid ${workerPid})`,
    );
    const cited = v?.evidence.map((e) => e.text).join("\n") ?? "";
    expect(cited).toMatch(new RegExp(`out of memory: Killed process ${workerPid} \\(gunicorn\\)`));
    expect(cited).toMatch(
      new RegExp(`\\[WARNING\\] Worker with pid ${workerPid} was terminated due to signal 9`),
    );

    // Everything the lab started is gone once it stops, the memory cgroup too.
    const l = labs.release() ?? lab;
    await l.stop();
    expect([masterPid, workerPid, b.info.supervisorPid].filter(alive)).toEqual([]);
    for (const cg of l.info.cgroups) expect(existsSync(cg), cg).toBe(false);
  });
});
