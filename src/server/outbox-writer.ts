import type { KnownBlock } from "@slack/types";
import type { NewOutbox, OutboxEntry, Store } from "../store/types.js";

/** Enqueue Slack calls and wake the drainer: the only way the bot's code sends anything to Slack. */
export class OutboxWriter {
  constructor(
    private readonly store: Store,
    private readonly wake: () => void,
    private readonly now: () => number = Date.now,
  ) {}

  async add(e: NewOutbox): Promise<OutboxEntry> {
    const entry = await this.store.enqueue(e, this.now());
    this.wake();
    return entry;
  }

  post(id: string, channel: string, msg: object, opts: { runId?: string; parentId?: string } = {}) {
    return this.add({ id, kind: "post", channel, payload: { ...msg }, ...opts });
  }

  /** Edit a posted message; pending edits of the same message are merged into the newest. */
  edit(
    id: string,
    channel: string,
    targetId: string,
    msg: { text: string; blocks?: KnownBlock[] },
    runId?: string,
  ) {
    return this.add({
      id,
      kind: "update",
      channel,
      targetId,
      payload: { ...msg },
      coalesceKey: `edit:${targetId}`,
      runId,
    });
  }

  ephemeral(id: string, channel: string, user: string, text: string, parentId?: string) {
    return this.add({
      id,
      kind: "ephemeral",
      channel,
      payload: { user, text },
      ...(parentId ? { parentId } : {}),
    });
  }

  react(id: string, channel: string, targetId: string, name: string, add: boolean, runId?: string) {
    return this.add({
      id,
      kind: add ? "reaction_add" : "reaction_remove",
      channel,
      targetId,
      payload: { name },
      runId,
    });
  }
}
