// The bot's whole loop with no hosts and no Slack workspace: `why502 serve` on a SQLite store in a temp
// directory, the local Slack stand-in, collection answered from a recorded lab bundle, the Alertmanager
// webhooks recorded in the lab (firing, then resolved), a button press in the thread. Prints the thread as a
// person reads it, then the post-incident summary, and writes the chart and the postmortem draft.
//   node --import tsx scripts/demo-loop.ts          (npm run demo runs it last)
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadBundle } from "../src/bundle/load.js";
import type { Bundle } from "../src/bundle/schema.js";
import { chartFonts } from "../src/cli/serve.js";
import { Config } from "../src/config/schema.js";
import { inProcessDiagnoser } from "../src/investigate/diagnoser.js";
import { createLogger } from "../src/server/log.js";
import { startBot } from "../src/server/serve.js";
import { explainForSlack } from "../src/slack/explain.js";
import { SqliteStore } from "../src/store/sqlite.js";
import { summaryText } from "../src/summary/render.js";
import { Summary } from "../src/summary/schema.js";
import { blockActionsBody, signSlackRequest } from "../test/support/slack/sign.js";
import { type StandIn, type StoredMessage, startSlackStandIn } from "../test/support/slack/standin.js";

const root = fileURLToPath(new URL("../", import.meta.url));
const CHANNEL = "C0CHECKOUT";
const TOKEN = "demo-alertmanager-token";
const SECRET = "demo-signing-secret";
const out = join(root, "demo-out");
const say = (s: string) => process.stdout.write(`${s}\n`);

/** Block Kit as a person sees it in Slack, near enough, in a terminal. */
function readable(blocks: unknown[] | undefined, text: string): string {
  if (!blocks?.length) return text;
  const plain = (s: string) => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  return (
    blocks as { type: string; text?: { text: string }; elements?: { text?: string | { text: string } }[] }[]
  )
    .map((b) => {
      if (b.type === "header" || b.type === "section") return plain(b.text?.text ?? "");
      if (b.type === "context")
        return `  ${(b.elements ?? []).map((e) => plain(typeof e.text === "string" ? e.text : (e.text?.text ?? ""))).join(" · ")}`;
      if (b.type === "actions")
        return (b.elements ?? [])
          .map((e) => `[${typeof e.text === "string" ? e.text : e.text?.text}]`)
          .join(" ");
      if (b.type === "divider") return "  ────";
      return "";
    })
    .filter(Boolean)
    .join("\n");
}

function show(m: StoredMessage, label: string): void {
  say(`\n── ${label} (${m.bot_id ? "why502" : m.user}) ──`);
  say(readable(m.blocks, m.text));
  for (const f of m.files) say(`  📎 ${f.name} (${f.size} bytes)`);
  if (m.reactions.length) say(`  reactions: ${m.reactions.map((r) => `:${r}:`).join(" ")}`);
}

/**
 * A webhook Alertmanager really sent in the lab, its times moved onto the replayed incident's clock (the
 * recorded bundle and the recorded webhooks come from two lab runs).
 */
function webhook(name: string, startsAt: number, endsAt?: number): string {
  const body = JSON.parse(readFileSync(join(root, "test/lab/alerting/fixtures", name), "utf8")) as {
    alerts: { startsAt: string; endsAt: string }[];
  };
  for (const a of body.alerts) {
    a.startsAt = new Date(startsAt).toISOString();
    if (endsAt !== undefined) a.endsAt = new Date(endsAt).toISOString();
  }
  return JSON.stringify(body);
}

/** The recorded gateway's access log, counted per minute, status and upstream (what the host-side count gives). */
function impactOf(bundle: Bundle) {
  const line =
    /\[(\d{2})\/(\w{3})\/(\d{4}):(\d{2}:\d{2}:\d{2}) ([+-]\d{4})\] "[^"]*" (\d{3}) .* ua="([^"]*)"/;
  const counts = new Map<string, { minute: string; status: number; target: string; count: number }>();
  for (const host of bundle.hosts)
    for (const c of host.role === "gateway" ? host.commands : [])
      for (const l of c.kind === "nginx-access" ? c.stdout.split("\n") : []) {
        const m = line.exec(l);
        if (!m) continue;
        const [, day, month, year, time, zone, status, ua] = m;
        const t = Date.parse(`${month} ${day} ${year} ${time} GMT${zone}`);
        const minute = new Date(Math.floor(t / 60_000) * 60_000).toISOString();
        const target = (ua ?? "-").split(/, | : /).at(-1) ?? "-";
        const key = `${minute}|${status}|${target}`;
        const row = counts.get(key) ?? { minute, status: Number(status), target, count: 0 };
        row.count++;
        counts.set(key, row);
      }
  return { perMinute: [...counts.values()], complete: true };
}

const dir = mkdtempSync(join(tmpdir(), "why502-demo-"));
let standin: StandIn | undefined;
let bot: Awaited<ReturnType<typeof startBot>> | undefined;
let store: SqliteStore | undefined;
try {
  standin = await startSlackStandIn();
  const config = Config.parse({
    slack: { api_url: standin.url, channel: CHANNEL },
    store: { sqlite: join(dir, "why502.db") },
    alerts: { sources: { alertmanager: { bearer_env: "WHY502_ALERTMANAGER_TOKEN" } } },
    hosts: { gw: { address: "127.0.0.10" } },
    services: {
      checkout: { upstream: "checkout", gateways: [{ host: "gw" }], backends: { from_upstream: true } },
    },
  });
  store = SqliteStore.open(join(dir, "why502.db"));
  // Collection is answered by the lab's recorded oom incident: no host is contacted. The bot runs on that
  // incident's clock, so the alert, the diagnosis and the button press line up with the evidence.
  const recorded = loadBundle(join(root, "playbooks/cases/lab-oom/bundle.json"));
  const offset = Date.now() - (Date.parse(recorded.collectedAt) + 1000);
  const now = () => Date.now() - offset;
  const alertStart = now() - 200;
  bot = await startBot({
    config,
    store,
    secrets: { botToken: "xoxb-standin", signingSecret: SECRET },
    env: {},
    secretEnv: { WHY502_ALERTMANAGER_TOKEN: TOKEN },
    diagnose: inProcessDiagnoser(join(root, "playbooks/why502.yaml")),
    explain: explainForSlack,
    log: createLogger("silent"),
    port: 0,
    host: "127.0.0.1",
    fontFiles: chartFonts(process.env),
    collect: async () => recorded,
    impact: async () => impactOf(recorded),
    now,
  });
  const hook = (body: string) =>
    fetch(`http://127.0.0.1:${bot?.port}/hooks/alertmanager`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      body,
    });
  const s = standin;
  say("why502 demo: the whole loop, from an Alertmanager firing to the postmortem draft.");
  say(
    `$ POST /hooks/alertmanager  (the firing Alertmanager sent in the lab) → ${(await hook(webhook("alertmanager-firing.json", alertStart))).status}`,
  );
  const parent = await s.waitFor(() => s.messages(CHANNEL)[0], 10_000);
  const reply = await s.waitFor(() => s.replies(CHANNEL, parent.ts)[0], 30_000);
  const runId = /why502_actions_([^"]+)"/.exec(JSON.stringify(reply.blocks))?.[1] ?? "";
  const body = blockActionsBody({
    action_id: "why502_feedback_yes",
    value: runId,
    message_ts: reply.ts,
    response_url: s.responseUrl(),
  });
  const pressed = await fetch(`http://127.0.0.1:${bot.port}/slack/events`, {
    method: "POST",
    headers: signSlackRequest(SECRET, body),
    body,
  });
  say(`$ @ana presses "Right" on the diagnosis → ${pressed.status}`);
  await s.waitFor(() => s.ephemerals(CHANNEL)[0], 10_000);
  say(
    `$ POST /hooks/alertmanager  (the resolved Alertmanager sent in the lab) → ${(await hook(webhook("alertmanager-resolved.json", alertStart, now()))).status}`,
  );
  await s.waitFor(
    () => s.replies(CHANNEL, parent.ts).find((m) => m.files.some((f) => f.name.endsWith(".md"))),
    30_000,
  );
  await s.waitFor(
    () => /Resolved/.test(s.messages(CHANNEL)[0]?.text ?? "") && s.messages(CHANNEL)[0],
    10_000,
  );

  const top = s.messages(CHANNEL)[0] as StoredMessage;
  say(`\n${"═".repeat(100)}\n#checkout-oncall, as the on-call engineer reads it\n${"═".repeat(100)}`);
  top.edits.forEach((e, i) => {
    say(`\n── parent, version ${i + 1} of ${top.edits.length}${i === 0 ? " (posted)" : " (edited)"} ──`);
    say(readable(e.blocks, e.text));
  });
  say(`  reactions: ${top.reactions.map((r) => `:${r}:`).join(" ")}`);
  for (const [i, m] of s.replies(CHANNEL, parent.ts).entries()) show(m, `thread reply ${i + 1}`);
  for (const e of s.ephemerals(CHANNEL)) say(`\n── only @ana sees: ${e.text}`);

  const inc = (await store.recentIncidents(1))[0];
  const saved = inc ? await store.incidentSummary(inc.id) : undefined;
  if (saved?.summaryJson) {
    say(`\n${"═".repeat(100)}\n$ why502 summary ${inc?.id}\n${"═".repeat(100)}`);
    process.stdout.write(summaryText(Summary.parse(JSON.parse(saved.summaryJson))));
  }
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  for (const m of s.replies(CHANNEL, parent.ts))
    for (const f of m.files) writeFileSync(join(out, f.name), f.content);
  say(`\nThe chart and the postmortem draft are in ${out}/`);
} finally {
  await bot?.stop();
  await store?.close();
  await standin?.close();
  rmSync(dir, { recursive: true, force: true });
}
