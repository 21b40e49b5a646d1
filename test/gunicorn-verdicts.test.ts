import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Bundle } from "../src/bundle/schema.js";
import { diagnoseBundle } from "../src/diagnosis/diagnose.js";
import { parsePlaybook } from "../src/playbook/loader.js";

const root = new URL("../", import.meta.url);
const playbook = parsePlaybook(
  readFileSync(new URL("playbooks/why502.yaml", root), "utf8"),
  "playbooks/why502.yaml",
);
const recorded = (name: string) =>
  Bundle.parse(JSON.parse(readFileSync(new URL(`playbooks/cases/${name}/bundle.json`, root), "utf8")));

describe("gunicorn's verdicts in words", () => {
  it("an OOM-killed worker: the master kept running and booted a new worker", () => {
    const [v] = diagnoseBundle(recorded("lab-gunicorn-oom"), playbook).verdicts;
    expect(v?.cause).toBe("oom_killed");
    expect(v?.title).toMatch(/^A gunicorn worker on checkout-1 was OOM-killed by the kernel \(pid \d+\)$/);
    expect(v?.explanation).toMatch(
      /a worker of gunicorn, which logged its death by signal 9 and started a new worker/,
    );
    expect(v?.explanation).toMatch(/its master kept running as pid \d+/);
    expect(v?.explanation).not.toMatch(/running again|until it came back/);
    expect(v?.nextSteps.join("\n")).toMatch(/--max-requests recycles workers/);
  });

  it("a worker timeout whose value is not in the args says where else gunicorn takes it from", () => {
    const bundle = recorded("lab-worker-timeout");
    // Without ps, its command line is unknown: the --timeout 2 the lab ran it with is not seen.
    for (const h of bundle.hosts) h.commands = h.commands.filter((c) => c.kind !== "ps");
    const [v] = diagnoseBundle(bundle, playbook).verdicts;
    expect(v?.cause).toBe("worker_timeout");
    expect(v?.title).toMatch(/after its timeout; the handler needs longer$/);
    expect(v?.explanation).toMatch(
      /not in its command line's arguments: gunicorn also takes it from the environment \(GUNICORN_CMD_ARGS="--timeout N"\) and from its config file \(-c FILE, by default gunicorn\.conf\.py in its working directory: timeout = N\), and is 30 s by default/,
    );
  });
});
