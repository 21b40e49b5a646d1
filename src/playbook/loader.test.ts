import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { userErrorOf } from "../../test/support/user-error.js";
import { parsePlaybook } from "./loader.js";

const file = new URL("../../playbooks/why502.yaml", import.meta.url);
const good = readFileSync(file, "utf8");

const errorOf = (text: string) => userErrorOf(() => parsePlaybook(text, "pb.yaml"), "playbook");

describe("playbook loader", () => {
  it("loads the built-in playbook with every step and verdict checked", () => {
    const p = parsePlaybook(good, "why502.yaml");
    expect(Object.keys(p.spec.verdicts)).toContain("oom_killed");
    expect(p.spec.start).toBe("errors");
  });

  it("names file, line, column and the CEL problem for a misspelt fact", () => {
    const bad = good.replace("- when: target.oomKilled\n", "- when: target.oomKiled\n");
    expect(errorOf(bad)).toMatch(
      /^pb\.yaml:\d+:\d+: steps\.why_died\.branches\[0\]\.when: CEL expression `target\.oomKiled` is invalid: No such key: oomKiled\.$/,
    );
  });

  it("rejects a condition that is not a bool before anything runs", () => {
    const bad = good.replace("- when: errors.dns > 0.0", "- when: errors.dns + 1.0");
    expect(errorOf(bad)).toMatch(
      /steps\.errors\.branches\[1\]\.when: CEL condition `errors\.dns \+ 1\.0` must be a bool, it is double\.$/,
    );
  });

  it("rejects a branch to a verdict that does not exist, pointing at its line", () => {
    const bad = good.replace("verdict: dns\n", "verdict: dnss\n");
    const msg = errorOf(bad);
    const line = good.split("\n").findIndex((l) => l.includes("verdict: dns")) + 1;
    expect(msg).toBe(`pb.yaml:${line}:18: steps.errors.branches[1].verdict: no verdict named "dnss".`);
  });

  it("rejects unknown keys and bad enum values with what was expected", () => {
    expect(errorOf(good.replace("    ask: Which errors", "    asks: x\n    ask: Which errors"))).toMatch(
      /steps\.errors: unknown key "asks"\.$/,
    );
    expect(errorOf(good.replace("confidence: high", "confidence: sure"))).toMatch(
      /confidence: .*"high"\|"medium"\|"low"\.$/,
    );
  });

  it("rejects broken templates in verdict text", () => {
    const bad = good.replace(
      "cannot resolve the backend name {{ target.address }}",
      "cannot resolve {{ target.adress }}",
    );
    expect(errorOf(bad)).toMatch(/verdicts\.dns\.title: CEL expression `target\.adress` is invalid/);
  });

  it("rejects loops between steps", () => {
    const bad = good.replace("otherwise: { verdict: inconclusive }", "otherwise: { goto: errors }");
    expect(errorOf(bad)).toMatch(
      /steps\.timing: steps loop back on themselves \(errors -> restart -> socket -> timing -> errors\)\.$/,
    );
  });

  it("reports invalid YAML with its position", () => {
    expect(errorOf("playbook: x\nsteps: [\n")).toMatch(/^pb\.yaml:\d+:\d+: invalid YAML: /);
  });
});
