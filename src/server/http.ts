import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Logger } from "./log.js";
import type { Metrics } from "./metrics.js";

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface Readiness {
  ready: boolean;
  checks: Record<string, { ok: boolean; detail?: string }>;
}

export interface HttpOptions {
  log: Logger;
  metrics: Metrics;
  readiness: () => Promise<Readiness>;
  /** Slack's HTTP mode (Bolt's HTTPReceiver), mounted at /slack/events. */
  slack?: Handler;
  /** More routes by path (the alert webhooks mount here). */
  routes?: Record<string, Handler>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** One HTTP server: /healthz (live), /readyz (config, store, Slack), /metrics, Slack's HTTP mode, webhooks. */
export function createHttpServer(o: HttpOptions): Server {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const handle = async () => {
      if (path === "/healthz" && req.method === "GET") return json(res, 200, { status: "ok" });
      if (path === "/readyz" && req.method === "GET") {
        const r = await o.readiness();
        return json(res, r.ready ? 200 : 503, r);
      }
      if (path === "/metrics" && req.method === "GET") {
        const text = await o.metrics.registry.metrics();
        res.writeHead(200, { "content-type": o.metrics.registry.contentType });
        res.end(text);
        return;
      }
      if (path === "/slack/events" && o.slack) {
        res.on("finish", () => {
          if (res.statusCode === 401) o.metrics.requestsRejected.inc({ reason: "bad_signature" });
        });
        return o.slack(req, res);
      }
      const route = o.routes?.[path];
      if (route) return route(req, res);
      return json(res, 404, {
        error: `no route ${path}: the bot serves /healthz, /readyz, /metrics and /slack/events`,
      });
    };
    Promise.resolve(handle()).catch((e: unknown) => {
      o.log.error({ err: e, path }, "HTTP handler failed");
      if (!res.headersSent) json(res, 500, { error: "internal error (it is in the bot's log)" });
      else res.destroy();
    });
  });
  // Kept-alive connections outlive a load balancer's idle timeout (60 s on the common ones): when the server closes
  // first, a request the balancer sends on that socket at the same moment fails, and Slack or Alertmanager sees a 502.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return server;
}
