/**
 * `why502 check`, the Slack side: is the bot token valid, does it hold every scope the app uses, is the bot in
 * every channel the config names, and does the app-level token open Socket Mode. Takes the Web API clients
 * and the config; returns rows, each problem one sentence with its fix.
 */
import type { SlackSettings } from "../config/schema.js";
import { type SlackApi, slackErrorName } from "../server/slack-api.js";

/** The bot token scopes the app uses; slack/manifest.yaml asks for exactly these. */
export const SLACK_BOT_SCOPES = [
  "commands",
  "chat:write",
  "chat:write.public",
  "reactions:write",
  "files:write",
  "channels:history",
  "groups:history",
  "app_mentions:read",
  "usergroups:read",
  "channels:read",
  "groups:read",
] as const;
export type SlackBotScope = (typeof SLACK_BOT_SCOPES)[number];

const SCOPE_USE: Record<SlackBotScope, string> = {
  commands: "the /why502 command",
  "chat:write": "posting and updating diagnoses",
  "chat:write.public": "posting in public channels it was not invited to",
  "reactions:write": "the running and healthy reactions",
  "files:write": "uploading the full evidence",
  "channels:history": "finding its own posts in public channels after a restart",
  "groups:history": "finding its own posts in private channels after a restart",
  "app_mentions:read": "@why502 mentions",
  "usergroups:read": "access rules that name user groups",
  "channels:read": "looking up public channels",
  "groups:read": "looking up private channels",
};

export interface SlackCheckRow {
  /** What was checked: api, auth, scopes, scope, channel, socket mode. */
  check: string;
  /** What it was checked on: a token, a scope, a channel. */
  target: string;
  /** Set when something is wrong: what, and how to fix it. */
  problem?: string;
  /** What was seen when all is well. */
  detail?: string;
}

export interface SlackCheckOptions {
  slack: SlackSettings;
  /** A client holding SLACK_BOT_TOKEN. */
  bot: SlackApi;
  /** A client holding SLACK_APP_TOKEN, when it is set: proves Socket Mode can connect. */
  app?: SlackApi;
}

const BOT_TOKEN_FIX = "copy the Bot User OAuth Token (xoxb-...) from OAuth & Permissions";
const APP_TOKEN_FIX =
  "generate one under Basic Information → App-Level Tokens with the connections:write scope (xapp-...)";
const SCOPE_FIX =
  "add it under OAuth & Permissions → Bot Token Scopes, or paste slack/manifest.yaml, then reinstall the app";

const AUTH_ERRORS: Record<string, string> = {
  invalid_auth: `SLACK_BOT_TOKEN is not a valid bot token: ${BOT_TOKEN_FIX}`,
  not_authed: `SLACK_BOT_TOKEN is empty: ${BOT_TOKEN_FIX}`,
  not_allowed_token_type: `SLACK_BOT_TOKEN is not a bot token: ${BOT_TOKEN_FIX}`,
  token_revoked: `SLACK_BOT_TOKEN was revoked: reinstall the app, then ${BOT_TOKEN_FIX}`,
  token_expired: `SLACK_BOT_TOKEN expired (token rotation is on): turn it off under OAuth & Permissions, reinstall the app, then ${BOT_TOKEN_FIX}`,
  account_inactive: `the app was uninstalled or the workspace deactivated: reinstall the app, then ${BOT_TOKEN_FIX}`,
  ratelimited: "Slack rate-limited the check: run it again in a minute",
};

const APP_ERRORS: Record<string, string> = {
  invalid_auth: `SLACK_APP_TOKEN is not a valid app-level token: ${APP_TOKEN_FIX}`,
  not_authed: `SLACK_APP_TOKEN is empty: ${APP_TOKEN_FIX}`,
  not_allowed_token_type: `SLACK_APP_TOKEN is not an app-level token: ${APP_TOKEN_FIX}`,
  missing_scope: `SLACK_APP_TOKEN lacks connections:write: ${APP_TOKEN_FIX}`,
  token_revoked: `SLACK_APP_TOKEN was revoked: ${APP_TOKEN_FIX}`,
  ratelimited: "Slack rate-limited the check: run it again in a minute",
};

/** Slack did not answer as the Web API: nothing after it can be checked. */
type Down = { kind: "down"; row: SlackCheckRow };

type Outcome =
  | { kind: "ok"; result: Record<string, unknown> }
  /** Slack answered with an error. */
  | { kind: "error"; error: string; needed?: string; message?: string }
  | Down;

function methodUrl(apiUrl: string, method: string): string {
  return `${apiUrl.endsWith("/") ? apiUrl : `${apiUrl}/`}${method}`;
}

/** The most specific reason a request failed: `connect ECONNREFUSED ...` rather than `fetch failed`. */
function transportReason(e: unknown): string {
  const err = e as { message?: string; original?: { message?: string; cause?: { message?: string } } };
  return err.original?.cause?.message ?? err.original?.message ?? err.message ?? String(e);
}

async function attempt(
  api: SlackApi,
  apiUrl: string,
  method: string,
  params: Record<string, unknown>,
): Promise<Outcome> {
  try {
    return { kind: "ok", result: await api.call(method, params) };
  } catch (e) {
    const name = slackErrorName(e);
    const url = methodUrl(apiUrl, method);
    if (name === "network")
      return {
        kind: "down",
        row: {
          check: "api",
          target: method,
          problem: `cannot reach ${url} (${transportReason(e)}): check slack.api_url and that this host can connect to it (DNS, firewall, proxy)`,
        },
      };
    const status = /^http_(\d+)$/.exec(name)?.[1];
    if (status !== undefined)
      return {
        kind: "down",
        row: {
          check: "api",
          target: method,
          problem: status.startsWith("5")
            ? `${url} answered HTTP ${status}: Slack may be having an outage (https://slack-status.com); run the check again later`
            : `${url} answered HTTP ${status}, not the Slack Web API: check slack.api_url (Slack's is https://slack.com/api/)`,
        },
      };
    const data = (e as { data?: { needed?: unknown } }).data;
    return {
      kind: "error",
      error: name,
      ...(typeof data?.needed === "string" && { needed: data.needed }),
      ...(name === "error" && { message: e instanceof Error ? e.message : String(e) }),
    };
  }
}

function apiProblem(method: string, o: { error: string; message?: string }, known: Record<string, string>) {
  const sentence = Object.hasOwn(known, o.error)
    ? known[o.error]
    : `${method} failed${o.message ? ` (${o.message})` : ""}: see https://docs.slack.dev/reference/methods/${method}`;
  return `${o.error}: ${sentence}`;
}

function scopeRows(granted: unknown): SlackCheckRow[] {
  if (!Array.isArray(granted))
    return [
      {
        check: "scopes",
        target: "SLACK_BOT_TOKEN",
        detail:
          "not reported (no x-oauth-scopes header): compare OAuth & Permissions with slack/manifest.yaml",
      },
    ];
  const have = new Set(granted.map(String));
  const missing = SLACK_BOT_SCOPES.filter((s) => !have.has(s));
  if (missing.length === 0)
    return [{ check: "scopes", target: "SLACK_BOT_TOKEN", detail: `all ${SLACK_BOT_SCOPES.length} granted` }];
  return missing.map((s) => ({
    check: "scope",
    target: s,
    problem: `missing (needed for ${SCOPE_USE[s]}): ${SCOPE_FIX}`,
  }));
}

/** Every channel the config names, in order, with the keys that name it. */
export function configuredChannels(slack: SlackSettings): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (id: string, key: string) => {
    const keys = out.get(id) ?? [];
    if (!keys.includes(key)) keys.push(key);
    out.set(id, keys);
  };
  if (slack.channel) add(slack.channel, "slack.channel");
  for (const [service, rule] of Object.entries(slack.access))
    for (const c of rule.channels ?? []) add(c, `slack.access.${service}.channels`);
  return out;
}

async function channelRow(
  o: SlackCheckOptions,
  id: string,
  keys: string[],
  botName: string,
): Promise<SlackCheckRow | Down> {
  const named = `named in ${keys.join(", ")}`;
  const r = await attempt(o.bot, o.slack.api_url, "conversations.info", { channel: id });
  if (r.kind === "down") return r;
  if (r.kind === "error") {
    const sentence =
      r.error === "channel_not_found"
        ? `no such channel, or a private one the bot is not in (${named}): check the id, or /invite @${botName} in that channel`
        : r.error === "missing_scope"
          ? `cannot look it up without ${r.needed ?? "channels:read or groups:read"} (${named}): ${SCOPE_FIX}`
          : `conversations.info failed (${named})${r.message ? `: ${r.message}` : ""}`;
    return { check: "channel", target: id, problem: `${r.error}: ${sentence}` };
  }
  const channel = (r.result.channel ?? {}) as { name?: unknown; is_member?: unknown; is_archived?: unknown };
  const name = typeof channel.name === "string" ? `#${channel.name}` : id;
  if (channel.is_archived === true)
    return {
      check: "channel",
      target: name,
      problem: `is_archived: ${name} (${id}, ${named}) is archived: unarchive it or name another channel in why502.yaml`,
    };
  if (channel.is_member !== true)
    return {
      check: "channel",
      target: name,
      problem: `not_in_channel: the bot is not a member of ${name} (${id}, ${named}): /invite @${botName} in ${name}`,
    };
  return { check: "channel", target: name, detail: `member (${id}, ${named})` };
}

async function socketModeRow(o: SlackCheckOptions): Promise<SlackCheckRow> {
  if (!o.app)
    return { check: "socket mode", target: "SLACK_APP_TOKEN", detail: "not set: serve would use HTTP mode" };
  const r = await attempt(o.app, o.slack.api_url, "apps.connections.open", {});
  if (r.kind === "down") return r.row;
  if (r.kind === "error")
    return {
      check: "socket mode",
      target: "SLACK_APP_TOKEN",
      problem: apiProblem("apps.connections.open", r, APP_ERRORS),
    };
  return { check: "socket mode", target: "SLACK_APP_TOKEN", detail: "apps.connections.open answered" };
}

/** Runs every Slack check; stops at the first call Slack does not answer (the rest would only repeat it). */
export async function checkSlack(o: SlackCheckOptions): Promise<SlackCheckRow[]> {
  const rows: SlackCheckRow[] = [];
  const auth = await attempt(o.bot, o.slack.api_url, "auth.test", {});
  if (auth.kind === "down") return [auth.row];
  if (auth.kind === "error") {
    rows.push({
      check: "auth",
      target: "SLACK_BOT_TOKEN",
      problem: apiProblem("auth.test", auth, AUTH_ERRORS),
    });
  } else {
    const who = auth.result;
    const botName = typeof who.user === "string" && who.user !== "" ? who.user : "why502";
    rows.push({
      check: "auth",
      target: "SLACK_BOT_TOKEN",
      detail: `@${botName} in ${String(who.team ?? "?")} (${String(who.team_id ?? "?")})`,
    });
    const meta = who.response_metadata as { scopes?: unknown } | undefined;
    rows.push(...scopeRows(meta?.scopes));
    for (const [id, keys] of configuredChannels(o.slack)) {
      const row = await channelRow(o, id, keys, botName);
      if ("kind" in row) return [...rows, row.row];
      rows.push(row);
    }
  }
  const socket = await socketModeRow(o);
  rows.push(socket);
  return rows;
}
