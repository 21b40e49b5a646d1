import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseBundleText } from "../../src/bundle/load.js";
import { diagnoseBundle, maskDiagnosis } from "../../src/diagnosis/diagnose.js";
import type { Prose } from "../../src/diagnosis/prose.js";
import { renderBlocks } from "../../src/diagnosis/render/blocks.js";
import { renderJson } from "../../src/diagnosis/render/json.js";
import { renderMarkdown } from "../../src/diagnosis/render/markdown.js";
import { proseIndex, proseMarkdown, proseMrkdwn } from "../../src/diagnosis/render/prose.js";
import { renderEvidenceReport } from "../../src/diagnosis/render/report.js";
import { renderText } from "../../src/diagnosis/render/text.js";
import type { Diagnosis } from "../../src/diagnosis/types.js";
import { parsePlaybook } from "../../src/playbook/loader.js";
import { incidentClosedMessage, verdictLine } from "../../src/slack/messages.js";
import { buildSummary } from "../../src/summary/build.js";
import { postmortemMarkdown, summaryBlocks } from "../../src/summary/render.js";
import { hostileSummaryInput, SLACK } from "./corpus.js";
import { markdownProblems, mrkdwnProblems, outsideCode, slackTexts, terminalProblems } from "./markup.js";

const root = new URL("../../", import.meta.url).pathname;
const CASE = `${root}playbooks/cases/lab-two-causes/bundle.json`;

/** A backend host name made of Slack and Markdown markup, a backtick pair and a terminal escape. */
const HOST = `checkout-1 ${SLACK.join(" ")} [x](https://evil.example/) \u001b]0;title\u0007`;

/** Code spans in the playbook's own text, around, beside and inside the host's name, in CEL literals too. */
const PLAYBOOK = `
playbook: prose
start: ask
steps:
  ask:
    ask: 'Is \`{{ target.host }}\` one of ours ({{ target.address }})?'
    otherwise: { verdict: found }
verdicts:
  found:
    title: 'Backend {{ target.host }} behind \`nginx -T\`'
    status: 502
    confidence: high
    explain: 'Run \`nginx -T\` on the gateway; the host is \`{{ target.host == "" ? "none" : "the " + target.host }}\`.'
    next_steps:
      - '{{ target.host == "" ? "Use \`ping\`." : "Use \`systemctl status\` on " + target.host + " then \`journalctl\`." }}'
      - 'Look at {{ target.host }} by hand.'
`;

const playbook = parsePlaybook(PLAYBOOK, "prose.yaml");

function diagnosis(host = HOST): Diagnosis {
  const text = readFileSync(CASE, "utf8").replaceAll('"checkout-1"', JSON.stringify(host));
  return diagnoseBundle(parseBundleText(text, "case.json"), playbook);
}

const d = diagnosis();
const v = d.verdicts.find((x) => x.title.includes("checkout-1"));

/** What the playbook wrote as code, whatever the host's name. */
const OWN_SPANS = ["nginx -T", "systemctl status", "journalctl"];

describe("the playbook's code spans, with host values filled in", () => {
  it("keeps each sentence plain, and its pieces: the playbook's text and the values, CEL literals as text", () => {
    expect(v?.title).toBe(`Backend ${HOST} behind \`nginx -T\``);
    expect(v?.nextSteps[0]).toBe(`Use \`systemctl status\` on ${HOST} then \`journalctl\`.`);
    expect(d.prose).toContainEqual(["Use `systemctl status` on ", HOST, " then `journalctl`."]);
    expect(d.prose).toContainEqual(["Run `nginx -T` on the gateway; the host is `the ", HOST, "`."]);
    // a sentence with no code span of the playbook's is not kept: it renders as host text anyway
    expect(d.prose?.some((p) => p.join("").startsWith("Look at"))).toBe(false);
    // JSON is the plain text (and the same data)
    expect(JSON.parse(renderJson(d))).toEqual(d);
  });

  it("Block Kit: the playbook's spans are code, the host's markup is escaped, inside a span too", () => {
    const texts = slackTexts(renderBlocks(d, 100_000)).mrkdwn;
    expect(texts.flatMap((x) => mrkdwnProblems(x))).toEqual([]);
    const all = texts.join("\n");
    for (const span of OWN_SPANS) expect(all).toContain(`\`${span}\``);
    // the host's backtick pair inside the playbook's span is a look-alike, its `<` an entity
    expect(all).toContain("`the checkout-1 &lt;!channel&gt;");
    expect(all).toContain("ˋtickˋ");
    expect(all).not.toContain("`tick`");
  });

  it("Markdown and the evidence report: the playbook's spans are inline code, nothing else is markup", () => {
    for (const md of [renderMarkdown(d), renderEvidenceReport(d)]) {
      expect(markdownProblems(md)).toEqual([]);
      expect(terminalProblems(md)).toEqual([]);
      for (const span of OWN_SPANS) expect(md).toContain(`\`${span}\``);
      // outside code, the host's backticks are escaped
      expect(outsideCode(md)).toContain("\\`tick\\`");
    }
    // the host's name inside a span of the playbook's: a fence longer than its ``` holds it, as written
    expect(renderMarkdown(d)).toContain("````the checkout-1 <!channel>");
    // a question in the decision-path table keeps its span, and its cells
    const row = renderEvidenceReport(d)
      .split("\n")
      .find((l) => l.includes("Is ````checkout-1"));
    expect(row?.replace(/\\\|/g, "").match(/\|/g)).toHaveLength(6);
  });

  it("a terminal shows the sentences as written, the host's escape made visible", () => {
    const out = renderText(d, { color: false, trace: true });
    expect(terminalProblems(out)).toEqual([]);
    expect(out).toContain("Use `systemctl status` on checkout-1");
    expect(out).toContain("\\x1b]0;title\\x07");
  });

  it("the Slack verdict line, the close message and the incident summary keep them too", () => {
    const one = diagnosis();
    one.verdicts = one.verdicts.filter((x) => x === one.verdicts.find((y) => y.title.includes("checkout-1")));
    one.summary = `${one.service}: ${one.verdicts[0]?.title}`;
    one.prose = [...(one.prose ?? []), ["", one.service, ": Backend ", HOST, " behind `nginx -T`"]];
    const line = verdictLine(one);
    expect(mrkdwnProblems(line)).toEqual([]);
    expect(line).toContain("`nginx -T`");
    const closed = incidentClosedMessage({
      service: "checkout",
      reason: "resolved",
      durationMs: 60_000,
      causes: one.verdicts.map((x) => x.title),
      ...(one.prose ? { prose: one.prose } : {}),
    });
    expect(slackTexts(closed.blocks).mrkdwn.join("\n")).toContain("`nginx -T`");
    const s = buildSummary(hostileSummaryInput(d));
    const blocks = slackTexts(summaryBlocks(s, { maxChars: 100_000 })).mrkdwn;
    expect(blocks.flatMap((x) => mrkdwnProblems(x, ["<@U0ALICE>"]))).toEqual([]);
    expect(blocks.join("\n")).toContain("`systemctl status`");
    const pm = postmortemMarkdown(s);
    expect(pm).toContain("`systemctl status`");
    expect(markdownProblems(pm)).toEqual([]);
  });
});

describe("pieces the renderers get", () => {
  const pieces: Prose = ["Run `a ", "x`y <!here>", " b` then ", "`z` *w*", " `c`."];
  const ix = proseIndex([pieces]);
  const text = pieces.join("");

  it("pair only the playbook's backticks: a value's never opens or closes a span", () => {
    expect(proseMrkdwn(text, ix)).toBe("Run `a xˋy &lt;!here&gt; b` then ˋzˋ ∗w∗ `c`.");
    // inside code Markdown shows `<` as it is; outside, it is an entity
    expect(proseMarkdown(text, ix)).toBe("Run ``a x`y <!here> b`` then \\`z\\` \\*w\\* `c`.");
  });

  it("that no longer join to the text are ignored: all of it is host text", () => {
    expect(proseMrkdwn(`${text} more`, ix)).toBe("Run ˋa xˋy &lt;!here&gt; bˋ then ˋzˋ ∗w∗ ˋcˋ. more");
  });

  it("are masked with their sentence, or dropped when a secret spans the playbook's text and a value", () => {
    const token = `ghp_${"a".repeat(36)}`;
    const base = diagnosis("checkout-1");
    const secret: Diagnosis = {
      ...base,
      prose: [
        ["Rotate `the token` ", token, ""],
        ["Run `cmd --password=", "hunter2hunter2", " now`"],
      ],
    };
    const masked = maskDiagnosis(secret);
    expect(JSON.stringify(masked.prose)).not.toContain(token);
    expect(JSON.stringify(masked.prose)).not.toContain("hunter2");
    expect(masked.prose?.[0]?.[0]).toBe("Rotate `the token` ");
    expect(masked.prose?.some((p) => p.join("").includes("--password="))).toBe(false);
    expect(masked.masked).toBe(base.masked);
  });
});
