import { rmSync } from "node:fs";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { faketimeLibrary } from "../lab/skew.js";
import type { StandIn, StoredMessage } from "../support/slack/standin.js";
import { startSlackStandIn } from "../support/slack/standin.js";
import { type BotDir, botConfig } from "./bot-config.js";
import { httpRequest, killServe, type Serve, slash, startServe, stopServe } from "./serve-process.js";

let standin: StandIn | undefined;
const bots: Serve[] = [];
let dir: BotDir | undefined;
afterEach(async () => {
  for (const b of bots.splice(0)) await stopServe(b);
  await standin?.close();
  standin = undefined;
  if (dir) rmSync(dir.dir, { recursive: true, force: true });
  dir = undefined;
});

const CHANNEL = "C0CHECKOUT";

async function setup() {
  standin = await startSlackStandIn();
  dir = botConfig({ apiUrl: standin.url });
  return { standin, dir };
}

/** How much faster serve's clock runs than the test's in the minute-long outage. */
const SPEED = 10;

async function serve(d: BotDir, env?: Record<string, string>): Promise<Serve> {
  const b = await startServe({ config: d.config, mode: "http", ...(env ? { env } : {}) });
  bots.push(b);
  return b;
}

/** Resolves once the run is recorded done in the store (read from outside, as an operator would). */
async function runDone(db: string, s: StandIn): Promise<void> {
  const done = () => {
    const d = new Database(db, { readonly: true, timeout: 1000 });
    try {
      return (d.prepare("SELECT count(*) AS n FROM runs WHERE state = 'done'").get() as { n: number }).n > 0;
    } finally {
      d.close();
    }
  };
  // Each failed Slack call is an event at the stand-in; the run finishes between them.
  await s.waitFor(() => done(), 20_000);
}

/** The whole conversation has landed: the parent edited to the verdict and marked with its reaction. */
function landed(s: StandIn): StoredMessage | undefined {
  const p = s.messages(CHANNEL)[0];
  if (!p || p.reactions.length === 0 || p.reactions.includes("hourglass_flowing_sand")) return undefined;
  return /details in the thread/.test(JSON.stringify(p.edits.at(-1) ?? {})) ? p : undefined;
}

function exactlyOnce(s: StandIn) {
  const top = s.messages(CHANNEL);
  expect(top).toHaveLength(1);
  const parent = top[0] as StoredMessage;
  const replies = s.replies(CHANNEL, parent.ts);
  expect(replies).toHaveLength(1);
  expect(replies[0]?.text).toMatch(/checkout/);
  return { parent, reply: replies[0] as StoredMessage };
}

async function outboxDepth(b: Serve): Promise<number> {
  const m = (await httpRequest(b.port, "/metrics")).body;
  return Number(/^why502_outbox_depth (\d+)/m.exec(m)?.[1] ?? Number.NaN);
}

describe("every message arrives exactly once", () => {
  it("Slack answers 429 with Retry-After, then 200", async () => {
    const { standin, dir } = await setup();
    const b = await serve(dir);
    standin.fault("chat.postMessage", { kind: "429", retryAfter: 1 }, 1);
    await slash(b, standin, "checkout");
    await standin.waitFor(() => landed(standin), 20_000);
    exactlyOnce(standin);
    const posts = standin.calls.filter((c) => c.method === "chat.postMessage");
    expect(posts[0]?.status).toBe(429);
    // Slack asked for a second: the retry waited for it.
    expect((posts[1]?.at ?? 0) - (posts[0]?.at ?? 0)).toBeGreaterThanOrEqual(1000);
    expect(await outboxDepth(b)).toBe(0);
  });

  it("Slack answering 500 for a minute, then back: readiness says so meanwhile, and nothing is lost or doubled", async () => {
    const { standin, dir } = await setup();
    // serve's clock runs ten times as fast (libfaketime): its minute of 500s, retries and backoff take 6 s here.
    const b = await serve(dir, { LD_PRELOAD: faketimeLibrary(), FAKETIME: `+0 x${SPEED}` });
    standin.down(true, "500");
    const downAt = performance.now();
    const ack = await slash(b, standin, "checkout");
    expect(ack.status).toBe(200);
    await runDone(dir.db, standin);
    await standin.waitFor(() => standin.calls.filter((c) => c.status === 500).length >= 2, 10_000);
    expect((await httpRequest(b.port, "/readyz")).status).toBe(503);
    // Slack comes back after a minute of serve's time.
    await new Promise((r) => setTimeout(r, Math.max(0, 60_000 / SPEED - (performance.now() - downAt))));
    const failures = standin.calls.filter((c) => c.status === 500).length;
    standin.down(false);
    await standin.waitFor(() => landed(standin), 20_000);
    exactlyOnce(standin);
    expect((await httpRequest(b.port, "/readyz")).status).toBe(200);
    expect(await outboxDepth(b)).toBe(0);
    // By serve's own clock the failing calls spanned most of a minute, retried with backoff throughout.
    const retries = b.logLines().filter((l) => l.msg === "Slack call failed; will retry");
    const span = Date.parse(String(retries.at(-1)?.time)) - Date.parse(String(retries[0]?.time));
    expect(span).toBeGreaterThan(40_000);
    expect(failures).toBeGreaterThanOrEqual(5);
  }, 60_000);

  it("kill -9 with the reply still in the outbox, then a restart: the restart sends it, once", async () => {
    const { standin, dir } = await setup();
    const first = await serve(dir);
    standin.down(true, "500");
    await slash(first, standin, "checkout");
    await runDone(dir.db, standin);
    await killServe(first);
    standin.down(false);
    const calls = standin.calls.length;
    const second = await serve(dir);
    await standin.waitFor(() => landed(standin), 20_000);
    exactlyOnce(standin);
    // The restart did not investigate again: it only sent what was owed.
    expect(second.logLines().filter((l) => l.msg === "diagnosis")).toHaveLength(0);
    expect(standin.calls.length).toBeGreaterThan(calls);
  });

  it("kill -9 after Slack accepted the reply but before the store recorded it: found by its metadata, not posted again", async () => {
    const { standin, dir } = await setup();
    const first = await serve(dir);
    standin.down(true, "500");
    await slash(first, standin, "checkout");
    await runDone(dir.db, standin);
    // The first post to get through is the parent; the next one (the thread reply) is accepted and never answered.
    standin.events.on("call", function armed(c: { method: string; status?: number }) {
      if (c.method === "chat.postMessage" && c.status === 200) {
        standin.events.off("call", armed);
        standin.fault("chat.postMessage", { kind: "accept-then-hang" }, 1);
      }
    });
    const hung = new Promise<void>((resolve) => standin.events.once("hang", () => resolve()));
    standin.down(false);
    await hung;
    const parent = standin.messages(CHANNEL)[0] as StoredMessage;
    expect(standin.replies(CHANNEL, parent.ts)).toHaveLength(1);
    await killServe(first);
    const second = await serve(dir);
    await standin.waitFor(() => landed(standin), 20_000);
    exactlyOnce(standin);
    const lookups = standin.calls.filter((c) => c.method === "conversations.replies");
    expect(lookups.length).toBeGreaterThan(0);
    expect(String(lookups[0]?.params.include_all_metadata)).toBe("true");
    expect(second.logLines().some((l) => l.msg === "message was already in Slack: not posted again")).toBe(
      true,
    );
  });

  it("kill -9 after Slack accepted the parent but before the store recorded it: the channel's history is searched", async () => {
    const { standin, dir } = await setup();
    const first = await serve(dir);
    standin.down(true, "500");
    await slash(first, standin, "checkout");
    await runDone(dir.db, standin);
    standin.fault("chat.postMessage", { kind: "accept-then-hang" }, 1);
    const hung = new Promise<void>((resolve) => standin.events.once("hang", () => resolve()));
    standin.down(false);
    await hung;
    expect(standin.messages(CHANNEL)).toHaveLength(1);
    await killServe(first);
    await serve(dir);
    await standin.waitFor(() => landed(standin), 20_000);
    exactlyOnce(standin);
    expect(standin.calls.some((c) => c.method === "conversations.history")).toBe(true);
  });
});
