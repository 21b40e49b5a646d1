import type { OutboxEntry, Store } from "../store/types.js";
import type { Logger } from "./log.js";
import { retryAfterSeconds, type SlackApi, slackErrorName } from "./slack-api.js";

/** Slack errors that say "try again later", as opposed to "this call will never succeed". */
const TRANSIENT = new Set([
  "ratelimited",
  "internal_error",
  "fatal_error",
  "service_unavailable",
  "request_timeout",
  "team_added_to_org",
  "network",
  "error",
]);
/** Refusals of a message's size or shape: sent again smaller. */
const TOO_BIG = new Set(["invalid_blocks", "msg_blocks_too_long", "invalid_blocks_format", "msg_too_long"]);
/** Answers that mean the wanted state already holds. */
const ALREADY = new Set(["already_reacted", "no_reaction"]);

const METADATA_EVENT = "why502_message";
/** Minimum time between two edits of one message (Slack allows chat.update about 50 times a minute). */
const EDIT_SPACING_MS = 1000;
/** Entries still failing after this long are given up (logged, counted): a day-old incident post helps no one. */
const GIVE_UP_MS = 24 * 3600_000;

export interface DrainerOptions {
  store: Store;
  api: SlackApi;
  log: Logger;
  owner: string;
  now?: () => number;
  /** How often to look for due entries besides being woken (ms). */
  pollMs?: number;
  /** How long a claimed entry is this replica's before another may take it over (ms). */
  leaseMs?: number;
}

/**
 * Sends what the outbox owes Slack, in order, exactly once. An entry is marked "attempted" before its call;
 * when an attempt's answer is lost (timeout, crash, kill -9), the next attempt first looks for the message
 * in the channel or thread by the outbox id it carries in its metadata, and posts only if it is not there.
 */
export class OutboxDrainer {
  private readonly o: Required<Omit<DrainerOptions, "now">> & { now: () => number };
  private timer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly lastEdit = new Map<string, number>();
  private readonly pausedUntil = new Map<string, number>();
  /** When Slack last answered a call (any answer), and when a call last failed to reach it. */
  lastSlackAnswer = 0;
  lastSlackFailure = 0;

  constructor(opts: DrainerOptions) {
    this.o = { pollMs: 250, leaseMs: 30_000, now: Date.now, ...opts };
  }

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.wake(), this.o.pollMs);
    this.timer.unref();
    this.wake();
  }

  /** Look for due entries now (called after every enqueue). */
  wake(): void {
    if (this.stopped) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = this.drainLoop()
      .catch((e: unknown) => {
        // The store is down (PostgreSQL restarting): entries stay owed; the next poll tries again.
        this.o.log.warn(
          { err: e instanceof Error ? e.message : String(e) },
          "cannot reach the store to drain the outbox; retrying",
        );
      })
      .finally(() => {
        this.draining = undefined;
      });
  }

  /** Stop taking entries; waits for calls in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.draining;
  }

  /** Resolves once nothing is due (for shutdown and tests). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drainLoop(): Promise<void> {
    do {
      this.again = false;
      const batch = await this.o.store.claimOutbox(this.o.owner, this.o.now(), 20, this.o.leaseMs);
      if (batch.length === 0) continue;
      // One channel's entries in order; channels side by side.
      const byChannel = new Map<string, OutboxEntry[]>();
      for (const e of batch) byChannel.set(e.channel, [...(byChannel.get(e.channel) ?? []), e]);
      await Promise.all(
        [...byChannel.values()].map(async (list) => {
          for (const e of list) await this.process(e);
        }),
      );
      this.again = true;
    } while (this.again && !this.stopped);
  }

  private methodOf(e: OutboxEntry): string {
    return {
      post: "chat.postMessage",
      update: "chat.update",
      ephemeral: "chat.postEphemeral",
      reaction_add: "reactions.add",
      reaction_remove: "reactions.remove",
      upload: "files.uploadV2",
    }[e.kind];
  }

  private async process(e: OutboxEntry): Promise<void> {
    const now = this.o.now();
    const method = this.methodOf(e);
    const paused = this.pausedUntil.get(method) ?? 0;
    if (paused > now) return this.o.store.outboxRetry(e.id, paused, e.error ?? "ratelimited");
    if (e.kind === "update" && e.targetId) {
      const last = this.lastEdit.get(e.targetId) ?? 0;
      if (now - last < EDIT_SPACING_MS)
        return this.o.store.outboxRetry(e.id, last + EDIT_SPACING_MS, "paced");
    }
    try {
      const ts = await this.send(e);
      this.lastSlackAnswer = this.o.now();
      if (e.kind === "update" && e.targetId) this.lastEdit.set(e.targetId, this.o.now());
      await this.o.store.outboxDone(e.id, ts, this.o.now());
    } catch (err) {
      await this.failed(e, method, err);
    }
  }

  private async failed(e: OutboxEntry, method: string, err: unknown): Promise<void> {
    const name = slackErrorName(err);
    const now = this.o.now();
    if (name.startsWith("http_") || name === "network" || name === "ratelimited") this.lastSlackFailure = now;
    else this.lastSlackAnswer = now;
    const log = { outbox_id: e.id, run_id: e.runId, method, error: name, attempts: e.attempts };
    if (ALREADY.has(name)) {
      await this.o.store.outboxDone(e.id, undefined, now);
      return;
    }
    const retryAfter = retryAfterSeconds(err);
    if (retryAfter !== undefined) {
      const until = now + Math.max(1, retryAfter) * 1000;
      this.pausedUntil.set(method, until);
      this.o.log.warn({ ...log, retry_after_s: retryAfter }, "Slack rate-limited a call; waiting as asked");
      await this.o.store.outboxRetry(e.id, until, name);
      return;
    }
    if (TOO_BIG.has(name) && (e.kind === "post" || e.kind === "update" || e.kind === "ephemeral")) {
      const smaller = smallerPayload(e.payload);
      if (smaller) {
        this.o.log.warn(log, "Slack refused a message's blocks; sending a smaller version");
        await this.o.store.outboxRetry(e.id, now, name, smaller);
        return;
      }
    }
    const transient = TRANSIENT.has(name) || name.startsWith("http_5") || name === "http_408";
    if (!transient || now - e.createdAt > GIVE_UP_MS) {
      this.o.log.error(
        { ...log, detail: String((err as Error)?.message ?? err) },
        "Slack refused a call: given up",
      );
      await this.o.store.outboxDead(e.id, name, now);
      return;
    }
    const backoff = Math.min(10_000, 500 * 2 ** Math.min(e.attempts, 5)) * (0.8 + Math.random() * 0.4);
    this.o.log.warn({ ...log, retry_in_ms: Math.round(backoff) }, "Slack call failed; will retry");
    await this.o.store.outboxRetry(e.id, now + backoff, name);
  }

  private async tsOf(id: string | undefined): Promise<string | undefined> {
    if (!id) return undefined;
    const p = await this.o.store.getOutbox(id);
    if (!p?.ts) throw new Error(`outbox entry ${id} has no message yet`);
    return p.ts;
  }

  /** Make the call; returns the message ts for posts. */
  private async send(e: OutboxEntry): Promise<string | undefined> {
    const { api, store } = this.o;
    const { fallback_blocks: _fallback, ...payload } = e.payload;
    // A reply goes into its parent entry's thread, or into a thread Slack named (mentions).
    const threadTs =
      (await this.tsOf(e.parentId)) ??
      (typeof payload.thread_ts === "string" ? payload.thread_ts : undefined);
    const targetTs = await this.tsOf(e.targetId);
    switch (e.kind) {
      case "post": {
        if (e.attempted) {
          const found = await this.findPosted(e, threadTs);
          if (found) {
            this.o.log.info({ outbox_id: e.id, ts: found }, "message was already in Slack: not posted again");
            return found;
          }
        }
        await store.outboxAttempt(e.id, this.o.now());
        const r = await api.call("chat.postMessage", {
          ...payload,
          channel: e.channel,
          ...(threadTs ? { thread_ts: threadTs } : {}),
          unfurl_links: false,
          unfurl_media: false,
          metadata: { event_type: METADATA_EVENT, event_payload: { outbox_id: e.id } },
        });
        return String(r.ts);
      }
      case "update":
        await store.outboxAttempt(e.id, this.o.now());
        await api.call("chat.update", { ...payload, channel: e.channel, ts: targetTs });
        return undefined;
      case "ephemeral":
        await store.outboxAttempt(e.id, this.o.now());
        await api.call("chat.postEphemeral", {
          ...payload,
          channel: e.channel,
          ...(threadTs ? { thread_ts: threadTs } : {}),
        });
        return undefined;
      case "reaction_add":
      case "reaction_remove":
        await store.outboxAttempt(e.id, this.o.now());
        await api.call(e.kind === "reaction_add" ? "reactions.add" : "reactions.remove", {
          channel: e.channel,
          timestamp: targetTs,
          name: payload.name,
        });
        return undefined;
      case "upload": {
        const files = payload.files as {
          filename: string;
          title: string;
          content: string;
          encoding?: "base64";
        }[];
        if (e.attempted && (await this.findUploaded(e, threadTs, files))) return undefined;
        await store.outboxAttempt(e.id, this.o.now());
        await api.upload({
          channel: e.channel,
          threadTs,
          initialComment: typeof payload.initial_comment === "string" ? payload.initial_comment : undefined,
          files,
        });
        return undefined;
      }
    }
  }

  /** Pages of the thread (or of the channel since the entry was made), newest attempts included. */
  private async *messages(
    e: OutboxEntry,
    threadTs: string | undefined,
  ): AsyncGenerator<Record<string, unknown>> {
    let cursor: string | undefined;
    for (let page = 0; page < 20; page++) {
      const params: Record<string, unknown> = {
        channel: e.channel,
        include_all_metadata: true,
        limit: 200,
        ...(cursor ? { cursor } : {}),
      };
      const r = threadTs
        ? await this.o.api.call("conversations.replies", { ...params, ts: threadTs })
        : await this.o.api.call("conversations.history", {
            ...params,
            oldest: ((e.createdAt - 60_000) / 1000).toFixed(6),
          });
      for (const m of (r.messages as Record<string, unknown>[] | undefined) ?? []) yield m;
      cursor = (r.response_metadata as { next_cursor?: string } | undefined)?.next_cursor || undefined;
      if (!cursor) return;
    }
  }

  private async findPosted(e: OutboxEntry, threadTs: string | undefined): Promise<string | undefined> {
    for await (const m of this.messages(e, threadTs)) {
      const meta = m.metadata as { event_type?: string; event_payload?: { outbox_id?: string } } | undefined;
      if (meta?.event_type === METADATA_EVENT && meta.event_payload?.outbox_id === e.id) return String(m.ts);
    }
    return undefined;
  }

  private async findUploaded(
    e: OutboxEntry,
    threadTs: string | undefined,
    files: { filename: string }[],
  ): Promise<boolean> {
    const want = new Set(files.map((f) => f.filename));
    for await (const m of this.messages(e, threadTs)) {
      const names = ((m.files as { name?: string }[] | undefined) ?? []).map((f) => f.name);
      if (names.some((n) => n !== undefined && want.has(n))) return true;
    }
    return false;
  }
}

/** A smaller message after Slack refused one: first the builder's lean blocks, then the text alone. */
export function smallerPayload(p: Record<string, unknown>): Record<string, unknown> | undefined {
  if (Array.isArray(p.fallback_blocks)) {
    const { fallback_blocks, ...rest } = p;
    return { ...rest, blocks: fallback_blocks };
  }
  if (p.blocks !== undefined) {
    const { blocks: _b, ...rest } = p;
    const text = typeof rest.text === "string" ? rest.text : "";
    return { ...rest, text: text.length > 3900 ? `${text.slice(0, 3899)}…` : text };
  }
  if (typeof p.text === "string" && p.text.length > 3900) return { ...p, text: `${p.text.slice(0, 3899)}…` };
  return undefined;
}
