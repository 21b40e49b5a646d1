import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { Bundle } from "../bundle/schema.js";

/**
 * The worker diagnoser runs the compiled worker (dist/, built by `npm ci` and `npm run build`): from
 * TypeScript sources it diagnoses in process, so these tests load the compiled module.
 */
const root = fileURLToPath(new URL("../../", import.meta.url));
const compiled = `${root}dist/investigate/diagnoser.js`;
const playbook = `${root}playbooks/why502.yaml`;
const bundle = JSON.parse(readFileSync(`${root}playbooks/cases/lab-oom/bundle.json`, "utf8")) as Bundle;

type Module = typeof import("./diagnoser.js");
const load = async (): Promise<Module> => (await import(compiled)) as Module;

describe.skipIf(!existsSync(compiled))("the worker diagnoser's budget", () => {
  it("diagnoses on the worker within the default budget", async () => {
    const d = (await load()).workerDiagnoser(playbook);
    try {
      const r = await d.diagnose(bundle);
      const diagnosis = "archive" in r ? r.diagnosis : r;
      expect(diagnosis.verdicts.map((v) => v.cause)).toContain("oom_killed");
    } finally {
      await d.close();
    }
  });

  it("stops a diagnosis over its time budget with one sentence, and the next one gets a new worker", async () => {
    const d = (await load()).workerDiagnoser(playbook, [], { ms: 1 });
    try {
      const why =
        "the diagnosis took longer than 1 ms and was stopped (a playbook expression or the evidence is too costly)";
      await expect(d.diagnose(bundle)).rejects.toThrow(why);
      await expect(d.diagnose(bundle)).rejects.toThrow(why);
    } finally {
      await d.close();
    }
  });

  it("stops a diagnosis over its heap budget with one sentence", async () => {
    const d = (await load()).workerDiagnoser(playbook, [], { heapMb: 8 });
    const big: Bundle = {
      ...bundle,
      hosts: bundle.hosts.map((h) => ({
        ...h,
        commands: h.commands.map((c) =>
          c.kind === "nginx-error"
            ? { ...c, stdout: c.stdout.repeat(Math.ceil(64e6 / (c.stdout.length + 1))) }
            : c,
        ),
      })),
    };
    try {
      await expect(d.diagnose(big)).rejects.toThrow(
        "the diagnosis needed more than 8 MB and was stopped (a playbook expression or the evidence is too costly)",
      );
    } finally {
      await d.close();
    }
  });
});
