/**
 * Requests as Slack sends them to an app's Request URL, signed with the signing secret, for posting to Bolt's
 * HTTPReceiver (`/slack/events` by default).
 *
 * Slack signs `v0:<timestamp>:<raw body>` with HMAC-SHA256 and sends `x-slack-signature: v0=<hex>` and
 * `x-slack-request-timestamp`; Bolt refuses a timestamp more than five minutes old. Bolt parses the form only
 * when the content type is exactly `application/x-www-form-urlencoded` (no charset), which is what Slack sends.
 */
import { createHmac, randomUUID } from "node:crypto";
import { IDENTITY } from "./workspace.js";

export type SlackContentType = "application/x-www-form-urlencoded" | "application/json";

export interface SignedHeaders {
  "x-slack-signature": string;
  "x-slack-request-timestamp": string;
  "content-type": SlackContentType;
  [header: string]: string;
}

/** Slash commands and interactive payloads are forms; Events API callbacks are JSON. */
const contentTypeOf = (rawBody: string): SlackContentType =>
  rawBody.trimStart().startsWith("{") ? "application/json" : "application/x-www-form-urlencoded";

export function signSlackRequest(
  signingSecret: string,
  rawBody: string,
  timestampSeconds: number = Math.floor(Date.now() / 1000),
): SignedHeaders {
  const ts = String(timestampSeconds);
  const hex = createHmac("sha256", signingSecret).update(`v0:${ts}:${rawBody}`).digest("hex");
  return {
    "x-slack-signature": `v0=${hex}`,
    "x-slack-request-timestamp": ts,
    "content-type": contentTypeOf(rawBody),
  };
}

const VERIFICATION_TOKEN = "standin-verification-token";

export interface SlashCommandFields {
  text?: string;
  command?: string;
  user_id?: string;
  user_name?: string;
  channel_id?: string;
  channel_name?: string;
  team_id?: string;
  team_domain?: string;
  trigger_id?: string;
  /** A url from StandIn.responseUrl(), so that respond() lands in the stand-in. */
  response_url: string;
}

/** The fields of a slash command, in Slack's order; the Socket Mode payload is this same object. */
export function slashCommandPayload(f: SlashCommandFields): Record<string, string> {
  return {
    token: VERIFICATION_TOKEN,
    team_id: f.team_id ?? IDENTITY.teamId,
    team_domain: f.team_domain ?? "why502-standin",
    channel_id: f.channel_id ?? "C0CHECKOUT",
    channel_name: f.channel_name ?? "checkout-oncall",
    user_id: f.user_id ?? "U0ANA",
    user_name: f.user_name ?? "ana",
    command: f.command ?? "/why502",
    text: f.text ?? "",
    api_app_id: IDENTITY.appId,
    is_enterprise_install: "false",
    response_url: f.response_url,
    trigger_id: f.trigger_id ?? `${Date.now()}.${IDENTITY.teamId}.${randomUUID().replaceAll("-", "")}`,
  };
}

/** `command=/why502&text=...`, form-encoded as Slack posts it (spaces as "+"). */
export function slashCommandBody(f: SlashCommandFields): string {
  return new URLSearchParams(slashCommandPayload(f)).toString();
}

export interface BlockActionFields {
  action_id: string;
  value?: string;
  block_id?: string;
  user_id?: string;
  channel_id?: string;
  /** The ts of the message holding the button. */
  message_ts: string;
  /** The message as it was posted, when the handler reads it back. */
  message?: Record<string, unknown>;
  response_url: string;
  trigger_id?: string;
}

export function blockActionsPayload(f: BlockActionFields): Record<string, unknown> {
  const user = f.user_id ?? "U0ANA";
  const channel = f.channel_id ?? "C0CHECKOUT";
  return {
    type: "block_actions",
    user: { id: user, username: "ana", name: "ana", team_id: IDENTITY.teamId },
    api_app_id: IDENTITY.appId,
    token: VERIFICATION_TOKEN,
    container: { type: "message", message_ts: f.message_ts, channel_id: channel, is_ephemeral: false },
    trigger_id: f.trigger_id ?? `${Date.now()}.${IDENTITY.teamId}.${randomUUID().replaceAll("-", "")}`,
    team: { id: IDENTITY.teamId, domain: "why502-standin" },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: channel, name: "checkout-oncall" },
    message: f.message ?? {
      type: "message",
      ts: f.message_ts,
      bot_id: IDENTITY.botId,
      user: IDENTITY.botUserId,
    },
    state: { values: {} },
    response_url: f.response_url,
    actions: [
      {
        action_id: f.action_id,
        block_id: f.block_id ?? "actions",
        text: { type: "plain_text", text: f.action_id, emoji: true },
        ...(f.value !== undefined && { value: f.value }),
        type: "button",
        action_ts: `${Math.floor(Date.now() / 1000)}.000000`,
      },
    ],
  };
}

/** `payload=<json>`, form-encoded, as Slack posts interactivity to the Request URL. */
export function blockActionsBody(f: BlockActionFields): string {
  return new URLSearchParams({ payload: JSON.stringify(blockActionsPayload(f)) }).toString();
}

export interface AppMentionFields {
  text: string;
  user?: string;
  channel?: string;
  /** The ts of the person's message; use StandIn.postAsUser() to make it exist. */
  ts: string;
  thread_ts?: string;
}

export function appMentionEvent(f: AppMentionFields): Record<string, unknown> {
  return {
    type: "app_mention",
    user: f.user ?? "U0ANA",
    text: f.text,
    ts: f.ts,
    channel: f.channel ?? "C0CHECKOUT",
    event_ts: f.ts,
    team: IDENTITY.teamId,
    ...(f.thread_ts !== undefined && { thread_ts: f.thread_ts }),
  };
}

/** The Events API envelope around an event; the Socket Mode `events_api` payload is this same object. */
export function eventCallbackPayload(event: Record<string, unknown>): Record<string, unknown> {
  return {
    token: VERIFICATION_TOKEN,
    team_id: IDENTITY.teamId,
    api_app_id: IDENTITY.appId,
    event,
    type: "event_callback",
    event_id: `Ev${randomUUID().replaceAll("-", "").slice(0, 12).toUpperCase()}`,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [
      {
        enterprise_id: null,
        team_id: IDENTITY.teamId,
        user_id: IDENTITY.botUserId,
        is_bot: true,
        is_enterprise_install: false,
      },
    ],
    is_ext_shared_channel: false,
    event_context: `4-${randomUUID()}`,
  };
}

export function appMentionBody(f: AppMentionFields): string {
  return JSON.stringify(eventCallbackPayload(appMentionEvent(f)));
}
