import { rmSync } from "node:fs";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { type StandIn, startSlackStandIn } from "../support/slack/standin.js";
import { type BotDir, botConfig } from "./bot-config.js";
import { httpRequest, postSigned, type Serve, slash, startServe, stopServe } from "./serve-process.js";

let standin: StandIn | undefined;
let bot: Serve | undefined;
let dir: BotDir | undefined;
afterEach(async () => {
  await stopServe(bot);
  bot = undefined;
  await standin?.close();
  standin = undefined;
  if (dir) rmSync(dir.dir, { recursive: true, force: true });
  dir = undefined;
});

async function start(mode: "http" | "socket", access?: object, gatewayPort?: number) {
  standin = await startSlackStandIn();
  dir = botConfig({ apiUrl: standin.url, access, gatewayPort });
  bot = await startServe({ config: dir.config, mode });
  if (mode === "socket") await standin.waitFor(() => (standin?.socketConnections() ?? 0) > 0, 10_000);
  return { standin, bot, dir };
}

function runsIn(db: string): number {
  const d = new Database(db, { readonly: true });
  try {
    return (d.prepare("SELECT count(*) AS n FROM runs").get() as { n: number }).n;
  } finally {
    d.close();
  }
}

describe.each(["http", "socket"] as const)("why502 serve (%s mode)", (mode) => {
  it("acks a slash command at once, posts a parent, the diagnosis in its thread, and edits the parent to the verdict", async () => {
    const { standin, bot } = await start(mode);
    const r = await slash(bot, standin, "checkout 15m");
    if (mode === "http") expect(r.status).toBe(200);
    expect(r.ack ?? {}).toEqual({});
    const parent = await standin.waitFor(() => standin.messages("C0CHECKOUT")[0], 10_000);
    expect(parent.text).toMatch(/Investigating 502s on checkout, last 15m/);
    const reply = await standin.waitFor(() => standin.replies("C0CHECKOUT", parent.ts)[0], 20_000);
    expect(reply.metadata?.event_type).toBe("why502_message");
    expect(JSON.stringify(reply.blocks)).toContain("why502_rerun");
    const edited = await standin.waitFor(() => {
      const p = standin.messages("C0CHECKOUT")[0];
      return p && p.edits.length > 0 && /details in the thread/.test(JSON.stringify(p.edits.at(-1))) && p;
    }, 10_000);
    expect(edited.edits.at(-1)?.text).toMatch(/checkout/);
    expect(standin.messages("C0CHECKOUT")).toHaveLength(1);
  });

  it("answers help, unknown services and odd text in the ack, and starts nothing", async () => {
    const { standin, bot, dir } = await start(mode, { search: { users: ["U0BOB"] } });
    const help = await slash(bot, standin, "help");
    expect(help.ack).toMatchObject({
      response_type: "ephemeral",
      text: expect.stringContaining("`checkout`"),
    });
    expect((help.ack as { text: string }).text).not.toContain("`search`");
    const unknown = await slash(bot, standin, "chekout");
    expect((unknown.ack as { text: string }).text).toMatch(
      /I know no service "chekout". Did you mean `checkout`/,
    );
    const denied = await slash(bot, standin, "search");
    expect((denied.ack as { text: string }).text).toBe(
      "search can be diagnosed only by <@U0BOB>: ask one of them.",
    );
    for (const odd of [
      "$(reboot)",
      "checkout; rm -rf /",
      "`id`",
      "chéckout\nsearch",
      "ｃｈｅｃｋｏｕｔ",
      "x".repeat(10_240),
    ]) {
      const r = await slash(bot, standin, odd);
      const text = (r.ack as { text?: string } | undefined)?.text ?? "";
      expect(text, odd.slice(0, 20)).toMatch(/I know no service|nothing more|too long|not a window/);
      expect(text).not.toMatch(/`id`|<!|\n/);
    }
    expect(runsIn(dir.db)).toBe(0);
    expect(standin.calls.filter((c) => c.method === "chat.postMessage")).toHaveLength(0);
    const metrics = await httpRequest(bot.port, "/metrics");
    expect(metrics.body).toMatch(/why502_requests_rejected_total\{reason="unknown_service"\} [1-9]/);
    expect(metrics.body).toMatch(/why502_requests_rejected_total\{reason="not_allowed"\} 1/);
  });
});

describe("why502 serve, one investigation at a time", () => {
  let silent: Server | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await new Promise<void>((r) => (silent ? silent.close(() => r()) : r()));
    silent = undefined;
  });

  it("a second request for the same service in the same channel joins the running one", async () => {
    // A gateway that accepts TCP and never speaks SSH: collection waits for its connect timeout.
    silent = createServer((sock) => sockets.push(sock));
    await new Promise<void>((r) => silent?.listen(0, "127.0.0.1", () => r()));
    const port = (silent.address() as AddressInfo).port;
    const { standin, bot, dir } = await start("http", undefined, port);
    await slash(bot, standin, "checkout");
    await standin.waitFor(() => sockets.length > 0, 10_000);
    const second = await slash(bot, standin, "checkout 2h", { user: "U0BOB" });
    expect(second.status).toBe(200);
    const joined = await standin.waitFor(
      () => standin.ephemerals("C0CHECKOUT").find((e) => e.user === "U0BOB"),
      10_000,
    );
    expect(joined.text).toBe(
      "Already investigating checkout here (asked by <@U0ANA>): the diagnosis lands in that thread.",
    );
    const parent = await standin.waitFor(() => standin.messages("C0CHECKOUT")[0], 10_000);
    await standin.waitFor(() => standin.replies("C0CHECKOUT", parent.ts)[0], 20_000);
    expect(standin.messages("C0CHECKOUT")).toHaveLength(1);
    expect(runsIn(dir.db)).toBe(1);
  });
});

describe("why502 serve on SQLite is one replica", () => {
  it("a second serve on the same file refuses to start and says to use PostgreSQL", async () => {
    const { dir } = await start("http");
    const second = await startServe({ config: dir.config, mode: "http" }).then(
      () => "started",
      (e: Error) => e.message,
    );
    expect(second).toMatch(/serve exited \(2\) before it served/);
    expect(second).toMatch(
      /why502: The store .*why502\.db is in use by another why502 serve \(pid \d+ on [^)]+\): SQLite serves one replica; for several, use PostgreSQL/,
    );
  });
});

describe("why502 serve, HTTP mode security", () => {
  it("refuses forged, unsigned and replayed requests with 401, and runs nothing", async () => {
    const { bot, dir, standin } = await start("http");
    const body = new URLSearchParams({
      command: "/why502",
      text: "checkout",
      user_id: "U0ANA",
      channel_id: "C0CHECKOUT",
    }).toString();
    const forged = await postSigned(bot.port, body, { secret: "not-the-secret" });
    expect(forged.status).toBe(401);
    const unsigned = await httpRequest(bot.port, "/slack/events", {
      method: "POST",
      body,
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(unsigned.status).toBe(401);
    const replayed = await postSigned(bot.port, body, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
    expect(replayed.status).toBe(401);
    expect(runsIn(dir.db)).toBe(0);
    expect(standin.calls.filter((c) => c.method.startsWith("chat."))).toHaveLength(0);
    const metrics = await httpRequest(bot.port, "/metrics");
    expect(metrics.body).toMatch(/why502_requests_rejected_total\{reason="bad_signature"\} 3/);
  });

  it("/healthz, /readyz and /metrics answer, and the metrics move when a diagnosis runs", async () => {
    const { bot, standin } = await start("http");
    expect((await httpRequest(bot.port, "/healthz")).status).toBe(200);
    const ready = await httpRequest(bot.port, "/readyz");
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toMatchObject({
      ready: true,
      checks: { config: { ok: true }, store: { ok: true }, slack: { ok: true } },
    });
    const before = (await httpRequest(bot.port, "/metrics")).body;
    expect(before).not.toMatch(/why502_diagnoses_total\{/);
    await slash(bot, standin, "checkout");
    const parent = await standin.waitFor(() => standin.messages("C0CHECKOUT")[0], 10_000);
    await standin.waitFor(() => standin.replies("C0CHECKOUT", parent.ts)[0], 20_000);
    const after = (await httpRequest(bot.port, "/metrics")).body;
    expect(after).toMatch(/why502_diagnoses_total\{verdict="[a-z_]+",source="slash"\} 1/);
    expect(after).toMatch(/why502_diagnosis_duration_seconds_count 1/);
    expect(after).toMatch(/why502_hosts_failed_total\{reason="auth_failed"\} 1/);
    expect(after).toMatch(/why502_slack_api_calls_total\{method="chat.postMessage"\} [2-9]/);
  });
});
