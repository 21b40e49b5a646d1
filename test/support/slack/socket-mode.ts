/**
 * Slack's side of Socket Mode. apps.connections.open hands out a one-use ticket URL; on connect Slack sends
 * `hello`; each delivery is an envelope the app must ack with `{"envelope_id", "payload"?}` within 3 seconds;
 * Slack recycles connections with `{"type":"disconnect","reason":"refresh_requested"}`.
 *
 * Envelope shapes follow Slack's docs: `events_api` carries `accepts_response_payload: false` plus
 * `retry_attempt` / `retry_reason`; `slash_commands` and `interactive` carry `accepts_response_payload: true`
 * and no retry fields. Pings from the client are answered by `ws` itself.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import { IDENTITY } from "./workspace.js";

export type EnvelopeType = "slash_commands" | "events_api" | "interactive";

export interface EnvelopeOptions {
  /** How long to wait for the ack; Slack's limit is 3 seconds. */
  ackTimeoutMs?: number;
  retryAttempt?: number;
  retryReason?: string;
}

export interface Ack {
  envelope_id: string;
  payload?: unknown;
  ackMs: number;
}

interface Waiter {
  sentAt: number;
  resolve(ack: Ack): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export const SOCKET_PATH = "/link/";

export class SocketModeServer {
  readonly acks: Ack[] = [];
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly tickets = new Set<string>();
  private readonly sockets = new Set<WebSocket>();
  private readonly waiters = new Map<string, Waiter>();
  private turn = 0;

  constructor(private readonly changed: () => void) {}

  issueTicket(): string {
    const ticket = randomUUID();
    this.tickets.add(ticket);
    return ticket;
  }

  connections(): number {
    return this.sockets.size;
  }

  /** Accepts the upgrade when the URL carries a ticket from apps.connections.open; tickets are single-use. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): void {
    const ticket = url.searchParams.get("ticket") ?? "";
    if (url.pathname !== SOCKET_PATH || !this.tickets.delete(ticket)) {
      socket.end("HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n");
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
  }

  private accept(ws: WebSocket): void {
    this.sockets.add(ws);
    ws.on("message", (data, isBinary) => {
      if (!isBinary) this.onMessage(data.toString());
    });
    ws.on("close", () => {
      this.sockets.delete(ws);
      this.changed();
    });
    ws.send(
      JSON.stringify({
        type: "hello",
        num_connections: this.sockets.size,
        debug_info: { host: "standin", approximate_connection_time: 18060 },
        connection_info: { app_id: IDENTITY.appId },
      }),
    );
    this.changed();
  }

  private onMessage(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof message !== "object" || message === null) return;
    const { envelope_id, payload } = message as { envelope_id?: unknown; payload?: unknown };
    const waiter = typeof envelope_id === "string" ? this.waiters.get(envelope_id) : undefined;
    if (!waiter || typeof envelope_id !== "string") return;
    this.waiters.delete(envelope_id);
    clearTimeout(waiter.timer);
    const ack: Ack = {
      envelope_id,
      ...(payload !== undefined && { payload }),
      ackMs: Date.now() - waiter.sentAt,
    };
    this.acks.push(ack);
    waiter.resolve(ack);
    this.changed();
  }

  private pickSocket(): WebSocket | undefined {
    const open = [...this.sockets].filter((s) => s.readyState === s.OPEN);
    this.turn += 1;
    return open[this.turn % Math.max(open.length, 1)];
  }

  send(type: EnvelopeType, payload: object, opts: EnvelopeOptions = {}): Promise<Ack> {
    const socket = this.pickSocket();
    if (!socket) return Promise.reject(new Error(`no Socket Mode client is connected to deliver ${type}`));
    const envelope_id = randomUUID();
    const timeoutMs = opts.ackTimeoutMs ?? 3000;
    const envelope = {
      envelope_id,
      type,
      accepts_response_payload: type !== "events_api",
      ...(type === "events_api" && {
        retry_attempt: opts.retryAttempt ?? 0,
        retry_reason: opts.retryReason ?? "",
      }),
      payload,
    };
    return new Promise<Ack>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(envelope_id);
        reject(new Error(`envelope ${envelope_id} (${type}) was not acked within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(envelope_id, { sentAt: Date.now(), resolve, reject, timer });
      socket.send(JSON.stringify(envelope));
    });
  }

  /** What Slack does before recycling a connection: a disconnect message, then the close. */
  disconnectAll(reason: string): void {
    for (const socket of this.sockets) {
      socket.send(JSON.stringify({ type: "disconnect", reason, debug_info: { host: "standin" } }));
      socket.close(1000, reason);
    }
  }

  close(): void {
    for (const [id, waiter] of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error(`envelope ${id} was not acked before the stand-in closed`));
    }
    this.waiters.clear();
    for (const socket of this.sockets) socket.terminate();
    this.sockets.clear();
    this.wss.close();
  }
}
