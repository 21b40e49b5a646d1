import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadBundle } from "../../src/bundle/load.js";
import type { Bundle } from "../../src/bundle/schema.js";
import { maskDiagnosis } from "../../src/diagnosis/diagnose.js";
import { redactPatterns } from "../../src/diagnosis/mask.js";
import { maskBundle } from "../../src/diagnosis/mask-bundle.js";
import { renderBlocks } from "../../src/diagnosis/render/blocks.js";
import { renderJson } from "../../src/diagnosis/render/json.js";
import { renderMarkdown } from "../../src/diagnosis/render/markdown.js";
import { renderEvidenceReport } from "../../src/diagnosis/render/report.js";
import { renderText } from "../../src/diagnosis/render/text.js";
import type { Diagnosis } from "../../src/diagnosis/types.js";
import {
  explainSummary,
  explainText,
  renderExplainMrkdwn,
  renderExplainText,
} from "../../src/explain/explain.js";
import { deriveFacts } from "../../src/facts/derive.js";
import { runPlaybook } from "../../src/playbook/engine.js";
import { loadPlaybook } from "../../src/playbook/loader.js";
import { explainForSlack } from "../../src/slack/explain.js";
import { diagnosisReply, parentDoneMessage } from "../../src/slack/messages.js";
import { buildSummary } from "../../src/summary/build.js";
import { postmortemMarkdown, summaryBlocks, summaryJson, summaryText } from "../../src/summary/render.js";
import { CORPUS, CUSTOM_PATTERN, leaks, type Planted } from "./corpus.js";

const root = new URL("../../", import.meta.url).pathname;
const playbook = loadPlaybook(`${root}playbooks/why502.yaml`);
const extra = redactPatterns({ redact: { patterns: [CUSTOM_PATTERN] } });
const crash = loadBundle(`${root}playbooks/cases/lab-crash/bundle.json`);

/** The engine's diagnosis of the lab's crash, before masking: what diagnoseBundle masks. */
function unmasked(bundle: Bundle = crash): Diagnosis {
  return runPlaybook(playbook, deriveFacts(bundle), bundle.collectedAt);
}

/**
 * The crash diagnosis with one corpus text everywhere host text goes: the first line the verdict cites, the
 * trace's value, a timeline entry, a host's failure and a command's failure.
 */
function carrying(p: Planted): Diagnosis {
  const d = structuredClone(unmasked());
  const [v] = d.verdicts;
  const [t] = d.trace;
  const [e] = d.timeline;
  const [gw, backend] = d.hosts;
  if (!v || !t || !e || !gw || !backend)
    throw new Error("the crash case has a verdict, a trace, a timeline, hosts");
  const ref = { host: "checkout-1", source: "/var/log/app.log", line: 1, text: p.text };
  v.evidence.unshift(ref);
  t.value = p.text;
  t.evidence.unshift(ref);
  e.ref = ref;
  d.timeline.unshift({ ...e, ref });
  backend.ok = false;
  backend.failure = { code: "error", message: p.text };
  gw.commands[0] = {
    ...(gw.commands[0] ?? { id: "nginx-error-log", unreadable: 0, truncated: false }),
    ok: false,
    failure: p.text,
  };
  return d;
}

/** The outputs that show a diagnosis's host text: CLI text (plain, colour, trace), JSON, Markdown, Block Kit, Slack, the report. */
function diagnosisOutputs(d: Diagnosis): Record<string, string> {
  const reply = { runId: "r1", durationMs: 1200, requestedBy: "<@U1>", broadcast: false };
  return {
    text: renderText(d, { color: false, trace: false }),
    "text --trace": renderText(d, { color: true, trace: true }),
    json: renderJson(d),
    markdown: renderMarkdown(d),
    blocks: JSON.stringify(renderBlocks(d)),
    "slack reply": JSON.stringify(diagnosisReply(d, reply)),
    "evidence report upload": renderEvidenceReport(d),
  };
}

/** The post-incident summary and postmortem of an incident whose one diagnosis is `d` (as stored: masked). */
function summaryOutputs(d: Diagnosis): Record<string, string> {
  const s = buildSummary({
    incident: {
      id: "inc-1",
      service: d.service,
      openedAt: Date.parse(d.window.since),
      closedAt: Date.parse(d.collectedAt) + 60_000,
      closedReason: "resolved",
      source: "alertmanager",
    },
    zone: "UTC",
    diagnoses: [{ runId: "r1", at: Date.parse(d.collectedAt), requestedBy: "U1", diagnosis: d }],
    alertEvents: [],
    actions: [],
  });
  return {
    "summary text": summaryText(s),
    "summary json": summaryJson(s),
    "summary blocks": JSON.stringify(summaryBlocks(s)),
    postmortem: postmortemMarkdown(s),
  };
}

describe("no planted secret survives into any output format", () => {
  for (const p of CORPUS) {
    it(`${p.kind}: ${p.what}`, () => {
      const raw = carrying(p);
      const masked = maskDiagnosis(raw, extra);
      const before = diagnosisOutputs(raw);
      for (const [format, out] of Object.entries(diagnosisOutputs(masked))) {
        // The planted text does reach this format when nothing masks it: the check below means something.
        expect(leaks(before[format] ?? "", p.secrets), `${format} shows host text`).not.toEqual([]);
        expect(leaks(out, p.secrets), format).toEqual([]);
      }
      expect(masked.masked).toBeGreaterThan(0);
      expect(renderText(masked, { color: false })).toContain(`${masked.masked} secret`);
      expect(renderMarkdown(masked)).toContain(`${masked.masked} secret(s) masked`);
      expect(JSON.stringify(renderBlocks(masked))).toContain(`${masked.masked} secret`);
      const parent = { service: masked.service, windowText: "last 30m", requestedBy: "<@U1>" };
      expect(
        leaks(JSON.stringify(parentDoneMessage(masked, parent, 1200)), p.secrets),
        "slack parent",
      ).toEqual([]);
      const summaries = summaryOutputs(masked);
      for (const [format, out] of Object.entries(summaries))
        expect(leaks(out, p.secrets), format).toEqual([]);
      expect(summaries["summary text"]).toContain(`${masked.masked} secret`);
    });
  }

  it("a diagnosis masked again keeps its count and changes nothing", () => {
    const once = maskDiagnosis(carrying(CORPUS[0] as Planted), extra);
    expect(maskDiagnosis(once, extra)).toEqual(once);
  });
});

describe("explain, in the terminal and in Slack", () => {
  const paste = CORPUS.map((p) => p.text).join("\n");

  it("shows none of the planted secrets, and says how many it masked", () => {
    const lines = explainText(paste, { redact: extra });
    const outputs = {
      json: JSON.stringify(lines),
      text: renderExplainText(lines),
      mrkdwn: renderExplainMrkdwn(lines).join("\n"),
      slack: JSON.stringify(explainForSlack(paste, { redact: extra })),
    };
    for (const [format, out] of Object.entries(outputs)) expect(leaks(out), format).toEqual([]);
    const masked = lines.reduce((n, e) => n + (e.masked ?? 0), 0);
    expect(masked).toBeGreaterThanOrEqual(CORPUS.length);
    expect(explainSummary(lines)).toContain(`${masked} secrets masked`);
  });

  it("blanks a pasted private key's body instead of explaining its lines", () => {
    const key = CORPUS.find((p) => p.what.startsWith("a private key block")) as Planted;
    const lines = explainText(key.text);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.text).toBe("***private key***");
  });
});

describe("the bundle kept in the store and uploaded as Full evidence", () => {
  it("holds no planted secret in any command's output or failure, and counts them", () => {
    const bundle = structuredClone(crash);
    const [host] = bundle.hosts;
    const [cmd] = host?.commands ?? [];
    if (!host || !cmd) throw new Error("the crash case has commands");
    cmd.stdout += `${CORPUS.map((p) => p.text).join("\n")}\n`;
    cmd.stderr = CORPUS[0]?.text ?? "";
    cmd.failure = { code: "error", message: CORPUS[1]?.text ?? "" };
    host.failure = { code: "auth_failed", message: CORPUS[2]?.text ?? "" };
    expect(leaks(JSON.stringify(bundle))).toHaveLength(CORPUS.flatMap((p) => p.secrets).length);
    const m = maskBundle(bundle, extra);
    expect(leaks(JSON.stringify(m.bundle))).toEqual([]);
    expect(m.masked).toBeGreaterThanOrEqual(CORPUS.length);
  });

  it("replays to the same diagnosis as the bundle it was masked from, for every recorded case", () => {
    const cases = JSON.parse(readFileSync(`${root}demo/scenarios.json`, "utf8")) as { bundle: string }[];
    for (const c of cases) {
      const b = loadBundle(`${root}${c.bundle}`);
      const verdicts = (d: Diagnosis) => d.verdicts.map((v) => `${v.target} ${v.cause} ${v.title}`);
      expect(verdicts(unmasked(maskBundle(b).bundle)), c.bundle).toEqual(verdicts(unmasked(b)));
    }
  });
});
