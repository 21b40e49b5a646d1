import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import {
  httpRequest,
  mention,
  press,
  type Serve,
  slash,
  startServe,
  stopServe,
} from "../slack/serve-process.js";
import { type StandIn, type StoredMessage, startSlackStandIn } from "../support/slack/standin.js";
import { type Lab, startLab } from "./lab.js";
import { writeLabConfig } from "./lab-config.js";
import type { ScenarioName } from "./lab-info.js";
import { runScenario, type ScenarioSummary } from "./scenarios.js";

const CHANNEL = "C0CHECKOUT";

let lab: Lab | undefined;
let standin: StandIn | undefined;
let bot: Serve | undefined;
afterEach(async () => {
  await stopServe(bot);
  bot = undefined;
  await standin?.close();
  standin = undefined;
  const l = lab;
  lab = undefined;
  await l?.stop();
});

/** The lab's why502.yaml plus the slack: and store: sections a team adds to run the bot. */
function botConfigFor(l: Lab, summary: ScenarioSummary, apiUrl: string): string {
  const path = writeLabConfig(l.info, join(l.dir, "why502.yaml"), { extraInstances: summary.extraInstances });
  const config = parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  config.slack = { api_url: apiUrl, channel: CHANNEL };
  config.store = { sqlite: join(l.dir, "why502.db") };
  writeFileSync(path, stringify(config));
  return path;
}

async function scenarioBot(scenario: ScenarioName, mode: "http" | "socket") {
  lab = await startLab({ scenario });
  const summary = await runScenario(lab, scenario);
  standin = await startSlackStandIn();
  bot = await startServe({ config: botConfigFor(lab, summary, standin.url), mode });
  if (mode === "socket") {
    const s = standin;
    await s.waitFor(() => s.socketConnections() > 0, 10_000);
  }
  const want = summary.expected
    .filter((e) => e.verdict !== "healthy")
    .map((e) => `${e.target} ${e.verdict}`)
    .sort();
  return { lab, summary, standin, bot, want };
}

/** The verdicts a thread reply shows: `cause` and `target` from each verdict's context line. */
function verdictsIn(reply: StoredMessage): string[] {
  const out: string[] = [];
  for (const b of (reply.blocks ?? []) as { type: string; elements?: { text?: string }[] }[]) {
    if (b.type !== "context") continue;
    const texts = (b.elements ?? []).map((e) => e.text ?? "");
    const cause = /^`([a-z_]+)`$/.exec(texts[0] ?? "")?.[1];
    const target = /^target `(.+)`$/.exec(texts[1] ?? "")?.[1];
    if (cause && target) out.push(`${target} ${cause}`);
  }
  return out.sort();
}

async function diagnosedInThread(s: StandIn, b: Serve, text: string) {
  const ack = await slash(b, s, text);
  expect(ack.ms).toBeLessThan(3000);
  const parent = await s.waitFor(() => s.messages(CHANNEL)[0], 10_000);
  expect(parent.edits[0]?.text ?? parent.text).toMatch(/Investigating 502s on checkout/);
  const reply = await s.waitFor(() => s.replies(CHANNEL, parent.ts)[0], 60_000);
  const edited = await s.waitFor(() => {
    const p = s.messages(CHANNEL)[0];
    return p && /details in the thread/.test(JSON.stringify(p.edits.at(-1) ?? {})) && p;
  }, 20_000);
  return { ack, parent: edited, reply };
}

describe.each(["http", "socket"] as const)("the Slack app over %s, against the lab over real SSH", (mode) => {
  for (const scenario of ["oom", "stale-upstream"] as const) {
    it(`${scenario}: acked, a parent, the right verdicts in its thread, the parent edited to the verdict`, async () => {
      const { standin, bot, want } = await scenarioBot(scenario, mode);
      const { parent, reply } = await diagnosedInThread(standin, bot, "checkout 1m");
      expect(verdictsIn(reply)).toEqual(want);
      // The parent says what failed; its reaction shows the state without opening the thread.
      expect(parent.text).toMatch(/^checkout: /);
      expect(parent.reactions).toContain("red_circle");
      expect(parent.reactions).not.toContain("hourglass_flowing_sand");
      if (scenario === "oom") {
        expect(JSON.stringify(reply.blocks)).toMatch(
          /Memory cgroup out of memory: Killed process \d+ \(node\)/,
        );
      }
      expect(standin.messages(CHANNEL)).toHaveLength(1);
    });
  }
});

describe("buttons and mentions in a diagnosis thread (lab, HTTP mode)", () => {
  it("Re-run, Full evidence, Was this right?, and @why502 rerun / evidence / explain / help", async () => {
    const { standin, bot, want } = await scenarioBot("oom", "http");
    const { parent, reply } = await diagnosedInThread(standin, bot, "checkout 1m");
    const runId = /why502_actions_([0-9a-f-]+)/.exec(JSON.stringify(reply.blocks))?.[1] ?? "";
    expect(runId).not.toBe("");
    const thread = () => standin?.replies(CHANNEL, parent.ts) ?? [];

    // Was this right? yes: stored, counted by verdict, thanked privately.
    await press(bot, standin, "why502_feedback_yes", runId, reply.ts);
    await standin.waitFor(
      () => standin.ephemerals(CHANNEL).find((e) => /diagnosis was right/.test(e.text)),
      10_000,
    );
    const metrics = (await httpRequest(bot.port, "/metrics")).body;
    expect(metrics).toMatch(/why502_feedback_total\{verdict="oom_killed",answer="yes"\} 1/);

    // Full evidence: the bundle and the report, really uploaded through the external upload flow, in the thread.
    await press(bot, standin, "why502_evidence", runId, reply.ts);
    const files = await standin.waitFor(() => thread().find((m) => m.files.length > 0), 20_000);
    expect(standin.calls.some((c) => c.method === "files.getUploadURLExternal")).toBe(true);
    expect(standin.calls.some((c) => c.method === "files.completeUploadExternal")).toBe(true);
    const byName = new Map(files.files.map((f) => [f.name.split(".").slice(-2).join("."), f]));
    const bundle = JSON.parse(byName.get("bundle.json")?.content.toString("utf8") ?? "{}") as {
      service?: string;
    };
    expect(bundle.service).toBe("checkout");
    const report = byName.get("report.md")?.content.toString("utf8") ?? "";
    expect(report).toMatch(/## Decision path/);
    expect(report).toMatch(/Memory cgroup out of memory: Killed process \d+/);

    // Re-run: a second diagnosis in the same thread, the parent edited again, no new top-level message.
    await press(bot, standin, "why502_rerun", runId, reply.ts);
    const second = await standin.waitFor(() => thread().filter((m) => /^checkout: /.test(m.text))[1], 60_000);
    expect(verdictsIn(second)).toEqual(want);
    expect(second.reply_broadcast).toBe(false);

    // Mentions in the thread.
    await mention(bot, standin, "help", parent.ts);
    await standin.waitFor(() => thread().find((m) => /@why502 rerun \[window\]/.test(m.text)), 10_000);
    const oomLine = (JSON.stringify(reply.blocks).match(
      /Memory cgroup out of memory: Killed process \d+ \(node\)[^\\"]*/,
    ) ?? [""])[0];
    await mention(bot, standin, `explain ${oomLine}`, parent.ts);
    const explained = await standin.waitFor(
      () => thread().find((m) => /\*why502 explain\*:/.test(JSON.stringify(m.blocks ?? ""))),
      10_000,
    );
    expect(JSON.stringify(explained.blocks)).toMatch(/1 kernel/);
    expect(JSON.stringify(explained.blocks)).toMatch(/oom|out of memory/i);
    await mention(bot, standin, "evidence", parent.ts);
    await standin.waitFor(() => thread().filter((m) => m.files.length > 0)[1], 20_000);
    await mention(bot, standin, "rerun 2m", parent.ts);
    const third = await standin.waitFor(() => thread().filter((m) => /^checkout: /.test(m.text))[2], 60_000);
    expect(verdictsIn(third)).toEqual(want);
    expect(standin.messages(CHANNEL)).toHaveLength(1);
  });
});
