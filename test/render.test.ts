import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadBundle } from "../src/bundle/load.js";
import { diagnoseBundle } from "../src/diagnosis/diagnose.js";
import { renderBlocks, SLACK_LIMITS } from "../src/diagnosis/render/blocks.js";
import { renderMarkdown } from "../src/diagnosis/render/markdown.js";
import { renderText } from "../src/diagnosis/render/text.js";
import type { Diagnosis } from "../src/diagnosis/types.js";
import { loadPlaybook } from "../src/playbook/loader.js";

const root = new URL("../", import.meta.url).pathname;
const playbook = loadPlaybook(`${root}playbooks/why502.yaml`);
const scenarios = JSON.parse(readFileSync(`${root}demo/scenarios.json`, "utf8")) as {
  scenario: string;
  bundle: string;
}[];

function sectionTexts(blocks: ReturnType<typeof renderBlocks>): string[] {
  return blocks.flatMap((b) =>
    b.type === "section"
      ? [b.text?.text ?? ""]
      : b.type === "context"
        ? b.elements.map((e) => ("text" in e && typeof e.text === "string" ? e.text : ""))
        : b.type === "header"
          ? [b.text.text]
          : [],
  );
}

describe("renderers, on the demo scenarios", () => {
  for (const s of scenarios) {
    it(`${s.scenario}: terminal text, Markdown and Block Kit`, async () => {
      const d = diagnoseBundle(loadBundle(`${root}${s.bundle}`), playbook);
      await expect(renderText(d, { color: false, trace: true })).toMatchFileSnapshot(
        `__snapshots__/${s.scenario}.txt`,
      );
      await expect(renderMarkdown(d)).toMatchFileSnapshot(`__snapshots__/${s.scenario}.md`);
      const blocks = renderBlocks(d);
      await expect(`${JSON.stringify({ blocks }, null, 2)}\n`).toMatchFileSnapshot(
        `__snapshots__/${s.scenario}.blocks.json`,
      );
      expect(blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
    });
  }

  it("colours the terminal text only when asked", () => {
    const d = diagnoseBundle(loadBundle(`${root}playbooks/cases/lab-oom/bundle.json`), playbook);
    expect(renderText(d, { color: false })).not.toContain("\u001b[");
    expect(renderText(d, { color: true })).toContain("\u001b[31m");
  });
});

describe("Block Kit stays within Slack's limits whatever the diagnosis", () => {
  const base = diagnoseBundle(loadBundle(`${root}playbooks/cases/lab-two-causes/bundle.json`), playbook);
  const huge: Diagnosis = {
    ...base,
    summary: "s".repeat(5000),
    verdicts: Array.from({ length: 40 }, (_, i) => {
      const v = base.verdicts[i % base.verdicts.length];
      if (!v) throw new Error("the case has verdicts");
      return {
        ...v,
        target: `10.0.0.${i}:8080`,
        explanation: "x".repeat(4000),
        evidence: Array.from({ length: 20 }, () => ({
          ...v.evidence[0],
          host: "h",
          source: "s",
          line: 1,
          text: "y".repeat(2500),
        })),
      };
    }),
  };

  it("caps blocks at 50, texts at 3000 characters, and says how many targets it left out", () => {
    const blocks = renderBlocks(huge);
    expect(blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
    for (const t of sectionTexts(blocks)) expect(t.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
    const header = blocks[0];
    expect(header?.type === "header" && header.text.text.length <= SLACK_LIMITS.headerText).toBe(true);
    expect(sectionTexts(blocks).join("\n")).toMatch(
      /\d+ more failing target\(s\) not shown: run `why502 diagnose checkout --json`/,
    );
  });

  it("escapes Slack mrkdwn control characters from host text", () => {
    const d: Diagnosis = { ...base, summary: "a <@U123> & <!channel> b" };
    const text = sectionTexts(renderBlocks(d)).join("\n");
    expect(text).toContain("a &lt;@U123&gt; &amp; &lt;!channel&gt; b");
    expect(text).not.toContain("<!channel>");
  });
});
