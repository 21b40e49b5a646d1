import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { userErrorOf } from "../../test/support/user-error.js";
import { loadBundle } from "../bundle/load.js";
import { diagnoseBundle } from "../diagnosis/diagnose.js";
import { UserError } from "../errors.js";
import { CEL_LIMITS, excerpt } from "./cel-limits.js";
import { MAX_WALK_STEPS, parsePlaybook, walkSteps } from "./loader.js";
import type { PlaybookSpec } from "./schema.js";

const root = new URL("../../", import.meta.url).pathname;
const good = readFileSync(`${root}playbooks/why502.yaml`, "utf8");
const SHOW = `string(int(target.errorCount)) + " errors, statuses " + target.statuses.map(s, string(int(s))).join(", ")`;

const errorOf = (text: string) => userErrorOf(() => parsePlaybook(text, "pb.yaml"), "playbook");

/** The built-in playbook with the first step's `show` replaced. */
const withShow = (expr: string) => good.replace(SHOW, expr.replace(/\n/g, " "));

/** A chain of `n` steps, each going to the next, the last to a verdict. */
function chain(n: number): string {
  let text = "playbook: chain\nstart: s0\nsteps:\n";
  for (let i = 0; i < n; i++)
    text += `  s${i}:\n    ask: a\n    otherwise: { ${i + 1 < n ? `goto: s${i + 1}` : "verdict: v"} }\n`;
  return `${text}verdicts:\n  v: { title: t, status: 502, confidence: low, explain: e, next_steps: [n] }\n`;
}

function chainSpec(n: number, loop = false): PlaybookSpec {
  const steps: PlaybookSpec["steps"] = {};
  for (let i = 0; i < n; i++)
    steps[`s${i}`] = {
      ask: "a",
      cite: [],
      branches: [],
      otherwise: i + 1 < n ? { goto: `s${i + 1}` } : loop ? { goto: "s0" } : { verdict: "v" },
    };
  return { playbook: "chain", start: "s0", steps, verdicts: {} };
}

describe("playbooks an attacker or an unlucky day would write", () => {
  it("refuses a chain of 6,000 steps with one sentence instead of overflowing the stack", () => {
    expect(errorOf(chain(6000))).toBe(
      `pb.yaml:2:8: start: the longest way from step "s0" to a verdict passes 6000 steps, more than the ${MAX_WALK_STEPS} a target may take.`,
    );
    expect(parsePlaybook(chain(MAX_WALK_STEPS), "pb.yaml").spec.start).toBe("s0");
  });

  it("walks 100,000 steps and a 100,000-step loop in linear time, without recursion", () => {
    expect(walkSteps(chainSpec(100_000))).toEqual({ longest: 100_000 });
    const loop = walkSteps(chainSpec(100_000, true)).cycle;
    expect(loop).toEqual([
      "s0",
      "s1",
      "s2",
      "s3",
      "s4",
      "(99991 more)",
      "s99996",
      "s99997",
      "s99998",
      "s99999",
      "s0",
    ]);
  });

  it("refuses a playbook of 100,000 steps by its size, saying the limit", () => {
    expect(errorOf(chain(100_000))).toMatch(
      /^pb\.yaml: the playbook has \d+ bytes, more than the 1048576 \(1 MiB\) a playbook may have\.$/,
    );
  });

  it.each([
    [
      "[1.0, 2.0].map(a, [1.0, 2.0].map(b, a + b)).size() > 0",
      "map() inside or after another comprehension is not allowed: their costs multiply",
    ],
    [
      "[1.0, 2.0].map(a, a).map(b, b).size() > 0",
      "map() inside or after another comprehension is not allowed: their costs multiply",
    ],
    [
      "[1.0].exists(a, [2.0].all(b, a < b))",
      "all() inside or after another comprehension is not allowed: their costs multiply",
    ],
    ['cel.bind(a, "x", a + a) == ""', "cel.bind() is not allowed: a bound value can double at each step"],
    [
      'target.fatalLine.matches("(a+)+$")',
      "matches() is not allowed: a regular expression over host text can take unbounded time",
    ],
  ])("refuses %s, which would cost without bound, naming the step", (expr, why) => {
    expect(errorOf(good.replace("- when: errors.dns > 0.0", `- when: '${expr}'`))).toMatch(
      new RegExp(
        `^pb\\.yaml:\\d+:\\d+: steps\\.errors\\.branches\\[1\\]\\.when: CEL expression \`.*\`: ${why.replace(/[()]/g, "\\$&")}\\.$`,
      ),
    );
  });

  it("refuses a list literal past cel-js's limit and an expression past the length limit, in a bounded message", () => {
    const list = `[${Array(150).fill("1.0").join(", ")}]`;
    expect(errorOf(withShow(`${list}.size()`))).toMatch(
      /steps\.errors\.show: CEL expression `.{1,90}` is invalid: Exceeded maxListElements \(100\)\.$/,
    );
    const huge = `"${"x".repeat(900 * 1024)}"`;
    const msg = errorOf(withShow(huge));
    expect(msg).toMatch(
      new RegExp(`has ${huge.length} characters, more than the ${CEL_LIMITS.maxExpressionChars} allowed\\.$`),
    );
    expect(msg.length).toBeLessThan(300);
  });

  it("cuts an expression in an error to an excerpt around the error", () => {
    const expr = `${"target.restarts + ".repeat(30)}target.restartz`;
    const msg = errorOf(withShow(`string(${expr})`));
    expect(msg).toMatch(
      /steps\.errors\.show: CEL expression `….{50,70}target\.restartz\)` is invalid: No such key: restartz\.$/,
    );
    expect(excerpt("a short one")).toBe("a short one");
  });

  it("turns a CEL failure while diagnosing into one sentence naming the step and the target", () => {
    const playbook = parsePlaybook(
      good.replace("- when: errors.dns > 0.0", "- when: int(target.address) > 0"),
      "pb.yaml",
    );
    const bundle = loadBundle(`${root}playbooks/cases/lab-oom/bundle.json`);
    let message = "";
    try {
      diagnoseBundle(bundle, playbook);
    } catch (e) {
      expect(e).toBeInstanceOf(UserError);
      message = (e as Error).message;
    }
    expect(message).toMatch(
      /^pb\.yaml: steps\.errors\.branches\[1\]\.when: CEL expression `int\(target\.address\) > 0` failed for \S+: .+\.$/,
    );
    expect(message).not.toContain("\n");
  });
});
