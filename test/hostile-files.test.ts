import { describe, expect, it } from "vitest";
import { runMain } from "./support/run-main.js";
import { tempFiles } from "./support/temp-files.js";

const { file } = tempFiles("why502-hostile-");

/** Ten anchors, each a list of ten aliases of the one before: 10^10 values written out. */
function aliasBomb(key: string): string {
  const lines = [`${key}: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]`];
  for (let i = 1; i <= 10; i++)
    lines.push(
      `l${i}: &l${i} [${Array(10)
        .fill(`*l${i - 1}`)
        .join(", ")}]`,
    );
  return `${lines.join("\n")}\n`;
}

/** Exit 2 and one sentence (plus at most a hint line), never a stack or the whole input. */
async function expectOneSentence(args: string[], first: RegExp) {
  const r = await runMain(args);
  expect(r.code).toBe(2);
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines[0]).toMatch(first);
  expect(lines.slice(1).every((l) => l.startsWith("hint: "))).toBe(true);
  expect(r.stderr.length).toBeLessThan(600);
}

describe("why502 given hostile config and playbook files", () => {
  it("refuses an alias bomb in a config", async () => {
    await expectOneSentence(
      ["plan", "checkout", "--config", file("bomb.yaml", aliasBomb("services"))],
      /^why502: .*bomb\.yaml:5:45: aliases here stand for more than 100000 values written out; .*\.$/,
    );
  });

  it("refuses an alias bomb in a playbook", async () => {
    await expectOneSentence(
      ["playbook", "check", file("bomb-pb.yaml", aliasBomb("playbook"))],
      /^why502: .*bomb-pb\.yaml:5:45: aliases here stand for more than 100000 values written out; .*\.$/,
    );
  });

  it("refuses nesting 100,000 deep in a config", async () => {
    const deep = `services: ${"[".repeat(100_000)}${"]".repeat(100_000)}\n`;
    await expectOneSentence(
      ["plan", "checkout", "--config", file("deep.yaml", deep)],
      /^why502: .*deep\.yaml:1:74: lists and maps are nested deeper than 64 levels here\.$/,
    );
  });

  it("refuses a 4 MB config, saying the limit", async () => {
    const big = `hosts:\n${Array.from({ length: 100_000 }, (_, i) => `  host-${i}: { address: 10.0.0.1 }`).join("\n")}\n`;
    await expectOneSentence(
      ["plan", "checkout", "--config", file("big.yaml", big)],
      /^why502: .*big\.yaml: the config has \d+ bytes, more than the 1048576 \(1 MiB\) a config may have\.$/,
    );
  });

  it("refuses a chain of 6,000 steps and a CEL expression of 900 KB in a playbook", async () => {
    let chain = "playbook: chain\nstart: s0\nsteps:\n";
    for (let i = 0; i < 6000; i++) chain += `  s${i}: { ask: a, otherwise: { goto: s${i + 1} } }\n`;
    chain += "  s6000: { ask: a, otherwise: { verdict: v } }\n";
    chain += "verdicts:\n  v: { title: t, status: 502, confidence: low, explain: e, next_steps: [n] }\n";
    await expectOneSentence(
      ["playbook", "check", file("chain.yaml", chain)],
      /^why502: .*chain\.yaml:2:8: start: the longest way from step "s0" to a verdict passes 6001 steps, more than the 200 a target may take\.$/,
    );
    const long = `playbook: long\nstart: s\nsteps:\n  s: { ask: a, show: '"${"x".repeat(900 * 1024)}"', otherwise: { verdict: v } }\nverdicts:\n  v: { title: t, status: 502, confidence: low, explain: e, next_steps: [n] }\n`;
    await expectOneSentence(
      ["playbook", "check", file("long.yaml", long)],
      /^why502: .*long\.yaml:4:22: steps\.s\.show: CEL expression `"x{70,80}…` has \d+ characters, more than the 2000 allowed\.$/,
    );
  });

  it("refuses nginx_t other than nginx -T, with its place", async () => {
    const config = `services:\n  checkout:\n    gateways:\n      - host: gw1\n        nginx_t: [sh, -c, id]\n    backends: { from_upstream: true }\n`;
    await expectOneSentence(
      ["plan", "checkout", "--config", file("nginx-t.yaml", config)],
      /^why502: .*nginx-t\.yaml:5:18: services\.checkout\.gateways\[0\]\.nginx_t: expected \[sudo, -n,\] nginx .*: "sh" is not nginx\.$/,
    );
  });
});
