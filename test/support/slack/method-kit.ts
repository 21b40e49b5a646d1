/** What every Web API method of the stand-in shares: its context, its result, and Slack's checks. */
import { type Params, str } from "./request.js";
import { type Channel, IDENTITY, type MessageMetadata, type Workspace } from "./workspace.js";

export type ApiResult = { ok: boolean; [key: string]: unknown };

export interface CallContext {
  params: Params;
  ws: Workspace;
  scopes: ReadonlySet<string>;
  /** Where the stand-in listens, e.g. "http://127.0.0.1:4567/". */
  origin: string;
  openSocketTicket(): string;
}

export type TokenKind = "bot" | "app";

export interface MethodSpec {
  token: TokenKind;
  /** The scope the call needs; may depend on the channel (channels:history vs groups:history). */
  scope?: (ctx: CallContext) => string | undefined;
  run: (ctx: CallContext) => ApiResult;
}

export function fail(error: string, messages: string[] = [], extra: Record<string, unknown> = {}): ApiResult {
  return {
    ok: false,
    error,
    ...extra,
    ...(messages.length > 0 && { response_metadata: { messages: messages.map((m) => `[ERROR] ${m}`) } }),
  };
}

export function findChannel(ctx: CallContext, key = "channel"): Channel | undefined {
  const raw = str(ctx.params, key);
  if (raw === undefined) return undefined;
  const byId = ctx.ws.channels.get(raw);
  if (byId) return byId;
  const name = raw.replace(/^#/, "");
  return [...ctx.ws.channels.values()].find((c) => c.name === name);
}

/**
 * The channel the bot may act in, or Slack's error: a private channel the bot is not in does not exist for it
 * (channel_not_found); a public one answers not_in_channel unless `publicWrite` and chat:write.public.
 */
export function memberChannel(ctx: CallContext, opts: { publicWrite?: boolean; key?: string } = {}) {
  const channel = findChannel(ctx, opts.key);
  if (!channel || (channel.isPrivate && !channel.botIsMember)) return { error: fail("channel_not_found") };
  if (!channel.botIsMember && !(opts.publicWrite && ctx.scopes.has("chat:write.public"))) {
    return { error: fail("not_in_channel") };
  }
  return { channel };
}

export const historyScope = (ctx: CallContext): string =>
  findChannel(ctx)?.isPrivate ? "groups:history" : "channels:history";

/** Metadata must be {event_type: non-empty string, event_payload: object}; anything else is malformed. */
export function parseMetadata(value: unknown): { metadata?: MessageMetadata } | { error: ApiResult } {
  if (value === undefined) return {};
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isObject(value) || typeof value.event_type !== "string" || value.event_type === "") {
    return { error: fail("invalid_metadata_format") };
  }
  if (!isObject(value.event_payload)) return { error: fail("invalid_metadata_format") };
  return { metadata: { event_type: value.event_type, event_payload: value.event_payload } };
}

const TS = /^\d+\.\d+$/;

export const isTs = (value: string): boolean => TS.test(value);

/** Microseconds since the epoch, exact, for comparing Slack timestamps. */
export function tsMicros(ts: string): number {
  const [seconds = "0", fraction = ""] = ts.split(".");
  return Number(seconds) * 1_000_000 + Number(fraction.padEnd(6, "0").slice(0, 6));
}

/**
 * Where a reply goes. A malformed thread_ts is refused with invalid_thread_ts. A reply's ts resolves to its
 * parent's thread. A well-formed ts that names no message is accepted with ok:true, like Slack: the reply is
 * stored under that ts but no channel view ever shows it (python-slack-sdk#840).
 */
export function resolveThread(
  ctx: CallContext,
  channel: Channel,
): { thread_ts?: string } | { error: ApiResult } {
  const raw = str(ctx.params, "thread_ts");
  if (raw === undefined || raw === "") return {};
  if (!isTs(raw)) return { error: fail("invalid_thread_ts", [`${raw} is not a valid thread_ts`]) };
  const target = ctx.ws.find(channel.id, raw);
  return { thread_ts: target?.thread_ts ?? raw };
}

export const botIdentity = { user_id: IDENTITY.botUserId, bot_id: IDENTITY.botId };
