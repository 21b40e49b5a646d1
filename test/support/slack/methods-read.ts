/** auth.test, conversations.*, usergroups.users.list and apps.connections.open. */
import {
  type ApiResult,
  type CallContext,
  fail,
  findChannel,
  historyScope,
  isTs,
  type MethodSpec,
  memberChannel,
  tsMicros,
} from "./method-kit.js";
import { bool, int, str } from "./request.js";
import { IDENTITY, type StoredMessage, toApiMessage } from "./workspace.js";

function authTest(): ApiResult {
  return {
    ok: true,
    url: IDENTITY.url,
    team: IDENTITY.team,
    user: IDENTITY.botUserName,
    team_id: IDENTITY.teamId,
    user_id: IDENTITY.botUserId,
    bot_id: IDENTITY.botId,
    is_enterprise_install: false,
  };
}

/** Slack's cursors are base64 of "next_ts:<microseconds>"; the page starts at that message. */
const encodeCursor = (m: StoredMessage): string =>
  Buffer.from(`next_ts:${tsMicros(m.ts)}`).toString("base64");

function decodeCursor(cursor: string | undefined): number | undefined | "invalid" {
  if (cursor === undefined || cursor === "") return undefined;
  const match = /^next_ts:(\d+)$/.exec(Buffer.from(cursor, "base64").toString("utf8"));
  return match?.[1] === undefined ? "invalid" : Number(match[1]);
}

interface Window {
  oldest?: number;
  latest?: number;
  inclusive: boolean;
}

function readWindow(ctx: CallContext): Window | { error: ApiResult } {
  const oldest = str(ctx.params, "oldest");
  const latest = str(ctx.params, "latest");
  if (oldest !== undefined && oldest !== "" && !/^\d+(\.\d+)?$/.test(oldest))
    return { error: fail("invalid_ts_oldest") };
  if (latest !== undefined && latest !== "" && !/^\d+(\.\d+)?$/.test(latest))
    return { error: fail("invalid_ts_latest") };
  return {
    ...(oldest && { oldest: tsMicros(oldest) }),
    ...(latest && { latest: tsMicros(latest) }),
    inclusive: bool(ctx.params, "inclusive"),
  };
}

function inWindow(w: Window, m: StoredMessage): boolean {
  const t = tsMicros(m.ts);
  const afterOldest = w.oldest === undefined || (w.inclusive ? t >= w.oldest : t > w.oldest);
  const beforeLatest = w.latest === undefined || (w.inclusive ? t <= w.latest : t < w.latest);
  return afterOldest && beforeLatest;
}

/** One page of `ordered` starting at the cursor, shaped the way Slack answers. */
function page(ctx: CallContext, ordered: StoredMessage[], defaultLimit: number): ApiResult {
  const start = decodeCursor(str(ctx.params, "cursor"));
  if (start === "invalid") return fail("invalid_cursor");
  const limit = Math.min(Math.max(int(ctx.params, "limit") ?? defaultLimit, 1), 999);
  const from = start === undefined ? 0 : ordered.findIndex((m) => tsMicros(m.ts) === start);
  if (from < 0) return fail("invalid_cursor");
  const shown = ordered.slice(from, from + limit);
  const next = ordered[from + limit];
  const withMetadata = bool(ctx.params, "include_all_metadata");
  return {
    ok: true,
    messages: shown.map((m) => toApiMessage(ctx.ws, m, withMetadata)),
    has_more: next !== undefined,
    ...(next && { response_metadata: { next_cursor: encodeCursor(next) } }),
  };
}

function history(ctx: CallContext): ApiResult {
  const target = memberChannel(ctx);
  if (!target.channel) return target.error;
  const window = readWindow(ctx);
  if ("error" in window) return window.error;
  const newestFirst = ctx.ws
    .topLevel(target.channel.id)
    .filter((m) => inWindow(window, m))
    .reverse();
  return { ...page(ctx, newestFirst, 100), pin_count: 0 };
}

/** The parent first, then its replies oldest first; a reply's ts yields the whole thread. */
function replies(ctx: CallContext): ApiResult {
  const target = memberChannel(ctx);
  if (!target.channel) return target.error;
  const ts = str(ctx.params, "ts") ?? "";
  const named = isTs(ts) ? ctx.ws.find(target.channel.id, ts) : undefined;
  const parent = named?.thread_ts === undefined ? named : ctx.ws.find(target.channel.id, named.thread_ts);
  if (!parent) return fail("thread_not_found");
  const window = readWindow(ctx);
  if ("error" in window) return window.error;
  const thread = [parent, ...ctx.ws.replies(target.channel.id, parent.ts).filter((m) => inWindow(window, m))];
  return page(ctx, thread, 1000);
}

function info(ctx: CallContext): ApiResult {
  const channel = findChannel(ctx);
  if (!channel || (channel.isPrivate && !channel.botIsMember)) return fail("channel_not_found");
  return {
    ok: true,
    channel: {
      id: channel.id,
      name: channel.name,
      is_channel: !channel.isPrivate,
      is_group: channel.isPrivate,
      is_im: false,
      is_mpim: false,
      is_private: channel.isPrivate,
      is_archived: false,
      is_general: false,
      is_member: channel.botIsMember,
      is_shared: false,
      is_ext_shared: false,
      is_org_shared: false,
      context_team_id: IDENTITY.teamId,
      ...(bool(ctx.params, "include_num_members") && { num_members: channel.members.length }),
    },
  };
}

function usergroupUsers(ctx: CallContext): ApiResult {
  const users = ctx.ws.usergroups.get(str(ctx.params, "usergroup") ?? "");
  if (!users) return fail("no_such_subteam");
  return { ok: true, users };
}

function connectionsOpen(ctx: CallContext): ApiResult {
  const url = `${ctx.origin.replace(/^http/, "ws")}link/?ticket=${ctx.openSocketTicket()}`;
  return { ok: true, url };
}

const channelsRead = (ctx: CallContext): string =>
  findChannel(ctx)?.isPrivate ? "groups:read" : "channels:read";

export const READ_METHODS = {
  "auth.test": { token: "bot", run: authTest },
  "conversations.history": { token: "bot", scope: historyScope, run: history },
  "conversations.replies": { token: "bot", scope: historyScope, run: replies },
  "conversations.info": { token: "bot", scope: channelsRead, run: info },
  "usergroups.users.list": { token: "bot", scope: () => "usergroups:read", run: usergroupUsers },
  "apps.connections.open": { token: "app", scope: () => "connections:write", run: connectionsOpen },
} satisfies Record<string, MethodSpec>;
