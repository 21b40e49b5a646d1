/** chat.postMessage, chat.update, chat.postEphemeral, reactions.add and reactions.remove. */
import { validateBlocks } from "./blocks-limits.js";
import {
  type ApiResult,
  type CallContext,
  fail,
  findChannel,
  isTs,
  type MethodSpec,
  memberChannel,
  parseMetadata,
  resolveThread,
} from "./method-kit.js";
import { bool, str } from "./request.js";
import { type StoredMessage, toApiMessage } from "./workspace.js";

const POST_TEXT_LIMIT = 40_000;
/** chat.update documents a smaller limit than chat.postMessage. */
const UPDATE_TEXT_LIMIT = 4_000;

interface Content {
  text?: string;
  blocks?: unknown[];
}

/** text and blocks as given, checked against Slack's limits; `required` turns "neither" into no_text. */
function readContent(ctx: CallContext, textLimit: number, required: boolean): Content | { error: ApiResult } {
  const text = str(ctx.params, "text");
  const rawBlocks = ctx.params.blocks;
  const hasBlocks = rawBlocks !== undefined && !(Array.isArray(rawBlocks) && rawBlocks.length === 0);
  if (required && (text === undefined || text === "") && !hasBlocks) return { error: fail("no_text") };
  if (text !== undefined && text.length > textLimit) return { error: fail("msg_too_long") };
  if (rawBlocks === undefined) return { ...(text !== undefined && { text }) };
  const verdict = validateBlocks(rawBlocks);
  if (!verdict.ok) return { error: fail(verdict.error, verdict.errors, { errors: verdict.errors }) };
  return { ...(text !== undefined && { text }), blocks: rawBlocks as unknown[] };
}

function postMessage(ctx: CallContext): ApiResult {
  const target = memberChannel(ctx, { publicWrite: true });
  if (!target.channel) return target.error;
  const content = readContent(ctx, POST_TEXT_LIMIT, true);
  if ("error" in content) return content.error;
  const meta = parseMetadata(ctx.params.metadata);
  if ("error" in meta) return meta.error;
  const thread = resolveThread(ctx, target.channel);
  if ("error" in thread) return thread.error;
  const message = ctx.ws.post(target.channel.id, {
    text: content.text ?? "",
    ...(content.blocks !== undefined && { blocks: content.blocks }),
    ...(meta.metadata !== undefined && { metadata: meta.metadata }),
    ...thread,
    reply_broadcast: bool(ctx.params, "reply_broadcast"),
    files: [],
  });
  return {
    ok: true,
    channel: target.channel.id,
    ts: message.ts,
    message: toApiMessage(ctx.ws, message, false),
  };
}

function update(ctx: CallContext): ApiResult {
  const target = memberChannel(ctx, { publicWrite: true });
  if (!target.channel) return target.error;
  const message = ctx.ws.find(target.channel.id, str(ctx.params, "ts") ?? "");
  if (!message) return fail("message_not_found");
  if (message.bot_id === undefined) return fail("cant_update_message");
  const content = readContent(ctx, UPDATE_TEXT_LIMIT, ctx.params.metadata === undefined);
  if ("error" in content) return content.error;
  const meta = parseMetadata(ctx.params.metadata);
  if ("error" in meta) return meta.error;
  applyEdit(ctx, message, content);
  if (meta.metadata !== undefined) message.metadata = meta.metadata;
  const shown = toApiMessage(ctx.ws, message, false);
  return { ok: true, channel: target.channel.id, ts: message.ts, text: message.text, message: shown };
}

/** Fields left out keep their old value; `blocks: []` removes the blocks, as Slack documents. */
function applyEdit(ctx: CallContext, message: StoredMessage, content: Content): void {
  if (content.text !== undefined) message.text = content.text;
  if (content.blocks !== undefined) {
    if (content.blocks.length === 0) delete message.blocks;
    else message.blocks = content.blocks;
  }
  message.edits.push({
    at: ctx.ws.now(),
    ts: ctx.ws.nextTs(),
    text: message.text,
    ...(message.blocks !== undefined && { blocks: message.blocks }),
  });
}

function postEphemeral(ctx: CallContext): ApiResult {
  const target = memberChannel(ctx, { publicWrite: true });
  if (!target.channel) return target.error;
  const user = str(ctx.params, "user") ?? "";
  if (!target.channel.members.includes(user)) return fail("user_not_in_channel");
  const content = readContent(ctx, POST_TEXT_LIMIT, true);
  if ("error" in content) return content.error;
  const thread = resolveThread(ctx, target.channel);
  if ("error" in thread) return thread.error;
  const message_ts = ctx.ws.nextTs();
  ctx.ws.ephemerals.push({
    channel: target.channel.id,
    user,
    message_ts,
    text: content.text ?? "",
    ...(content.blocks !== undefined && { blocks: content.blocks }),
    ...thread,
  });
  return { ok: true, message_ts };
}

const SKIN_TONE = /::skin-tone-[2-6]$/;

function reactionTarget(ctx: CallContext): { message: StoredMessage; name: string } | { error: ApiResult } {
  const channelId = str(ctx.params, "channel");
  const timestamp = str(ctx.params, "timestamp");
  if (channelId === undefined || timestamp === undefined) return { error: fail("no_item_specified") };
  if (!isTs(timestamp)) return { error: fail("bad_timestamp") };
  const channel = findChannel(ctx);
  if (!channel || (channel.isPrivate && !channel.botIsMember)) return { error: fail("channel_not_found") };
  const message = ctx.ws.find(channel.id, timestamp);
  if (!message) return { error: fail("message_not_found") };
  const name = str(ctx.params, "name") ?? "";
  if (!ctx.ws.emoji.has(name.replace(SKIN_TONE, ""))) return { error: fail("invalid_name") };
  return { message, name };
}

function reactionsAdd(ctx: CallContext): ApiResult {
  const target = reactionTarget(ctx);
  if ("error" in target) return target.error;
  if (target.message.reactions.includes(target.name)) return fail("already_reacted");
  target.message.reactions.push(target.name);
  return { ok: true };
}

function reactionsRemove(ctx: CallContext): ApiResult {
  const target = reactionTarget(ctx);
  if ("error" in target) return target.error;
  const at = target.message.reactions.indexOf(target.name);
  if (at < 0) return fail("no_reaction");
  target.message.reactions.splice(at, 1);
  return { ok: true };
}

const chatWrite = () => "chat:write";
const reactionsWrite = () => "reactions:write";

export const CHAT_METHODS = {
  "chat.postMessage": { token: "bot", scope: chatWrite, run: postMessage },
  "chat.update": { token: "bot", scope: chatWrite, run: update },
  "chat.postEphemeral": { token: "bot", scope: chatWrite, run: postEphemeral },
  "reactions.add": { token: "bot", scope: reactionsWrite, run: reactionsAdd },
  "reactions.remove": { token: "bot", scope: reactionsWrite, run: reactionsRemove },
} satisfies Record<string, MethodSpec>;
