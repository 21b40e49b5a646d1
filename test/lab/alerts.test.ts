import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { type Serve, startServe, stopServe } from "../slack/serve-process.js";
import { type StandIn, startSlackStandIn } from "../support/slack/standin.js";
import { type AlertChain, startAlertChain } from "./alerting/alert-chain.js";
import { type Lab, startLab } from "./lab.js";
import { writeLabConfig } from "./lab-config.js";
import { runScenario } from "./scenarios.js";

const CHANNEL = "C0CHECKOUT";
const TOKEN = "lab-alertmanager-token";

let lab: Lab | undefined;
let standin: StandIn | undefined;
let bot: Serve | undefined;
let chain: AlertChain | undefined;
afterEach(async () => {
  await chain?.stop();
  chain = undefined;
  await stopServe(bot);
  bot = undefined;
  await standin?.close();
  standin = undefined;
  const l = lab;
  lab = undefined;
  await l?.stop();
});

describe("the real alert chain: nginx → mtail → Prometheus → Alertmanager → why502 → Slack", () => {
  it("the oom scenario becomes one incident with the right diagnosis in its thread; resolved closes it", async () => {
    lab = await startLab({ scenario: "oom" });
    standin = await startSlackStandIn();
    const path = writeLabConfig(lab.info, join(lab.dir, "why502.yaml"));
    const config = parse(readFileSync(path, "utf8")) as Record<string, Record<string, unknown>>;
    config.slack = { api_url: standin.url, channel: CHANNEL };
    config.store = { sqlite: join(lab.dir, "why502.db") };
    config.alerts = { sources: { alertmanager: { bearer_env: "WHY502_ALERTMANAGER_TOKEN" } } };
    config.defaults = { ...config.defaults, window: "1m" };
    writeFileSync(path, stringify(config));
    bot = await startServe({ config: path, mode: "http", env: { WHY502_ALERTMANAGER_TOKEN: TOKEN } });
    chain = await startAlertChain({
      accessLog: lab.info.gateway.nginx.accessLog,
      webhookUrl: `http://127.0.0.1:${bot.port}/hooks/alertmanager`,
      bearerToken: TOKEN,
      service: "checkout",
    });
    const summary = await runScenario(lab, "oom");
    const want = summary.expected.map((e) => `${e.target} ${e.verdict}`);
    const s = standin;
    const parent = await s.waitFor(() => s.messages(CHANNEL)[0], 30_000);
    expect(parent.edits[0]?.text ?? parent.text).toMatch(/Investigating 502s on checkout/);
    expect(JSON.stringify(parent.edits[0]?.blocks ?? parent.blocks)).toMatch(/an alert from Alertmanager/);
    const reply = await s.waitFor(() => s.replies(CHANNEL, parent.ts)[0], 60_000);
    const verdicts = JSON.stringify(reply.blocks);
    for (const w of want) {
      const [target, cause] = w.split(" ");
      expect(verdicts).toContain(`target \`${target}\``);
      expect(verdicts).toContain(`\`${cause}\``);
    }
    // The backend is back (the supervisor restarted it): no 502 for one rate window, and Alertmanager resolves.
    const closed = await s.waitFor(() => {
      const p = s.messages(CHANNEL)[0];
      return p && /Resolved after/.test(p.text) && p;
    }, 90_000);
    expect(closed.text).toMatch(/^checkout: Resolved after/);
    expect(JSON.stringify(closed.blocks)).toMatch(/OOM-killed/);
    // The post-incident summary in the thread, its chart and postmortem draft really uploaded.
    const files = await s.waitFor(
      () => s.replies(CHANNEL, parent.ts).find((m) => m.files.length >= 2),
      30_000,
    );
    const png = files.files.find((f) => f.name.endsWith(".png"));
    expect(png?.content.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
    expect(files.files.find((f) => f.name.endsWith(".postmortem.md"))?.content.toString("utf8")).toMatch(
      /^## Timeline$/m,
    );
    const summaryMsg = s.replies(CHANNEL, parent.ts).find((m) => /^Resolved after/.test(m.text));
    expect(summaryMsg).toBeDefined();
    // Its numbers are the access log's, counted here independently of the bot.
    const db = new Database(join(lab.dir, "why502.db"), { readonly: true });
    const stored = db.prepare("SELECT summary_json FROM incidents").get() as { summary_json: string };
    db.close();
    const impact = (
      JSON.parse(stored.summary_json) as {
        impact: { measured: boolean; status502: number; requests?: number };
      }
    ).impact;
    const lines = readFileSync(lab.info.gateway.nginx.accessLog, "utf8").split("\n").filter(Boolean);
    const status = (l: string) => /^\S+ - \S+ \[[^\]]+\] "[^"]*" (\d{3}) /.exec(l)?.[1];
    expect(impact.measured).toBe(true);
    expect(impact.status502).toBe(lines.filter((l) => status(l) === "502").length);
    expect(impact.requests).toBe(lines.filter((l) => status(l) !== undefined).length);
    expect(s.messages(CHANNEL)).toHaveLength(1);
    const webhooks = bot.logLines().filter((l) => l.msg === "webhook");
    expect(webhooks.length).toBeGreaterThanOrEqual(2);
  }, 180_000);
});
