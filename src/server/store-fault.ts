import { isStoreUnavailable, type StoreUnavailable } from "../store/store-errors.js";
import type { Logger } from "./log.js";
import type { SlackApi } from "./slack-api.js";

/** The store fault behind a failed Slack handler, also when Bolt gathered several listeners' errors. */
export function storeFaultOf(e: unknown): StoreUnavailable | undefined {
  if (isStoreUnavailable(e)) return e;
  const originals = (e as { originals?: unknown[] } | undefined)?.originals;
  if (Array.isArray(originals)) return originals.find(isStoreUnavailable);
  const original = (e as { original?: unknown } | undefined)?.original;
  return isStoreUnavailable(original) ? original : undefined;
}

/** Who asked and where, from a slash command, an event or an interaction's body. */
export function askedIn(body: unknown): { channel: string; user: string; threadTs?: string } | undefined {
  const b = (body ?? {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
  const event = b.event as Record<string, unknown> | undefined;
  const nested = (k: string) => str((b[k] as { id?: unknown } | undefined)?.id);
  const channel = str(b.channel_id) ?? str(event?.channel) ?? nested("channel");
  const user = str(b.user_id) ?? str(event?.user) ?? nested("user");
  if (!channel || !user) return undefined;
  const threadTs = str(event?.thread_ts) ?? str(event?.ts);
  return threadTs ? { channel, user, threadTs } : { channel, user };
}

export const storeFaultText = (fault: StoreUnavailable) =>
  `:warning: I could not record this request, so nothing was started: ${fault.reason}. Try again in a minute; if this lasts, tell whoever runs the bot.`;

/**
 * Tells the person who asked that their request could not be recorded. Sent directly, not through the outbox:
 * the outbox lives in the store that just refused a write. Best effort: a Slack failure here is only logged.
 */
export async function tellStoreFault(
  api: SlackApi,
  body: unknown,
  fault: StoreUnavailable,
  log: Logger,
): Promise<void> {
  const who = askedIn(body);
  log.error(
    { err: fault.reason, channel: who?.channel, user: who?.user },
    "request not recorded: store fault",
  );
  if (!who) return;
  try {
    await api.call("chat.postEphemeral", {
      channel: who.channel,
      user: who.user,
      text: storeFaultText(fault),
      ...(who.threadTs ? { thread_ts: who.threadTs } : {}),
    });
  } catch (e) {
    log.warn(
      { err: e instanceof Error ? e.message : String(e) },
      "could not tell the user about the store fault",
    );
  }
}
