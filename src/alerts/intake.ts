import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Config } from "../config/schema.js";
import { decide } from "../incidents/lifecycle.js";
import type { Logger } from "../server/log.js";
import type { Metrics } from "../server/metrics.js";
import type { OutboxWriter } from "../server/outbox-writer.js";
import { quoted } from "../slack/command-text.js";
import { textMessage } from "../slack/messages.js";
import type { Store } from "../store/types.js";
import { checkAuth } from "./auth.js";
import { sources } from "./registry.js";
import type { Alert, AlertSource } from "./types.js";

export interface IntakeDeps {
  config: Config;
  store: Store;
  outbox: OutboxWriter;
  env: Record<string, string | undefined>;
  log: Logger;
  metrics: Metrics;
  /** Something is owed (a run, a notice): wake the incident manager. */
  wake: () => void;
  now?: () => number;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly detail?: unknown,
  ) {
    super(message);
  }
}

/** What each source's body should be, for the 422's sentence. */
const SHAPES: Record<AlertSource, string> = {
  alertmanager: "Alertmanager's webhook_config sends version 4 with an alerts list",
  grafana: "Grafana's webhook contact point sends an alerts list",
  generic: "service and status (firing or resolved) are required, key, summary and started_at optional",
};

/** Bytes of an over-limit body read and dropped, so that the 413 reaches the sender, before the socket is cut. */
const DRAIN_BYTES = 8 << 20;

/**
 * The body, up to `max` bytes. Over the limit the rest is read and dropped (up to DRAIN_BYTES more) and the
 * 413 is answered when the sender has finished: cutting the socket at once, or answering while it still
 * writes, made senders see a broken pipe instead of the answer.
 */
function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > max)
    return Promise.reject(new HttpError(413, `the body is ${declared} bytes; the limit is ${max}`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const over = () => new HttpError(413, `the body is over the limit of ${max} bytes`);
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > max + DRAIN_BYTES) {
        reject(over());
        req.destroy();
      } else if (size > max) chunks.length = 0;
      else chunks.push(c);
    });
    req.on("end", () => (size > max ? reject(over()) : resolve(Buffer.concat(chunks))));
    req.on("error", reject);
  });
}

/** The inventory service an alert's labels name: the first configured label whose value is a service. */
export function serviceOf(config: Config, alert: Alert): string | undefined {
  const labels = alert.source === "generic" ? ["service"] : config.alerts.service_labels;
  for (const l of labels) {
    const v = alert.labels[l];
    if (v !== undefined && Object.hasOwn(config.services, v)) return v;
  }
  return undefined;
}

/** Sender text echoed in an answer: at most `max` characters, so a refusal stays small whatever was sent. */
function clip(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** The labels that could have named the service, clipped: what an unmatched alert's refusal shows. */
function serviceLabels(config: Config, alert: Alert): Record<string, string> {
  const names = alert.source === "generic" ? ["service"] : config.alerts.service_labels;
  const out: Record<string, string> = {};
  for (const l of names) {
    const v = alert.labels[l];
    if (v !== undefined) out[l] = clip(v, 100);
  }
  return out;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/**
 * `POST /hooks/<source>`: authenticate, validate, record every alert and apply it to its incident, then
 * answer. Never waits for SSH or Slack: diagnoses and messages are rows the workers pick up.
 */
export function hookHandler(source: AlertSource, d: IntakeDeps) {
  const now = d.now ?? Date.now;
  const lastFallback = new Map<string, number>();
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = performance.now();
    const answer = (status: number, body: unknown) => {
      send(res, status, body);
      d.metrics.webhooks.inc({ source, status: String(status) });
      d.metrics.webhookSeconds.observe((performance.now() - started) / 1000);
    };
    try {
      const auth = d.config.alerts.sources[source];
      if (!auth)
        throw new HttpError(
          404,
          `the ${source} hook is not enabled: add alerts.sources.${source} to why502.yaml`,
        );
      if (req.method !== "POST") throw new HttpError(405, "use POST");
      const body = await readBody(req, d.config.alerts.max_body);
      const ok = checkAuth(auth, req.headers, body, d.env, now());
      if (!ok.ok) throw new HttpError(ok.status, ok.error);
      let json: unknown;
      try {
        json = JSON.parse(body.toString("utf8"));
      } catch {
        throw new HttpError(400, "the body is not JSON: send the alert as a JSON object");
      }
      const parsed = sources[source].schema.safeParse(json);
      if (!parsed.success) {
        const issues = parsed.error.issues
          .slice(0, 5)
          .map((i) => ({ path: clip(i.path.join("."), 100), message: clip(i.message, 200) }));
        throw new HttpError(
          422,
          `the body is not ${source === "alertmanager" ? "an" : "a"} ${source} payload: fix the fields named in detail (${SHAPES[source]})`,
          issues,
        );
      }
      const alerts = sources[source].toAlerts(parsed.data as never);
      const results: { key: string; service?: string; incident?: string; outcome: string }[] = [];
      for (const alert of alerts) {
        const service = serviceOf(d.config, alert);
        const channel = service
          ? (d.config.services[service]?.slack_channel ?? d.config.slack.channel)
          : undefined;
        const r = await d.store.applyAlert(
          {
            receivedAt: now(),
            alert,
            service,
            channel,
            newIncidentId: randomUUID(),
            cooldownMs: d.config.alerts.cooldown,
          },
          (view) => decide(view, alert, now(), d.config.alerts.cooldown),
        );
        const outcome =
          r.decision.kind === "ignore" ? (service ? "ignored" : "unknown_service") : r.decision.kind;
        d.metrics.alerts.inc({ source, outcome });
        results.push({ key: clip(alert.key, 100), service, incident: r.incidentId, outcome });
      }
      d.wake();
      const unknown = alerts.filter((_, i) => !results[i]?.service);
      if (unknown.length > 0) await fallback(unknown);
      d.log.info(
        {
          source,
          alerts: results.length,
          results: results.slice(0, 20),
          ms: Math.round(performance.now() - started),
        },
        "webhook",
      );
      if (alerts.length > 0 && unknown.length === alerts.length) {
        throw new HttpError(
          422,
          `no service in the inventory matches these alerts' labels (${d.config.alerts.service_labels.join(", ")}): add the service, or name it in one of those labels`,
          unknown.slice(0, 5).map((a) => serviceLabels(d.config, a)),
        );
      }
      // Up to 10,000 alerts a request: the answer names the first 100 (and says how many there were).
      answer(200, {
        ok: true,
        alerts: results.slice(0, 100),
        ...(results.length > 100 ? { total: results.length } : {}),
      });
    } catch (e) {
      if (e instanceof HttpError) {
        d.log.warn({ source, status: e.status, error: e.message }, "webhook refused");
        // A sender still writing an over-limit body gets the 413 on a connection that is then closed.
        if (e.status === 413) res.setHeader("connection", "close");
        if (!res.headersSent)
          answer(e.status, { ok: false, error: e.message, ...(e.detail ? { detail: e.detail } : {}) });
        return;
      }
      d.log.error({ source, err: e }, "webhook failed");
      if (!res.headersSent)
        answer(500, { ok: false, error: "internal error (it is in the bot's log); the sender should retry" });
    }
  };

  /** Tell the fallback channel about alerts for services the bot does not know, at most once an hour each. */
  async function fallback(unknown: Alert[]): Promise<void> {
    const channel = d.config.alerts.fallback_channel;
    if (!channel) return;
    for (const a of unknown) {
      const name =
        d.config.alerts.service_labels.map((l) => a.labels[l]).find((v) => v !== undefined) ?? a.key;
      const key = `${source}:${name}`;
      if (now() - (lastFallback.get(key) ?? 0) < 3_600_000) continue;
      lastFallback.set(key, now());
      await d.outbox.post(
        `fallback.${randomUUID()}`,
        channel,
        textMessage(
          `:grey_question: ${source} sent an alert for "${quoted(name, 60)}", which is not a service in why502.yaml: add it to \`services:\` or name a known service in one of the labels ${d.config.alerts.service_labels.map((l) => `\`${l}\``).join(", ")}. (Said at most once an hour.)`,
        ),
      );
    }
  }
}
