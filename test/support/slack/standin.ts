/**
 * A local stand-in for Slack's Web API and Socket Mode, for tests: one node:http server answering
 * `/api/<method>` like slack.com/api, the upload URLs of filesUploadV2, response_urls, and a `ws` server for
 * Socket Mode. Point WebClient at it with `slackApiUrl: standIn.url`. Every call is recorded; faults are
 * chosen per test.
 *
 * Like Slack, API errors are HTTP 200 with `{ok:false,error}`; a rate limit is HTTP 429 with `Retry-After`
 * and `{ok:false,error:"ratelimited"}`; every answer to a bot token carries `x-oauth-scopes`.
 */
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { STANDARD_EMOJI } from "./emoji.js";
import { dispatch } from "./methods.js";
import { receiveUpload, UPLOAD_PATH } from "./methods-files.js";
import { decodeApiRequest, type Params, readBody } from "./request.js";
import { type Ack, type EnvelopeOptions, type EnvelopeType, SocketModeServer } from "./socket-mode.js";
import { waitForChange } from "./wait-for.js";
import {
  type ChannelSeed,
  DEFAULT_CHANNELS,
  IDENTITY,
  type NewMessage,
  type StoredEphemeral,
  type StoredMessage,
  Workspace,
} from "./workspace.js";

export { BLOCK_LIMITS } from "./blocks-limits.js";
export type { ChannelSeed, StoredEphemeral, StoredFile, StoredMessage } from "./workspace.js";
export { IDENTITY } from "./workspace.js";

export const DEFAULT_SCOPES = [
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
];

export interface StandInOptions {
  botToken?: string;
  appToken?: string;
  channels?: ChannelSeed[];
  usergroups?: Record<string, string[]>;
  scopes?: string[];
  /** Custom emoji names accepted by reactions.add on top of the standard ones. */
  emoji?: string[];
  /** The clock message timestamps come from; milliseconds since the epoch. */
  now?: () => number;
}

export type Fault =
  | { kind: "429"; retryAfter?: number }
  | { kind: "500" }
  | { kind: "drop" }
  | { kind: "accept-then-hang" }
  | { kind: "accept-then-drop" };

export type FaultKind = Fault["kind"];

export interface RecordedCall {
  /** A Web API method name, or "upload" for a POST to an upload_url. */
  method: string;
  params: Params;
  at: number;
  /** The HTTP status sent; absent while no answer was sent (a hang, a drop). */
  status?: number;
  response?: unknown;
  fault?: FaultKind;
}

export interface StandIn {
  url: string;
  port: number;
  calls: RecordedCall[];
  /**
   * Emits "call" (a call answered or dropped), "hang" (a call performed and left unanswered), "upload",
   * "response" (a post to a response_url), "ack" and "socket" (a Socket Mode connection opened or closed).
   */
  events: EventEmitter;
  messages(channel: string): StoredMessage[];
  replies(channel: string, threadTs: string): StoredMessage[];
  ephemerals(channel: string): StoredEphemeral[];
  /** Stores a message from a person, e.g. the one an app_mention points at. */
  postAsUser(channel: string, user: string, text: string, threadTs?: string): StoredMessage;
  fault(method: string, f: Fault, times?: number): void;
  down(on: boolean, kind?: "500" | "drop"): void;
  waitFor<T>(predicate: () => T | undefined | false, timeoutMs?: number): Promise<T>;
  sendEnvelope(type: EnvelopeType, payload: object, opts?: EnvelopeOptions): Promise<Ack>;
  socketConnections(): number;
  disconnectSockets(reason?: string): void;
  responseUrl(): string;
  responses: { url: string; body: unknown }[];
  close(): Promise<void>;
}

const RESPONSE_URL_PATH = "/commands/";
const RESPONSE_URL_USES = 5;

interface FaultRule {
  method: string;
  fault: Fault;
  remaining: number;
}

class SlackStandIn implements StandIn {
  url = "";
  port = 0;
  readonly calls: RecordedCall[] = [];
  readonly events = new EventEmitter();
  readonly responses: { url: string; body: unknown }[] = [];
  private readonly server: Server;
  private readonly ws: Workspace;
  private readonly socketMode: SocketModeServer;
  private readonly faults: FaultRule[] = [];
  private outage: "500" | "drop" | undefined;
  private readonly hung = new Set<ServerResponse>();
  private readonly responseUrlUses = new Map<string, number>();
  private readonly tokens: { bot: string; app: string };
  private readonly scopes: readonly string[];
  private closed = false;

  constructor(opts: StandInOptions) {
    this.tokens = { bot: opts.botToken ?? "xoxb-standin", app: opts.appToken ?? "xapp-standin" };
    this.scopes = opts.scopes ?? DEFAULT_SCOPES;
    this.ws = new Workspace({
      channels: opts.channels ?? DEFAULT_CHANNELS,
      usergroups: opts.usergroups ?? {},
      emoji: [...STANDARD_EMOJI, ...(opts.emoji ?? [])],
      now: opts.now ?? Date.now,
    });
    this.events.setMaxListeners(0);
    this.socketMode = new SocketModeServer(() => this.changed("socket"));
    this.server = createServer((req, res) => {
      this.route(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
        res.end(String(error));
      });
    });
    this.server.on("upgrade", (req, socket, head) => {
      this.socketMode.handleUpgrade(req, socket, head, new URL(req.url ?? "/", this.url));
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
    this.url = `http://127.0.0.1:${this.port}/api/`;
  }

  private get origin(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  private changed(event: string, detail?: unknown): void {
    this.events.emit(event, detail);
    this.events.emit("change");
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.origin);
    const raw = await readBody(req);
    if (url.pathname.startsWith("/api/")) return this.apiCall(url, req, raw, res);
    if (url.pathname.startsWith(UPLOAD_PATH)) return this.upload(url, req, raw, res);
    if (url.pathname.startsWith(RESPONSE_URL_PATH)) return this.respondUrl(url, req, raw, res);
    plain(res, 404, "not found");
  }

  private takeFault(method: string): Fault | undefined {
    if (this.outage) return { kind: this.outage };
    const rule = this.faults.find((r) => r.method === method || r.method === "*");
    if (!rule) return undefined;
    rule.remaining -= 1;
    if (rule.remaining <= 0) this.faults.splice(this.faults.indexOf(rule), 1);
    return rule.fault;
  }

  /** Answers a fault that stops the call before it runs; false when the call should run. */
  private refuse(call: RecordedCall, fault: Fault | undefined, res: ServerResponse): boolean {
    if (fault?.kind === "429") {
      const retryAfter = String(fault.retryAfter ?? 1);
      this.send(call, res, 429, { ok: false, error: "ratelimited" }, { "retry-after": retryAfter });
      return true;
    }
    if (fault?.kind === "500") {
      this.send(call, res, 500, "Internal Server Error", {});
      return true;
    }
    if (fault?.kind === "drop") {
      res.socket?.destroy();
      this.changed("call", call);
      return true;
    }
    return false;
  }

  /** Runs the call; "accept-then-*" faults then withhold the answer. */
  private finish(
    call: RecordedCall,
    fault: Fault | undefined,
    res: ServerResponse,
    answer: () => void,
  ): void {
    if (fault?.kind === "accept-then-hang") {
      this.hung.add(res);
      res.on("close", () => this.hung.delete(res));
      this.changed("hang", call);
      return;
    }
    if (fault?.kind === "accept-then-drop") {
      res.socket?.destroy();
      this.changed("call", call);
      return;
    }
    answer();
  }

  private async apiCall(url: URL, req: IncomingMessage, raw: Buffer, res: ServerResponse): Promise<void> {
    const method = url.pathname.slice("/api/".length);
    const decoded = await decodeApiRequest(req, url, raw);
    const call: RecordedCall = { method, params: decoded.params, at: this.ws.now() };
    this.calls.push(call);
    const fault = this.takeFault(method);
    if (fault) call.fault = fault.kind;
    if (this.refuse(call, fault, res)) return;
    const ctx = {
      params: decoded.params,
      ws: this.ws,
      origin: this.origin,
      openSocketTicket: () => this.socketMode.issueTicket(),
    };
    const { result, scopes, accepted } = decoded.error
      ? { result: { ok: false, error: decoded.error } }
      : dispatch(method, decoded.token, this.tokens, this.scopes, ctx);
    const warned = decoded.warnings.length > 0 ? withWarnings(result, decoded.warnings) : result;
    const headers = {
      ...(scopes && { "x-oauth-scopes": scopes.join(",") }),
      ...(accepted && { "x-accepted-oauth-scopes": accepted }),
    };
    this.finish(call, fault, res, () => this.send(call, res, 200, warned, headers));
  }

  private send(
    call: RecordedCall,
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string>,
  ): void {
    const json = typeof body !== "string";
    const contentType = json ? "application/json; charset=utf-8" : "text/plain; charset=utf-8";
    res.writeHead(status, { "content-type": contentType, ...headers });
    res.end(json ? JSON.stringify(body) : body);
    call.status = status;
    call.response = body;
    this.changed("call", call);
  }

  private async upload(url: URL, req: IncomingMessage, raw: Buffer, res: ServerResponse): Promise<void> {
    const fileId = url.pathname.slice(UPLOAD_PATH.length);
    const call: RecordedCall = {
      method: "upload",
      params: { file_id: fileId, bytes: raw.length },
      at: this.ws.now(),
    };
    this.calls.push(call);
    const fault = this.takeFault("upload");
    if (fault) call.fault = fault.kind;
    if (this.refuse(call, fault, res)) return;
    const outcome = await receiveUpload(this.ws, fileId, req, raw);
    this.finish(call, fault, res, () => {
      this.send(call, res, outcome.status, outcome.body, {});
      if (outcome.file) this.changed("upload", outcome.file);
    });
  }

  private async respondUrl(url: URL, req: IncomingMessage, raw: Buffer, res: ServerResponse): Promise<void> {
    const key = url.pathname;
    const uses = this.responseUrlUses.get(key);
    if (uses === undefined) return plain(res, 404, "no_service");
    if (uses >= RESPONSE_URL_USES) return plain(res, 404, "used_url");
    this.responseUrlUses.set(key, uses + 1);
    const body = await responseBody(req, raw);
    if (body === undefined) return plain(res, 400, "invalid_payload");
    const entry = { url: `${this.origin.replace(/\/$/, "")}${key}`, body };
    this.responses.push(entry);
    plain(res, 200, "ok");
    this.changed("response", entry);
  }

  messages(channel: string): StoredMessage[] {
    return this.ws.topLevel(channel);
  }

  replies(channel: string, threadTs: string): StoredMessage[] {
    return this.ws.replies(channel, threadTs);
  }

  ephemerals(channel: string): StoredEphemeral[] {
    return this.ws.ephemerals.filter((e) => e.channel === channel);
  }

  postAsUser(channel: string, user: string, text: string, threadTs?: string): StoredMessage {
    if (!this.ws.channels.has(channel)) throw new Error(`the stand-in has no channel ${channel}`);
    const message: NewMessage = {
      text,
      user,
      files: [],
      ...(threadTs !== undefined && { thread_ts: threadTs }),
    };
    return this.ws.post(channel, message);
  }

  fault(method: string, f: Fault, times = 1): void {
    this.faults.push({ method, fault: f, remaining: times });
  }

  down(on: boolean, kind: "500" | "drop" = "500"): void {
    this.outage = on ? kind : undefined;
  }

  waitFor<T>(predicate: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
    return waitForChange(this.events, predicate, timeoutMs, () => {
      const last = this.calls.slice(-5).map((c) => `${c.method} → ${c.status ?? c.fault ?? "no answer"}`);
      return `last calls: ${last.join("; ") || "none"}`;
    });
  }

  sendEnvelope(type: EnvelopeType, payload: object, opts?: EnvelopeOptions): Promise<Ack> {
    return this.socketMode.send(type, payload, opts).then((ack) => {
      this.changed("ack", ack);
      return ack;
    });
  }

  socketConnections(): number {
    return this.socketMode.connections();
  }

  disconnectSockets(reason = "refresh_requested"): void {
    this.socketMode.disconnectAll(reason);
  }

  responseUrl(): string {
    const path = `${RESPONSE_URL_PATH}${IDENTITY.teamId}/${this.responseUrlUses.size + 1}/${randomBytes(12).toString("hex")}`;
    this.responseUrlUses.set(path, 0);
    return `${this.origin.replace(/\/$/, "")}${path}`;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.events.emit("closed");
    this.socketMode.close();
    for (const res of this.hung) res.socket?.destroy();
    this.hung.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8" }).end(text);
}

/** A response_url takes JSON (what Bolt's respond() sends) or a form with a `payload` field. */
async function responseBody(req: IncomingMessage, raw: Buffer): Promise<unknown> {
  const text = raw.toString("utf8");
  try {
    if ((req.headers["content-type"] ?? "").startsWith("application/json")) return JSON.parse(text);
    const payload = new URLSearchParams(text).get("payload");
    return payload === null ? undefined : JSON.parse(payload);
  } catch {
    return undefined;
  }
}

function withWarnings(result: Record<string, unknown>, warnings: string[]): Record<string, unknown> {
  const meta = (result.response_metadata ?? {}) as Record<string, unknown>;
  return { ...result, warning: warnings.join(","), response_metadata: { ...meta, warnings } };
}

export async function startSlackStandIn(opts: StandInOptions = {}): Promise<StandIn> {
  const standIn = new SlackStandIn(opts);
  await standIn.listen();
  return standIn;
}
