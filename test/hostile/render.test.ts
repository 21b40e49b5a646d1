import { describe, expect, it } from "vitest";
import { loadBundle } from "../../src/bundle/load.js";
import type { Bundle } from "../../src/bundle/schema.js";
import { renderAs } from "../../src/cli/render.js";
import { diagnoseBundle } from "../../src/diagnosis/diagnose.js";
import { renderBlocks } from "../../src/diagnosis/render/blocks.js";
import { renderJson } from "../../src/diagnosis/render/json.js";
import { renderMarkdown } from "../../src/diagnosis/render/markdown.js";
import { renderEvidenceReport } from "../../src/diagnosis/render/report.js";
import { renderText } from "../../src/diagnosis/render/text.js";
import { explainText } from "../../src/explain/explain.js";
import { code } from "../../src/explain/phrases.js";
import { renderExplainMrkdwn, renderExplainText } from "../../src/explain/render.js";
import type { ExplainedLine } from "../../src/explain/schema.js";
import { loadPlaybook } from "../../src/playbook/loader.js";
import {
  diagnosisReply,
  incidentClosedMessage,
  investigatingMessage,
  parentDoneMessage,
  parentFailedMessage,
  requester,
  type SlackMessage,
} from "../../src/slack/messages.js";
import { buildSummary } from "../../src/summary/build.js";
import { postmortemMarkdown, summaryBlocks, summaryText } from "../../src/summary/render.js";
import { HOSTILE, hostileDiagnosis, hostileSummaryInput, PIECES } from "./corpus.js";
import {
  markdownProblems,
  markdownShape,
  mrkdwnProblems,
  notVerbatim,
  slackTexts,
  terminalProblems,
} from "./markup.js";

const root = new URL("../../", import.meta.url).pathname;
const playbook = loadPlaybook(`${root}playbooks/why502.yaml`);
const CASE = `${root}playbooks/cases/lab-two-causes/bundle.json`;
const base = diagnoseBundle(loadBundle(CASE), playbook);
const d = hostileDiagnosis(base);
const ALICE = requester("U0ALICE");

/** Every mrkdwn text of a message, its top-level `text` too (Slack reads it as mrkdwn). */
function messageProblems(m: SlackMessage, own: string[] = [ALICE]): string[] {
  const t = slackTexts(m.blocks);
  return [m.text, ...t.mrkdwn].flatMap((x) => mrkdwnProblems(x, own).map((p) => `${p}: ${x.slice(0, 120)}`));
}

describe("host text through every output format", () => {
  it("has every field of the diagnosis hostile, so each renderer meets it", () => {
    expect(d.verdicts.length).toBe(2);
    expect(d.trace.length).toBeGreaterThan(0);
    expect(d.timeline.length).toBeGreaterThan(0);
    expect(d.verdicts[0]?.evidence[0]?.text).toContain("\u009b31m");
  });

  it("terminal text, coloured or not and with --trace: no escape is obeyed, each is shown", () => {
    for (const color of [false, true]) {
      const out = renderText(d, { color, trace: true });
      expect(terminalProblems(out, color)).toEqual([]);
      expect(out).toContain("Trace");
      expect(out).toContain("\\x1b]0;pwned window title\\x07");
      expect(out).toContain("\\x1b]8;;https://evil.example/\\x1b\\hidden link");
      expect(out).toContain("\\x9b31mC1 CSI");
      expect(out).toContain("\\x0d\\x1b[Kforged line");
      expect(out).toContain("\\u{202e}evil");
    }
  });

  it("JSON and Block Kit JSON printed to a terminal: no DEL, C1 or bidi character raw, the data the same", () => {
    const json = renderJson(d);
    expect(terminalProblems(json)).toEqual([]);
    expect(JSON.parse(json)).toEqual(d);
    const blocks = renderAs(d, "blocks", { color: false, trace: false });
    expect(terminalProblems(blocks)).toEqual([]);
    expect(JSON.parse(blocks)).toEqual({ blocks: renderBlocks(d) });
  });

  it("Markdown and the evidence report: no link, image, HTML or heading, no fence closed from inside", () => {
    for (const render of [renderMarkdown, renderEvidenceReport]) {
      const md = render(d);
      expect(markdownProblems(md)).toEqual([]);
      expect(terminalProblems(md)).toEqual([]);
      // host text changes no block of the document: the same headings, items, rows and fences
      expect(markdownShape(md)).toEqual(markdownShape(render(base)));
      // and the evidence is all there, inside its code block
      expect(md).toContain("AFTER-FENCE");
      expect(md).toContain("<!channel> <!here>");
    }
  });

  it("Block Kit: no mention, link or formatting from host text; the evidence shown exactly", () => {
    // the whole message within its budget (evidence dropped first), and with room for every excerpt
    for (const budget of [undefined, 100_000]) {
      const t = slackTexts(renderBlocks(d, budget));
      expect(t.mrkdwn.flatMap((x) => mrkdwnProblems(x))).toEqual([]);
      expect(t.plain.flatMap((x) => terminalProblems(x))).toEqual([]);
    }
    expect(notVerbatim(renderBlocks(d, 100_000))).toEqual([]);
    const t = slackTexts(renderBlocks(d, 100_000));
    expect(t.preformatted.length).toBe(2);
    for (const p of t.preformatted) {
      // rich text shows what it holds: the markup stays text, the backticks stay backticks
      expect(p).toContain("<!channel> <!here> <!everyone> <@U123> <#C1> <!subteam^S1> <https://x.example|y>");
      expect(p).toContain("*bold* _italic_ ~strike~ `tick` ```");
      expect(terminalProblems(p)).toEqual([]);
    }
  });

  it("Slack messages around a diagnosis: parent, progress, verdict line, reply, failure, close", () => {
    const p = {
      service: d.service,
      windowText: HOSTILE,
      requestedBy: ALICE,
      progress: { done: 1, total: 3, failed: [HOSTILE] },
    };
    const messages = [
      investigatingMessage(p),
      parentDoneMessage(d, p, 1234),
      parentFailedMessage(p, HOSTILE),
      diagnosisReply(d, { runId: "r1", durationMs: 1234, requestedBy: ALICE, broadcast: false }),
      incidentClosedMessage({ service: HOSTILE, reason: "resolved", durationMs: 60_000, causes: [HOSTILE] }),
      incidentClosedMessage({
        service: HOSTILE,
        reason: "quiet",
        durationMs: 60_000,
        causes: [],
        quietFor: "5m",
      }),
    ];
    for (const m of messages) {
      expect(messageProblems(m)).toEqual([]);
      expect(notVerbatim(m.blocks)).toEqual([]);
    }
    // the bot's own mention of who asked is still one
    expect(JSON.stringify(messages[3]?.blocks)).toContain("asked by <@U0ALICE>");
  });

  it("the incident summary: Block Kit, terminal text and the postmortem draft", () => {
    const s = buildSummary(hostileSummaryInput(d));
    const blocks = summaryBlocks(s);
    const t = slackTexts(blocks);
    expect(t.mrkdwn.flatMap((x) => mrkdwnProblems(x, ["<@U0ALICE>"]))).toEqual([]);
    // with room for the evidence: excerpts in preformatted elements, shown as they are
    expect(notVerbatim(blocks)).toEqual([]);
    const roomy = slackTexts(summaryBlocks(s, { maxChars: 100_000 }));
    expect(roomy.mrkdwn.flatMap((x) => mrkdwnProblems(x, ["<@U0ALICE>"]))).toEqual([]);
    expect(roomy.preformatted.length).toBeGreaterThan(0);
    expect(roomy.preformatted.join("\n")).toContain("<!channel> <!here>");
    expect(terminalProblems(summaryText(s))).toEqual([]);
    const pm = postmortemMarkdown(s, { chartFile: "chart.png" });
    // the one image is the chart's, its alt text escaped; the rest has no markup from host text
    const images = pm.split("\n").filter((l) => l.startsWith("!["));
    expect(images).toHaveLength(1);
    expect(images[0]).toMatch(
      /^!\[Failing requests per minute on checkout (?:[^\\\]]|\\.)*\]\(chart\.png\)$/,
    );
    expect(markdownProblems(pm.replace(images[0] ?? "", ""))).toEqual([]);
    expect(terminalProblems(pm)).toEqual([]);
  });

  it("explain, pasted in a terminal or in Slack", () => {
    const lines = explainText(HOSTILE);
    expect(lines.length).toBeGreaterThan(PIECES.length / 2);
    expect(terminalProblems(renderExplainText(lines))).toEqual([]);
    const sections = renderExplainMrkdwn(lines);
    expect(sections.flatMap((x) => mrkdwnProblems(x, [], true))).toEqual([]);
    // each pasted line keeps its backticks, and no ``` inside a block can close it
    expect(sections.join("\n")).toContain("``\u200b`");
    // host text in a meaning, in its code spans (explain quotes values with code(), which takes backticks
    // out) and around them, makes no markup
    const bare = HOSTILE.replace(/`/g, "'");
    const quoting: ExplainedLine = {
      line: 1,
      text: HOSTILE,
      kind: "app",
      meaning: `${bare}: the app crashed with ${code(HOSTILE)} and \`exited\`.`,
      next: `> ${bare}`,
      upstream: HOSTILE,
    };
    expect(renderExplainMrkdwn([quoting]).flatMap((x) => mrkdwnProblems(x, [], true))).toEqual([]);
  });
});

/** The two-causes case with 199 more stale targets: each a refused connect to an address nginx still lists. */
function manyTargets(n: number): Bundle {
  const bundle = loadBundle(CASE);
  const gw = bundle.hosts.find((h) => h.role === "gateway");
  const log = gw?.commands.find((c) => c.id === "nginx-error-log");
  const conf = gw?.commands.find((c) => c.id === "nginx-conf");
  const refused = log?.stdout.split("\n").find((l) => l.includes("127.0.0.13:18080"));
  if (!log || !conf || !refused) throw new Error("the case has a gateway with a refused connect");
  const addresses = Array.from(
    { length: n },
    (_, i) => `127.0.${1 + Math.floor(i / 250)}.${(i % 250) + 1}:18080`,
  );
  log.stdout += addresses.map((a) => `${refused.replaceAll("127.0.0.13:18080", a)}\n`).join("");
  conf.stdout = conf.stdout.replace(
    "    server 127.0.0.13:18080 max_fails=0;\n",
    `    server 127.0.0.13:18080 max_fails=0;\n${addresses.map((a) => `    server ${a} max_fails=0;\n`).join("")}`,
  );
  return bundle;
}

describe("a diagnosis of many failing targets", () => {
  it("names the first five in its summary line and says how many more", () => {
    const many = diagnoseBundle(manyTargets(199), playbook);
    expect(many.verdicts.length).toBe(201);
    expect(many.summary).toMatch(/^checkout: 201 failing targets, 2 causes: (?:[^;]+; ){5}and 196 more$/);
    expect(many.summary.length).toBeLessThan(300);
  });
});

/**
 * The two-causes case seen through `n` gateways with nothing in their logs: the first `answering` answer (their
 * error log unread unless `readable`), the others are unreachable.
 */
function manyGateways(n: number, answering: number, readable = false): Bundle {
  const bundle = loadBundle(CASE);
  const gw = bundle.hosts.find((h) => h.role === "gateway");
  if (!gw) throw new Error("the case has a gateway");
  const others = Array.from({ length: n }, (_, i) => {
    const name = `gw-${String(i + 1).padStart(3, "0")}`;
    if (i >= answering)
      return {
        ...gw,
        name,
        commands: [],
        failure: { code: "unreachable" as const, message: "connection refused" },
      };
    // Nothing logged in the access log either; the error log unread unless `readable`.
    const commands = gw.commands.map((c) => {
      if (c.id === "nginx-access-log") return { ...c, stdout: "" };
      if (c.id !== "nginx-error-log") return c;
      return readable
        ? { ...c, stdout: "" }
        : { ...c, stdout: "", failure: { code: "permission_denied" as const, message: "Permission denied" } };
    });
    return { ...gw, name, commands };
  });
  bundle.hosts = [...others, ...bundle.hosts.filter((h) => h.role !== "gateway")];
  return bundle;
}

describe("a diagnosis that cannot tell, over many gateways", () => {
  it("names the first five that did not answer and the first five unread logs, and counts the rest", () => {
    const d = diagnoseBundle(manyGateways(60, 30), playbook);
    expect(d.status).toBe("unknown");
    expect(d.summary).toMatch(
      /^Cannot tell why checkout fails: no gateway's nginx error log could be read; (?:gw-\d+ \(unreachable\), ){5}and 25 more did not answer; (?:[^;]+; ){5}and 25 more\.$/,
    );
    expect(d.summary.length).toBeLessThan(1000);
  });

  it("names the first five gaps in what was read, and counts the rest", () => {
    // One gateway read whole and quiet, 40 others unreachable: not the whole window was read.
    const bundle = manyGateways(41, 1, true);
    const d = diagnoseBundle(bundle, playbook);
    expect(d.status).toBe("unknown");
    expect(d.summary).toMatch(
      /^Cannot say checkout is healthy: nginx logged no upstream failures in what was read, but not the whole window was read: (?:[^;]+; ){5}and 35 more\.$/,
    );
    expect(d.summary.length).toBeLessThan(700);
  });
});
