import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Resvg } from "@resvg/resvg-js";
import { describe, expect, it } from "vitest";
import { withoutSpans } from "../../test/hostile/markup.js";
import { loadBundle } from "../bundle/load.js";
import type { Bundle } from "../bundle/schema.js";
import { diagnoseBundle } from "../diagnosis/diagnose.js";
import { blocksChars, SLACK_LIMITS } from "../diagnosis/render/blocks.js";
import type { Diagnosis } from "../diagnosis/types.js";
import { loadPlaybook } from "../playbook/loader.js";
import { buildSummary } from "./build.js";
import { chartSpec, chartSvg, renderChartPng } from "./chart.js";
import { mrkdwn } from "./escape.js";
import { postmortemMarkdown, summaryBlocks, summaryJson, summaryText } from "./render.js";
import { type ImpactCount, parseSummaryInput, Summary, type SummaryInput } from "./schema.js";

const root = new URL("../../", import.meta.url).pathname;
const playbook = loadPlaybook(join(root, "playbooks/why502.yaml"));
const DEJAVU = "/usr/share/fonts/truetype/dejavu";
const FONTS = [join(DEJAVU, "DejaVuSans.ttf"), join(DEJAVU, "DejaVuSans-Bold.ttf")];

function recorded(name: string): { bundle: Bundle; diagnosis: Diagnosis } {
  const bundle = loadBundle(join(root, "playbooks/cases", name, "bundle.json"));
  return { bundle, diagnosis: diagnoseBundle(bundle, playbook) };
}

const ACCESS_LINE =
  /\[(\d{2})\/(\w{3})\/(\d{4}):(\d{2}:\d{2}:\d{2}) ([+-]\d{4})\] "[^"]*" (\d{3}) .* ua="([^"]*)"/;

/**
 * What the host side must hand over: the gateways' access-log lines counted per UTC minute, status and
 * upstream address, each stamp put on the collector's clock first (the gateway's clock correction).
 */
function accessCounts(runs: { bundle: Bundle; diagnosis: Diagnosis }[]): ImpactCount[] {
  const counts = new Map<string, ImpactCount>();
  for (const { bundle, diagnosis } of runs)
    for (const host of bundle.hosts) {
      if (host.role !== "gateway") continue;
      const correction = diagnosis.hosts.find((h) => h.name === host.name)?.clockCorrectionMs ?? 0;
      for (const c of host.commands) {
        if (c.kind !== "nginx-access") continue;
        for (const line of c.stdout.split("\n")) {
          const m = ACCESS_LINE.exec(line);
          if (!m) continue;
          const [, day, month, year, time, zone, status, ua] = m;
          const t = Date.parse(`${month} ${day} ${year} ${time} GMT${zone}`) + correction;
          const minute = new Date(Math.floor(t / 60_000) * 60_000).toISOString();
          const target = (ua ?? "-").split(/, | : /).at(-1) ?? "-";
          const key = `${minute}|${status}|${target}`;
          const row = counts.get(key) ?? { minute, status: Number(status), target, count: 0 };
          row.count++;
          counts.set(key, row);
        }
      }
    }
  return [...counts.values()];
}

const at = (iso: string) => Date.parse(iso);

/**
 * Four OOM kills of checkout-1, recorded one after another by the lab on 2026-12-01 (two with the gateway's
 * clock off by ten minutes, two with the backend's), read as one incident: the alert's diagnosis, a person's
 * re-run, the alert's re-run, another person's re-run.
 */
function fourKills(): SummaryInput {
  const runs = [
    "lab-oom-gateway-fast",
    "lab-oom-gateway-slow",
    "lab-oom-backend-fast",
    "lab-oom-backend-slow",
  ].map(recorded);
  const asked = ["alert:alertmanager", "U0ALICE", "alert:alertmanager", "U0BOB"];
  const diagnoses = runs.map((r, i) => ({
    runId: `run-${i + 1}`,
    at: at(r.diagnosis.collectedAt) + 300,
    requestedBy: asked[i] ?? "",
    diagnosis: r.diagnosis,
  }));
  return {
    incident: {
      id: "inc-7f3a",
      service: "checkout",
      openedAt: at("2026-12-01T09:15:54.800Z"),
      closedAt: at("2026-12-01T09:19:30.000Z"),
      closedReason: "resolved",
      source: "alertmanager",
      alertStartsAt: "2026-12-01T09:15:54.000Z",
      alertSummary: "checkout answers 502",
    },
    zone: "Europe/Berlin",
    impact: { perMinute: accessCounts(runs), complete: true },
    diagnoses,
    alertEvents: [
      { at: at("2026-12-01T09:15:54.800Z"), status: "firing", outcome: "opened" },
      { at: at("2026-12-01T09:15:59.800Z"), status: "firing", outcome: "joined" },
      { at: at("2026-12-01T09:16:02.900Z"), status: "firing", outcome: "rerun" },
      { at: at("2026-12-01T09:17:00.000Z"), status: "firing", outcome: "joined" },
      { at: at("2026-12-01T09:19:30.000Z"), status: "resolved", outcome: "closed" },
    ],
    actions: [
      { at: at("2026-12-01T09:15:56.600Z"), user: "U0ALICE", action: "rerun", runId: "run-1" },
      { at: at("2026-12-01T09:16:03.100Z"), user: "U0BOB", action: "rerun", runId: "run-3" },
      { at: at("2026-12-01T09:16:30.000Z"), user: "U0BOB", action: "feedback_yes", runId: "run-4" },
    ],
  };
}

/** The lab's oom case diagnosed twice: the alert's run and a person's re-run that saw the same lines. */
function oomTwice(): SummaryInput {
  const r = recorded("lab-oom");
  return {
    incident: {
      id: "inc-oom",
      service: "checkout",
      openedAt: at("2026-11-25T12:44:44.600Z"),
      closedAt: at("2026-11-25T12:49:00.000Z"),
      closedReason: "resolved",
      source: "alertmanager",
    },
    zone: "Europe/Berlin",
    impact: { perMinute: accessCounts([r]), complete: true },
    diagnoses: [
      {
        runId: "a",
        at: at("2026-11-25T12:44:45.400Z"),
        requestedBy: "alert:alertmanager",
        diagnosis: r.diagnosis,
      },
      { runId: "b", at: at("2026-11-25T12:46:12.000Z"), requestedBy: "U0ALICE", diagnosis: r.diagnosis },
    ],
    alertEvents: [
      { at: at("2026-11-25T12:44:44.600Z"), status: "firing", outcome: "opened" },
      { at: at("2026-11-25T12:49:00.000Z"), status: "resolved", outcome: "closed" },
    ],
    actions: [{ at: at("2026-11-25T12:46:10.000Z"), user: "U0ALICE", action: "rerun", runId: "a" }],
  };
}

/** A stale address first, then the same address and an OOM kill beside it: the verdicts changed. */
function staleThenTwo(): SummaryInput {
  const runs = [recorded("lab-stale-upstream"), recorded("lab-two-causes")];
  return {
    incident: {
      id: "inc-two",
      service: "checkout",
      openedAt: at("2026-11-25T12:44:52.500Z"),
      closedAt: at("2026-11-25T13:02:00.000Z"),
      closedReason: "no resolution received",
      source: "grafana",
    },
    zone: "America/New_York",
    impact: { perMinute: accessCounts(runs), complete: false },
    diagnoses: runs.map((r, i) => ({
      runId: `r${i + 1}`,
      at: at(r.diagnosis.collectedAt) + 200,
      requestedBy: i === 0 ? "alert:grafana" : "U0CAROL",
      diagnosis: r.diagnosis,
    })),
    alertEvents: [{ at: at("2026-11-25T12:44:52.500Z"), status: "firing", outcome: "opened" }],
    actions: [{ at: at("2026-11-25T12:45:10.000Z"), user: "U0CAROL", action: "feedback_no", runId: "r1" }],
  };
}

describe("buildSummary from recorded lab incidents", () => {
  it("four OOM kills: durations, detection, impact from the access logs on the collector's clock", () => {
    const input = fourKills();
    const s = buildSummary(input);
    // the access logs hold the same failures the diagnoses counted, minute by minute on one clock
    const expected502 = input.diagnoses.reduce((n, d) => n + d.diagnosis.gateway.status502, 0);
    const expectedRequests = input.diagnoses.reduce((n, d) => n + d.diagnosis.gateway.requests, 0);
    expect(expected502).toBe(23);
    expect(s.impact).toMatchObject({
      measured: true,
      complete: true,
      status502: 23,
      status504: 0,
      requests: 126,
    });
    expect(s.impact.requests).toBe(expectedRequests);
    expect(s.impact.byTarget).toEqual([
      { target: "127.0.0.11:18080", host: "checkout-1", status502: 23, status504: 0 },
    ]);
    expect(s.impact.perMinute.map((m) => [m.minute, m.status502])).toEqual([
      ["2026-12-01T09:15:00.000Z", 12],
      ["2026-12-01T09:16:00.000Z", 11],
    ]);
    expect(s.impact.peak).toMatchObject({ minute: "2026-12-01T09:15:00.000Z", status502: 12 });

    expect(s.span).toEqual({
      start: { at: "2026-12-01T09:15:53.000Z", exact: true },
      end: { at: "2026-12-01T09:16:04.000Z", exact: true },
      durationMs: 11_000,
      from: "access log",
    });
    expect(s.detectionDelayMs).toBe(1_800);
    expect(s.timeToDiagnosisMs).toBe(
      at(input.diagnoses[0]?.diagnosis.collectedAt ?? "") + 300 - at("2026-12-01T09:15:54.800Z"),
    );
    expect(s.alert).toEqual({
      firstFiringAt: "2026-12-01T09:15:54.800Z",
      resolvedAt: "2026-12-01T09:19:30.000Z",
      firings: 4,
      intervals: [{ start: "2026-12-01T09:15:54.800Z", end: "2026-12-01T09:19:30.000Z" }],
    });
    expect(s.headline).toBe("Resolved after 11s: checkout-1 OOM-killed (4×)");
  });

  it("four OOM kills: one cause, four events, each kill's proof once, follow-ups once", () => {
    const s = buildSummary(fourKills());
    expect(s.causes).toHaveLength(1);
    const c = s.causes[0];
    expect(c).toMatchObject({
      cause: "oom_killed",
      target: "127.0.0.11:18080",
      subject: "checkout-1",
      occurrences: 4,
    });
    expect(c?.seenIn).toEqual([1, 2, 3, 4]);
    expect(c?.titles.map((t) => /pid (\d+)/.exec(t)?.[1])).toEqual(["31111", "31523", "31941", "32324"]);
    expect(c?.markedRightBy).toEqual(["U0BOB"]);
    const keys = c?.evidence.map((e) => `${e.host}|${e.source}|${e.line}|${e.text}`) ?? [];
    expect(new Set(keys).size).toBe(keys.length);
    expect(c?.evidence.filter((e) => /Killed process \d+/.test(e.text))).toHaveLength(4);
    expect(s.followUps.map((f) => f.text)).toEqual(recorded("lab-oom").diagnosis.verdicts[0]?.nextSteps);
    expect(s.verdictsChanged).toBe(false);
  });

  it("four OOM kills: one timeline, in order, first and last 502 once, every kill and what people did", () => {
    const s = buildSummary(fourKills());
    const times = s.timeline.map((e) => Date.parse(e.at));
    const seconds = times.map((t) => Math.floor(t / 1000));
    expect([...seconds].sort((a, b) => a - b)).toEqual(seconds);
    const kinds = s.timeline.map((e) => e.kind);
    expect(kinds.filter((k) => k === "first_error")).toHaveLength(1);
    expect(kinds.filter((k) => k === "last_error")).toHaveLength(1);
    expect(kinds.filter((k) => k === "oom_kill")).toHaveLength(4);
    expect(kinds.filter((k) => k === "restart")).toHaveLength(4);
    expect(kinds.filter((k) => k === "diagnosis")).toHaveLength(4);
    expect(kinds[0]).toBe("first_error");
    expect(s.timeline[0]).toMatchObject({
      at: "2026-12-01T09:15:53.000Z",
      host: "gw",
      text: "first 502 on 127.0.0.11:18080",
    });
    const lastError = s.timeline.find((e) => e.kind === "last_error");
    expect(lastError).toMatchObject({ at: "2026-12-01T09:16:04.000Z", text: "last 502 on 127.0.0.11:18080" });
    // within one whole second, the engine's causal order: error, kill, last words, exit, restart
    const firstSecond = s.timeline.filter((e) => e.at.startsWith("2026-12-01T09:15:53")).map((e) => e.kind);
    expect(firstSecond).toEqual(["first_error", "oom_kill", "last_words", "exit", "restart"]);
    const order = (pred: (k: (typeof s.timeline)[number]) => boolean) => s.timeline.findIndex(pred);
    const firing = order((e) => e.kind === "alert_firing");
    const diag1 = order((e) => e.kind === "diagnosis");
    const alice = order((e) => e.user === "U0ALICE" && e.kind === "rerun");
    const resolved = order((e) => e.kind === "alert_resolved");
    expect(firing).toBeGreaterThan(0);
    expect(diag1).toBeGreaterThan(firing);
    expect(alice).toBeGreaterThan(diag1);
    expect(resolved).toBe(s.timeline.length - 1);
    expect(s.timeline.find((e) => e.kind === "feedback_yes")).toMatchObject({
      user: "U0BOB",
      text: "said diagnosis 4 was right",
    });
    expect(s.timeline.filter((e) => e.kind === "alert_firing").map((e) => e.text)).toEqual([
      "alert fired (Alertmanager); incident opened: checkout answers 502",
      "alert fired again (1 firing joined before); diagnosis re-run",
    ]);
  });

  it("the same kill seen by two diagnoses is one event, one set of timeline entries", () => {
    const input = oomTwice();
    const s = buildSummary(input);
    const d = input.diagnoses[0]?.diagnosis as Diagnosis;
    expect(s.causes).toHaveLength(1);
    expect(s.causes[0]).toMatchObject({ occurrences: 1, seenIn: [1, 2] });
    expect(s.causes[0]?.evidence).toHaveLength(d.verdicts[0]?.evidence.length ?? -1);
    const machine = s.timeline.filter((e) => e.actor === "machine");
    expect(machine).toHaveLength(d.timeline.length);
    expect(machine.every((e) => e.seenBy === 2)).toBe(true);
    expect(s.headline).toBe("Resolved after <1s: checkout-1 OOM-killed");
    expect(s.impact).toMatchObject({ status502: 3, requests: 25 });
    expect(s.followUps).toHaveLength(2);
    expect(s.timeline.map((e) => e.kind).slice(-3)).toEqual(["rerun", "diagnosis", "alert_resolved"]);
  });

  it("verdicts that changed: both shown in order, the person's 'wrong' kept with the verdict it was about", () => {
    const s = buildSummary(staleThenTwo());
    expect(s.verdictsChanged).toBe(true);
    expect(s.rounds.map((r) => [r.changed, r.verdicts.map((v) => v.cause)])).toEqual([
      [false, ["stale_upstream"]],
      [true, ["oom_killed", "stale_upstream"]],
    ]);
    expect(s.causes.map((c) => [c.cause, c.seenIn])).toEqual([
      ["stale_upstream", [1, 2]],
      ["oom_killed", [2]],
    ]);
    expect(s.causes[0]?.markedWrongBy).toEqual(["U0CAROL"]);
    expect(s.causes[1]?.markedWrongBy).toEqual([]);
    expect(s.headline).toMatch(
      /^Closed after 1s, no resolution received: nginx routed to retired 127\.0\.0\.13:18080; checkout-1 OOM-killed$/,
    );
    const steps = s.followUps.map((f) => f.text.toLowerCase());
    expect(new Set(steps).size).toBe(steps.length);
    expect(s.followUps).toHaveLength(4);
    expect(s.notes.join(" ")).toContain("incomplete");
    expect(s.timeline.at(-1)).toMatchObject({
      kind: "closed",
      text: expect.stringContaining("no resolution received"),
    });
    const text = summaryText(s);
    expect(text).toContain("Verdicts changed during the incident");
    expect(text).toMatch(
      /2\. 07:44:5\d {2}oom_killed on 127\.0\.0\.11:18080, stale_upstream on 127\.0\.0\.13:18080 {2}\(changed\)/,
    );
    expect(text).toContain("times in America/New_York (UTC-05:00)");
  });

  it("without access-log counts, the figures are a lower bound and say so", () => {
    const input = { ...fourKills(), impact: undefined };
    const s = buildSummary(input);
    expect(s.impact).toMatchObject({ measured: false, status502: 6, byTarget: [] });
    expect(s.span.from).toBe("diagnoses");
    expect(s.span.durationMs).toBe(11_000);
    expect(s.notes[0]).toContain("lower bound");
    expect(summaryText(s)).toContain("at least 6 × 502");
  });

  it("input is validated with the place of each problem", () => {
    const bad = parseSummaryInput({ ...fourKills(), zone: "Mars/Olympus" });
    expect(bad).toEqual({
      ok: false,
      problems: ["zone: expected an IANA time zone such as Europe/Berlin or UTC"],
    });
    expect(parseSummaryInput(JSON.parse(JSON.stringify(fourKills()))).ok).toBe(true);
  });

  it("the JSON is the Summary schema", () => {
    const s = buildSummary(fourKills());
    expect(Summary.parse(JSON.parse(summaryJson(s)))).toEqual(s);
  });
});

/** Text no host should be able to turn into markup. */
const HOSTILE =
  "<!channel> <script>alert(1)</script> ![x](http://evil.example/x.png) [link](https://evil.example) ``` `tick` @here <@U999> ##";

function hostile(): SummaryInput {
  const input = fourKills();
  input.incident.alertSummary = HOSTILE;
  input.incident.service = "checkout <b>";
  for (const run of input.diagnoses) {
    const d = structuredClone(run.diagnosis);
    for (const v of d.verdicts) {
      v.title = `${v.title} ${HOSTILE}`;
      v.explanation = HOSTILE;
      v.nextSteps = [...v.nextSteps, HOSTILE];
      v.evidence = [
        { host: "gw", source: "error.log", line: 1, text: `${HOSTILE}\n\`\`\`\`\nstill inside` },
        ...v.evidence,
      ];
    }
    for (const e of d.timeline) e.ref = { ...e.ref, text: HOSTILE };
    run.diagnosis = d;
  }
  return input;
}

/** Markdown with fenced blocks (closed by a fence as long) and code spans taken out. */
function outsideCode(markdown: string): string {
  const kept: string[] = [];
  let fence: string | undefined;
  for (const l of markdown.split("\n")) {
    const open = /^(`{3,})/.exec(l)?.[1];
    if (fence) {
      if (l.trim() === fence) fence = undefined;
      continue;
    }
    if (open) {
      fence = open;
      continue;
    }
    kept.push(withoutSpans(l));
  }
  return kept.join("\n");
}

/** Every mrkdwn text of the blocks (plain_text is shown as written: Slack reads no markup in it). */
function texts(blocks: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) for (const x of v) walk(x);
    else if (v && typeof v === "object") {
      const o = v as Record<string, unknown>;
      if (o.type === "mrkdwn" && typeof o.text === "string") out.push(o.text);
      for (const x of Object.values(o)) walk(x);
    }
  };
  walk(blocks);
  return out;
}

/** The text of every rich-text preformatted element (evidence): Slack shows it as written, no markup. */
function preformattedTexts(blocks: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown, pre: boolean) => {
    if (Array.isArray(v)) for (const x of v) walk(x, pre);
    else if (v && typeof v === "object") {
      const o = v as Record<string, unknown>;
      if (pre && o.type === "text" && typeof o.text === "string") out.push(o.text);
      for (const x of Object.values(o)) walk(x, pre || o.type === "rich_text_preformatted");
    }
  };
  walk(blocks, false);
  return out;
}

describe("renderers", () => {
  it("Block Kit: headline, impact, cause with proof, timeline, follow-ups, within Slack's limits", () => {
    const s = buildSummary(fourKills());
    const blocks = summaryBlocks(s, { chart: { slackFileId: "F0CHART" } });
    expect(blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
    expect(blocksChars(blocks)).toBeLessThanOrEqual(SLACK_LIMITS.messageChars);
    const all = texts(blocks).join("\n");
    expect(all).toContain("*Resolved after 11s: checkout-1 OOM-killed (4×)*");
    expect(all).toContain("23 × 502, 0 × 504 of 126 requests (18.3%) · peak 12 in the minute from 10:15");
    expect(preformattedTexts(blocks).join("\n")).toContain("Memory cgroup out of memory: Killed process");
    expect(all).toContain("`10:15:53` *gw* first 502 on 127.0.0.11:18080");
    expect(all).toContain("<@U0BOB> said diagnosis 4 was right");
    expect(all).toContain("4 kills");
    expect(blocks.find((b) => b.type === "image")).toMatchObject({ slack_file: { id: "F0CHART" } });
  });

  it("Block Kit stays within every limit for an incident far too big for one message", () => {
    const base = staleThenTwo();
    const big = base.diagnoses[1];
    if (!big) throw new Error("no diagnosis");
    const runs = Array.from({ length: 40 }, (_, i) => {
      const d = structuredClone(big.diagnosis);
      d.verdicts = d.verdicts.map((v, j) => ({
        ...v,
        target: `10.0.${i}.${j}:8080`,
        title: `${v.title} ${"x".repeat(3000)}`,
        nextSteps: [`${"step ".repeat(200)} ${i}`],
      }));
      return { runId: `big-${i}`, at: big.at + i * 1000, requestedBy: "U0DAVE", diagnosis: d };
    });
    const actions = Array.from({ length: 300 }, (_, i) => ({
      at: big.at + i,
      user: "U0DAVE",
      action: "evidence",
      runId: `big-${i % 40}`,
    }));
    const s = buildSummary({ ...base, diagnoses: runs, actions });
    for (const maxChars of [SLACK_LIMITS.messageChars, 3000]) {
      const blocks = summaryBlocks(s, { maxChars });
      expect(blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
      expect(blocksChars(blocks)).toBeLessThanOrEqual(maxChars);
      for (const b of blocks) {
        if (b.type === "section") expect(b.text?.text.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
        if (b.type === "header") expect(b.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.headerText);
        if (b.type === "context") expect(b.elements.length).toBeLessThanOrEqual(SLACK_LIMITS.contextElements);
      }
      expect(texts(blocks).join("\n")).toContain(mrkdwn(s.headline).slice(0, 40));
    }
  });

  it("Block Kit: host text cannot mention, link, format as code or page a channel", () => {
    const blocks = summaryBlocks(buildSummary(hostile()));
    const all = texts(blocks);
    const joined = all.join("\n");
    expect(joined).not.toContain("<!channel>");
    expect(joined).not.toContain("<script");
    expect(joined).not.toContain("<@U999>");
    expect(joined).not.toMatch(/(^|\s)@here/);
    expect(joined).toContain("&lt;!channel&gt;");
    // every `<` left is one of ours: a mention of a person who did something
    for (const m of joined.matchAll(/</g)) expect(joined.slice(m.index, m.index + 3)).toBe("<@U");
    // host backticks never open or close code: outside our fences, backticks pair up around our own spans
    for (const t of all) {
      const outside = t.replace(/```[\s\S]*?```/g, "");
      expect((outside.match(/`/g) ?? []).length % 2).toBe(0);
      expect(outside).not.toContain("`tick`");
    }
    // the evidence is shown exactly as written, its own fence and all, in a preformatted element
    expect(preformattedTexts(blocks).join("\n")).toContain(
      `gw error.log:1\n  ${HOSTILE} \`\`\`\` still inside`,
    );
  });

  it("Markdown: host text brings no HTML, link or image, and cannot close a code block", () => {
    const markdown = postmortemMarkdown(buildSummary(hostile()), { chartFile: "incident chart (1).png" });
    const prose = outsideCode(markdown);
    expect(prose).not.toMatch(/<[a-z/!]/i);
    expect(prose).not.toMatch(/(?<![\\!])\[[^\]]*\]\(/);
    const images = prose.match(/!\[[^\]]*\]\(/g) ?? [];
    expect(images).toEqual(["![Failing requests per minute on checkout &lt;b&gt;]("]);
    expect(markdown).toContain("](incident%20chart%20%281%29.png)");
    expect(prose).not.toContain("http://evil");
    expect(prose).toContain("\\[link\\]");
    // the hostile evidence's own fence stays inside the block: the line after it is still code
    expect(prose).not.toContain("still inside");
    expect(markdown).toContain("still inside");
  });

  it("Markdown: the postmortem's sections, times in the team's zone with UTC beside", () => {
    const markdown = postmortemMarkdown(buildSummary(fourKills()), { chartFile: "incident-chart.png" });
    const headings = markdown.split("\n").filter((l) => l.startsWith("## "));
    expect(headings).toEqual([
      "## Summary",
      "## Impact",
      "## Root cause",
      "## Trigger",
      "## Detection",
      "## Resolution",
      "## Timeline",
      "## Action items",
      "## Notes",
    ]);
    expect(markdown).toContain(
      "- gw's clock was 10m ahead: its times here are corrected, its log lines show its own.",
    );
    expect(markdown).toContain("![Failing requests per minute on checkout](incident-chart.png)");
    expect(markdown).toContain("- **10:15:53** (09:15:53 UTC) · gw · first 502 on 127.0.0.11:18080");
    expect(markdown).toContain("Times are Europe/Berlin (UTC+01:00), with UTC beside them.");
    expect(markdown).toContain(
      "The first event in the evidence that set it off: OOM kill on checkout-1 at 10:15:53 (09:15:53 UTC).",
    );
    expect(markdown.match(/^- \[ \] /gm)).toHaveLength(3);
  });
});

function pngSize(png: Buffer): { width: number; height: number } {
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  expect(png.subarray(12, 16).toString("latin1")).toBe("IHDR");
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

/**
 * The PNG decoded by resvg itself (drawn as an image into a new SVG of its size): its grey ink, the pixels
 * near black or text grey (titles, ticks, labels; the red bars and the shading are not), and its colours.
 */
function inks(png: Buffer): { grey: number; colours: number } {
  const { width, height } = pngSize(png);
  const decoded = new Resvg(
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${width}" height="${height}"><image width="${width}" height="${height}" xlink:href="data:image/png;base64,${png.toString("base64")}"/></svg>`,
  ).render();
  expect([decoded.width, decoded.height]).toEqual([width, height]);
  const px = decoded.pixels;
  let grey = 0;
  const colours = new Set<number>();
  for (let i = 0; i < px.length; i += 4) {
    const r = px[i] ?? 0;
    const g = px[i + 1] ?? 0;
    const b = px[i + 2] ?? 0;
    if (Math.max(r, g, b) < 120 && Math.max(r, g, b) - Math.min(r, g, b) < 40) grey++;
    colours.add((r << 16) | (g << 8) | b);
  }
  return { grey, colours: colours.size };
}

describe("the chart", () => {
  it("has its font installed (Debian: fonts-dejavu-core)", () => {
    for (const f of FONTS)
      expect(existsSync(f), `${f} is missing: apt-get install fonts-dejavu-core`).toBe(true);
  });

  it("spec: bars per minute, kills and restarts as labelled rules, the alert shaded, titles and the font", async () => {
    const s = buildSummary(fourKills());
    const spec = chartSpec(s) as unknown as { title: { text: string }; config: { font: string } };
    expect(spec.title.text).toBe("checkout: 502s per minute, 2026-12-01");
    expect(spec.config.font).toBe("DejaVu Sans");
    const svg = await chartSvg(chartSpec(s));
    expect(svg).toContain("checkout: 502s per minute, 2026-12-01");
    expect(svg).toContain("time in Europe/Berlin (UTC+01:00)");
    expect(svg).toContain("alert firing 10:15:54 → 10:19:30 (shaded)");
    expect(svg).toContain("failing requests per minute");
    expect(svg).toMatch(/OOM kill ×4 · restart ×4 · checkout-1|OOM kill · restart · checkout-1/);
    expect(svg).toContain("10:15");
    const fonts = [...svg.matchAll(/font-family="([^"]+)"/g)].map((m) => m[1]);
    expect(fonts.length).toBeGreaterThan(5);
    expect(new Set(fonts)).toEqual(new Set(["DejaVu Sans"]));
  });

  it("PNG: decodes, has the width asked and the chart's proportions, is not blank, and its text is drawn", async () => {
    const spec = chartSpec(buildSummary(fourKills()));
    const svg = await chartSvg(spec);
    const svgW = Number(/width="(\d+)"/.exec(svg)?.[1]);
    const svgH = Number(/height="(\d+)"/.exec(svg)?.[1]);
    const png = await renderChartPng(spec, { fontFiles: FONTS, width: 1200 });
    const size = pngSize(png);
    expect(size.width).toBe(1200);
    expect(Math.abs(size.height - Math.round((svgH * 1200) / svgW))).toBeLessThanOrEqual(1);
    const withFont = inks(png);
    expect(withFont.colours).toBeGreaterThan(50);
    const noFont = inks(await renderChartPng(spec, { fontFiles: [], width: 1200 }));
    // with no font, every label, tick and title vanishes: much less ink
    expect(withFont.grey).toBeGreaterThan(noFont.grey * 3);
    expect(withFont.grey - noFont.grey).toBeGreaterThan(2500);
  });
});

describe("the samples in docs/summary", () => {
  it("are what the code makes (WHY502_WRITE_SAMPLES=1 writes them again)", async () => {
    const s = buildSummary(fourKills());
    const markdown = postmortemMarkdown(s, { chartFile: "incident-chart.png" });
    const dir = join(root, "docs/summary");
    if (process.env.WHY502_WRITE_SAMPLES === "1") {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "postmortem-sample.md"), markdown);
      writeFileSync(
        join(dir, "incident-chart.png"),
        await renderChartPng(chartSpec(s), { fontFiles: FONTS }),
      );
      writeFileSync(join(dir, "summary-sample.txt"), summaryText(s));
    }
    expect(readFileSync(join(dir, "postmortem-sample.md"), "utf8")).toBe(markdown);
    expect(pngSize(readFileSync(join(dir, "incident-chart.png"))).width).toBe(1400);
  });
});
