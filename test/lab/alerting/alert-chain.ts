// A real alert chain for the lab: nginx's access log → mtail → Prometheus → Alertmanager → a webhook.
import { rmSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Alertmanager, startAlertmanager } from "./alertmanager.js";
import type { Daemon } from "./daemon.js";
import { type Mtail, startMtail } from "./mtail.js";
import { type Prometheus, startPrometheus } from "./prometheus.js";

export interface AlertChainOptions {
  /** the lab nginx's access log (main_ext format) */
  accessLog: string;
  /** where Alertmanager posts (why502's /hooks/alertmanager on 127.0.0.1) */
  webhookUrl: string;
  /** sent as Alertmanager's http_config.authorization (type Bearer) */
  bearerToken?: string;
  /** label `service` on the alert; default "checkout" */
  service?: string;
  /** where configs and data dirs go; default a fresh temp dir, removed by stop() */
  dir?: string;
  /** loopback address all three listen on; default 127.0.0.1 */
  host?: string;
  /** Alertmanager's route timings; defaults "0s", "1s", "1m" */
  groupWait?: string;
  groupInterval?: string;
  repeatInterval?: string;
  /** Alertmanager's global resolve_timeout (for alerts posted without endsAt); default "5m" */
  resolveTimeout?: string;
  /** range of the alert's rate(); default "15s": the alert resolves about this long after the last 502 */
  rateWindow?: string;
}

export interface PostedAlert {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt?: string;
  endsAt?: string;
}

export interface AlertChain {
  mtailUrl: string;
  prometheusUrl: string;
  alertmanagerUrl: string;
  pids: { mtail: number; prometheus: number; alertmanager: number };
  dir: string;
  /** Post alerts straight to Alertmanager's /api/v2/alerts (fast path for intake tests). */
  postAlerts(alerts: PostedAlert[]): Promise<void>;
  /** Stops all three by pid (Prometheus first), removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

const LOOPBACK = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** Starts mtail and Alertmanager, then Prometheus; resolves once a 502 would travel the whole chain. */
export async function startAlertChain(opts: AlertChainOptions): Promise<AlertChain> {
  const host = opts.host ?? "127.0.0.1";
  if (!LOOPBACK.test(host)) throw new Error(`alert chain: ${host} is not a 127.0.0.0/8 address`);
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), "why502-alerting-")));

  const daemons: Daemon[] = [];
  const killNow = (): void => {
    for (const d of daemons) d.killNow();
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", killNow);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // The reverse of the start: Prometheus first, which would log every failed send to a stopped Alertmanager.
      const errors: unknown[] = [];
      for (const d of [...daemons].reverse()) await d.stop().catch((err: unknown) => errors.push(err));
      process.removeListener("exit", killNow);
      if (ownDir) await rm(dir, { recursive: true, force: true });
      if (errors.length > 0) throw new AggregateError(errors, `alert chain stop: ${errors.length} failed`);
    })();
    return stopping;
  };

  try {
    for (const sub of ["mtail", "prometheus", "alertmanager"])
      await mkdir(join(dir, sub), { recursive: true });
    const [m, a] = await Promise.allSettled([
      startMtail({ dir: join(dir, "mtail"), host, accessLog: opts.accessLog }),
      startAlertmanager({
        dir: join(dir, "alertmanager"),
        host,
        webhookUrl: opts.webhookUrl,
        ...(opts.bearerToken === undefined ? {} : { bearerToken: opts.bearerToken }),
        groupWait: opts.groupWait ?? "0s",
        groupInterval: opts.groupInterval ?? "1s",
        repeatInterval: opts.repeatInterval ?? "1m",
        resolveTimeout: opts.resolveTimeout ?? "5m",
      }),
    ]);
    if (m.status === "fulfilled") daemons.push(m.value);
    if (a.status === "fulfilled") daemons.push(a.value);
    if (m.status === "rejected") throw m.reason;
    if (a.status === "rejected") throw a.reason;
    const mtail: Mtail = m.value;
    const alertmanager: Alertmanager = a.value;

    const prometheus: Prometheus = await startPrometheus({
      dir: join(dir, "prometheus"),
      host,
      mtail: new URL(mtail.url).host,
      alertmanager: new URL(alertmanager.url).host,
      service: opts.service ?? "checkout",
      rateWindow: opts.rateWindow ?? "15s",
    });
    daemons.push(prometheus);

    const postAlerts = async (alerts: PostedAlert[]): Promise<void> => {
      const res = await fetch(`${alertmanager.url}/api/v2/alerts`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(alerts),
        signal: AbortSignal.timeout(5000),
      });
      const body = await res.text();
      if (!res.ok) throw new Error(`POST ${alertmanager.url}/api/v2/alerts: ${res.status} ${body}`);
    };

    return {
      mtailUrl: mtail.url,
      prometheusUrl: prometheus.url,
      alertmanagerUrl: alertmanager.url,
      pids: { mtail: mtail.pid, prometheus: prometheus.pid, alertmanager: alertmanager.pid },
      dir,
      postAlerts,
      stop,
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
