import { EventEmitter } from "node:events";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedHook {
  /** Date.now() when the body had arrived */
  at: number;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** the body as sent */
  raw: string;
  /** the body parsed as JSON; undefined when it is not JSON */
  json: unknown;
}

export interface WebhookReceiver {
  /** the hook's URL, e.g. http://127.0.0.1:PORT/hooks/alertmanager */
  url: string;
  /** every request, in arrival order */
  received: ReceivedHook[];
  /** The first request (already received or still to come) that `pred` accepts. */
  next(
    pred: (h: ReceivedHook) => boolean,
    opts: { what: string; timeoutMs: number; after?: number },
  ): Promise<ReceivedHook>;
  close(): Promise<void>;
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

/** A plain node:http server that answers 200 to everything and records each request. */
export async function startWebhookReceiver(
  opts: { host?: string; path?: string } = {},
): Promise<WebhookReceiver> {
  const host = opts.host ?? "127.0.0.1";
  const received: ReceivedHook[] = [];
  const events = new EventEmitter();
  const server = createServer((req, res) => {
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (d: string) => {
      raw += d;
    });
    req.on("end", () => {
      const hook: ReceivedHook = {
        at: Date.now(),
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        raw,
        json: parseJson(raw),
      };
      received.push(hook);
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
      events.emit("hook", hook);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port: 0 }, resolve);
  });
  const { port } = server.address() as AddressInfo;

  const next: WebhookReceiver["next"] = (pred, o) =>
    new Promise((resolve, reject) => {
      const index = o.after ?? 0;
      const seen = received.slice(index).find(pred);
      if (seen !== undefined) {
        resolve(seen);
        return;
      }
      const onHook = (h: ReceivedHook) => {
        if (!pred(h)) return;
        clearTimeout(timer);
        events.off("hook", onHook);
        resolve(h);
      };
      const timer = setTimeout(() => {
        events.off("hook", onHook);
        const got = received.map((h) => `${h.method} ${h.path} ${h.raw.slice(0, 200)}`).join("\n");
        reject(
          new Error(
            `timed out after ${o.timeoutMs} ms waiting for ${o.what}; received:\n${got || "(nothing)"}`,
          ),
        );
      }, o.timeoutMs);
      events.on("hook", onHook);
    });

  return {
    url: `http://${host}:${port}${opts.path ?? "/hooks/alertmanager"}`,
    received,
    next,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
