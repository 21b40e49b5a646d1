import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { App } from "@slack/bolt";
import fc from "fast-check";
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { fuzzConfig } from "../../test/fuzz/fuzz-config.js";
import { hostileText, MAX_REPLY, serviceName, windowText } from "../../test/fuzz/hostile.js";
import { expectReferencePlan, referenceScripts } from "../../test/fuzz/plan-reference.js";
import { plannedScripts } from "../../test/fuzz/script-check.js";
import { fuzzSettings } from "../../test/support/fuzz.js";
import { OWN_BREAKS } from "../diagnosis/render/escape.js";
import { createMetrics } from "../server/metrics.js";
import { OutboxWriter } from "../server/outbox-writer.js";
import { SqliteStore } from "../store/sqlite.js";
import type { NewOutbox } from "../store/types.js";
import { registerHandlers } from "./app.js";
import { explainForSlack } from "./explain.js";
import type { UsergroupCache } from "./usergroups.js";

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const USER = "U0FUZZ";
const CHANNEL = "C0FUZZ";
const THREAD = "1795608000.000100";
const dir = mkdtempSync(join(tmpdir(), "why502-app-fuzz-"));
const store = SqliteStore.open(join(dir, "why502.db"));
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const config = fuzzConfig();
const services = Object.keys(config.services);
const reference = await referenceScripts(config, NOW);

/** What the handlers sent: the ack's text and every outbox entry, in order. */
const sent: { acks: unknown[]; outbox: NewOutbox[] } = { acks: [], outbox: [] };
class RecordingOutbox extends OutboxWriter {
  override add(e: NewOutbox) {
    sent.outbox.push(e);
    return super.add(e);
  }
}

type Handler = (args: Record<string, unknown>) => Promise<void>;
const handlers: Record<string, Handler> = {};
/** Bolt's registration methods, keeping the handlers for the test to call as Bolt would. */
const app = {
  command: (_: string, h: Handler) => {
    handlers.command = h;
  },
  event: (_: string, h: Handler) => {
    handlers.mention = h;
  },
  action: (_: unknown, h: Handler) => {
    handlers.action = h;
  },
} as unknown as App;
registerHandlers(app, {
  config,
  store,
  outbox: new RecordingOutbox(
    store,
    () => undefined,
    () => NOW,
  ),
  wakeRunner: () => undefined,
  wakeIncidents: () => undefined,
  usergroups: { cached: () => true, members: async () => [] } as unknown as UsergroupCache,
  log: pino({ level: "silent" }),
  metrics: createMetrics(async () => 0),
  explain: explainForSlack,
  now: () => NOW,
});

/** A finished run with a thread, so that mentions in it can ask for a rerun or its evidence. */
await store.createRun(
  {
    id: "base-run",
    service: "checkout",
    sinceMs: NOW - 1_800_000,
    windowText: "30m",
    requestedBy: USER,
    source: "slash",
    channel: CHANNEL,
    threadTs: THREAD,
    parentOutboxId: "base-run.parent",
  },
  NOW,
);
await store.failRun("base-run", "done for the test", NOW);

/** Every text a person would read in what was sent. */
function replyTexts(): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === "string") out.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object")
      for (const [k, x] of Object.entries(v)) if (k === "text" || typeof x === "object") walk(x);
  };
  walk(sent.acks);
  walk(sent.outbox.map((e) => e.payload));
  return out;
}

/** Replies are bounded, carry no mention or link but the asker's and the bot's own, and no long run of input. */
function expectSafeReplies(input: string): void {
  for (const t of replyTexts()) {
    expect(t.length).toBeLessThanOrEqual(MAX_REPLY);
    const markup = [...t.matchAll(/<([!@#][^>]*|https?:[^>]*)>/g)].map((m) => m[1]);
    expect(markup.filter((m) => m !== `@${USER}` && !/^#C[A-Z0-9]+$/.test(m ?? ""))).toEqual([]);
    // Newlines and tabs are the bot's own layout, and a zero-width space beside a backtick or after an `@` is its
    // own escape (a ``` that cannot close a code block, an @here that pages no one); no other control or
    // invisible character reaches a reply.
    const own = t.replace(/[\n\t]/g, "").replace(OWN_BREAKS, "");
    expect(own).not.toMatch(/[\p{Cc}\u202e\u200b]/u);
    if (input.length > 80) expect(t).not.toContain(input.slice(0, 80));
  }
}

/** Every run the request queued: a service of the config, its window in range, its plan the reference one. */
async function expectRunsAllowlisted(before: Set<string>): Promise<number> {
  const runs = (await store.recentRuns(50)).filter((r) => !before.has(r.id));
  for (const r of runs) {
    expect(services).toContain(r.service);
    const plan = await plannedScripts(config, r.service, r.sinceMs, NOW);
    expectReferencePlan(reference, config, NOW, r.service, plan, r.sinceMs);
    expect(NOW - r.sinceMs).toBeGreaterThanOrEqual(60_000);
    await store.failRun(r.id, "done for the test", NOW);
  }
  return runs.length;
}

async function seen(): Promise<Set<string>> {
  return new Set((await store.recentRuns(1000)).map((r) => r.id));
}

function reset(): void {
  sent.acks = [];
  sent.outbox = [];
}

describe("the Slack handlers under hostile text", () => {
  it("/why502 <anything>: one ack, a bounded and escaped reply, and runs only of allowlisted plans", async () => {
    let queued = 0;
    await fc.assert(
      fc.asyncProperty(serviceName(services), fc.option(windowText, { nil: undefined }), async (name, w) => {
        reset();
        const text = w === undefined ? name : `${name} ${w}`;
        const before = await seen();
        let acks = 0;
        await handlers.command?.({
          command: { text, user_id: USER, channel_id: CHANNEL, command: "/why502" },
          ack: async (r?: unknown) => {
            acks++;
            if (r !== undefined) sent.acks.push(r);
          },
        });
        expect(acks).toBe(1);
        expectSafeReplies(text);
        // A refusal in the ack is one line that says what to do; only help is longer.
        for (const a of sent.acks as { text?: string }[])
          if (a.text && !a.text.startsWith("*why502*")) expect(a.text).toMatch(/^[^\n]+[.?]$/);
        queued += await expectRunsAllowlisted(before);
      }),
      fuzzSettings(250),
    );
    // The generator reaches the accepting side too: some requests were real runs.
    expect(queued).toBeGreaterThan(10);
  });

  it("@why502 <anything>, in a diagnosis thread and outside one: the same guarantees", async () => {
    const verb = fc.constantFrom("rerun", "explain", "evidence", "summary", "help", "");
    await fc.assert(
      fc.asyncProperty(
        verb,
        fc.array(fc.oneof(windowText, hostileText, serviceName(services)), { maxLength: 2 }),
        fc.boolean(),
        async (v, words, inThread) => {
          reset();
          const text = `<@U0WHY502> ${v} ${words.join(" ")}`;
          const before = await seen();
          await handlers.mention?.({
            event: {
              user: USER,
              channel: CHANNEL,
              text,
              ts: `${NOW / 1000}.${before.size}`,
              ...(inThread ? { thread_ts: THREAD } : {}),
            },
          });
          expect(sent.outbox.length).toBeLessThanOrEqual(3);
          expectSafeReplies(text);
          await expectRunsAllowlisted(before);
        },
      ),
      fuzzSettings(200),
    );
  });
});
