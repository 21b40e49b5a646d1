import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { App, HTTPReceiver, type Receiver, SocketModeReceiver } from "@slack/bolt";
import { hookHandler } from "../alerts/intake.js";
import { sources } from "../alerts/registry.js";
import type { AlertSource } from "../alerts/types.js";
import type { Config } from "../config/schema.js";
import { IncidentManager, type ManagerOptions } from "../incidents/manager.js";
import type { InvestigateEnv } from "../investigate/hosts-env.js";
import type { Diagnoser, InvestigateDeps } from "../investigate/investigate.js";
import { registerHandlers } from "../slack/app.js";
import type { SlackMessage } from "../slack/messages.js";
import { UsergroupCache } from "../slack/usergroups.js";
import type { Store } from "../store/types.js";
import { createHttpServer, type Readiness } from "./http.js";
import { boltLogger, type Logger } from "./log.js";
import { createMetrics, type Metrics } from "./metrics.js";
import { OutboxDrainer } from "./outbox.js";
import { OutboxWriter } from "./outbox-writer.js";
import { Runner } from "./runner.js";
import { type SlackApi, slackApi, slackErrorName } from "./slack-api.js";
import { storeFaultOf, tellStoreFault } from "./store-fault.js";

export interface SlackSecrets {
  botToken: string;
  /** Socket Mode when set. */
  appToken?: string;
  /** HTTP mode: verifies each request's v0 signature. */
  signingSecret?: string;
}

export interface ServeOptions {
  /** Collection answered otherwise (the demo's recorded bundles): nothing is contacted. */
  collect?: InvestigateDeps["collect"];
  config: Config;
  store: Store;
  secrets: SlackSecrets;
  env: InvestigateEnv;
  /** Where webhook secrets (alerts.sources.*.*_env) are read from. */
  secretEnv: Record<string, string | undefined>;
  diagnose: Diagnoser;
  explain: (text: string) => SlackMessage;
  log: Logger;
  port: number;
  host: string;
  /** How an incident's impact is counted (access logs aggregated on the gateways); none: not counted. */
  impact?: ManagerOptions["impact"];
  /** Font files for incident charts (DejaVu Sans from fonts-dejavu-core); none: summaries go without a chart. */
  fontFiles?: string[];
  now?: () => number;
}

export interface Bot {
  mode: "socket" | "http";
  port: number;
  metrics: Metrics;
  api: SlackApi;
  drainer: OutboxDrainer;
  runner: Runner;
  /** Stop taking requests, finish what is in flight, close everything. */
  stop(): Promise<void>;
}

/** Start the bot: Bolt (Socket Mode or HTTP), the HTTP server, the run worker and the outbox drainer. */
export async function startBot(o: ServeOptions): Promise<Bot> {
  const now = o.now ?? Date.now;
  const owner = `${process.pid}-${randomBytes(4).toString("hex")}`;
  const metrics = createMetrics(() => o.store.outboxDepth());
  const timeoutMs = o.config.slack.request_timeout;
  const api = slackApi(o.secrets.botToken, { apiUrl: o.config.slack.api_url, timeoutMs, metrics });
  const leaseMs = o.config.store.lease;
  const drainer = new OutboxDrainer({
    store: o.store,
    api,
    log: o.log.child({ component: "outbox" }),
    owner,
    now,
    leaseMs,
  });
  const outbox = new OutboxWriter(o.store, () => drainer.wake(), now);
  const runner = new Runner({
    ...(o.collect ? { collect: o.collect } : {}),
    store: o.store,
    outbox,
    config: o.config,
    env: o.env,
    diagnose: o.diagnose,
    log: o.log.child({ component: "runner" }),
    metrics,
    owner,
    now,
    leaseMs,
  });

  const incidents = new IncidentManager({
    ...(o.impact ? { impact: o.impact } : {}),
    fontFiles: o.fontFiles,
    store: o.store,
    outbox,
    config: o.config,
    log: o.log.child({ component: "incidents" }),
    wakeRunner: () => runner.wake(),
    now,
  });

  // Who the bot is, from auth.test: retried in the background, so a Slack outage at start-up only delays
  // readiness. Bolt gets it through `authorize`, which then never calls Slack in the ack path.
  const identity: { botId?: string; botUserId?: string; error?: string } = {};
  let authTimer: NodeJS.Timeout | undefined;
  const authTest = async (): Promise<void> => {
    try {
      const r = await api.call("auth.test", {});
      identity.botId = String(r.bot_id ?? "");
      identity.botUserId = String(r.user_id ?? "");
      identity.error = undefined;
    } catch (e) {
      identity.error = slackErrorName(e);
      o.log.warn({ error: identity.error }, "auth.test failed; retrying");
      authTimer = setTimeout(() => void authTest(), 2000);
      authTimer.unref();
    }
  };
  await Promise.race([authTest(), new Promise((r) => setTimeout(r, 3000).unref())]);

  const logger = boltLogger(o.log);
  const socket = o.secrets.appToken !== undefined;
  let receiver: Receiver;
  let httpReceiver: HTTPReceiver | undefined;
  if (socket) {
    receiver = new SocketModeReceiver({
      appToken: o.secrets.appToken as string,
      logger,
      installerOptions: { clientOptions: { slackApiUrl: o.config.slack.api_url, timeout: timeoutMs } },
    });
  } else {
    if (!o.secrets.signingSecret) throw new Error("HTTP mode needs a signing secret");
    httpReceiver = new HTTPReceiver({
      signingSecret: o.secrets.signingSecret,
      endpoints: "/slack/events",
      logger,
      processBeforeResponse: false,
      // Slack gives up after 3 s: answer before it does when a handler forgot to ack.
      unhandledRequestTimeoutMillis: 2500,
    });
    receiver = httpReceiver;
  }
  const app = new App({
    receiver,
    logger,
    authorize: async () => ({
      botToken: o.secrets.botToken,
      botId: identity.botId,
      botUserId: identity.botUserId,
    }),
    clientOptions: { slackApiUrl: o.config.slack.api_url, timeout: timeoutMs, retryConfig: { retries: 0 } },
    extendedErrorHandler: true,
  });
  app.error((async ({ error, body }: { error: Error; body: unknown }) => {
    // A request the store could not record: the person who asked is told so, since nothing else will answer.
    const fault = storeFaultOf(error);
    if (fault) return tellStoreFault(api, body, fault, o.log.child({ component: "slack" }));
    o.log.error({ err: error }, "Slack handler failed");
  }) as unknown as Parameters<typeof app.error>[0]);
  registerHandlers(app, {
    config: o.config,
    store: o.store,
    outbox,
    wakeRunner: () => runner.wake(),
    wakeIncidents: () => incidents.wake(),
    usergroups: new UsergroupCache(api),
    log: o.log.child({ component: "slack" }),
    metrics,
    explain: o.explain,
    now,
  });

  const readiness = async (): Promise<Readiness> => {
    const checks: Readiness["checks"] = { config: { ok: true } };
    try {
      await o.store.ping();
      checks.store = { ok: true };
    } catch (e) {
      checks.store = { ok: false, detail: e instanceof Error ? e.message : String(e) };
    }
    const slackDown = drainer.lastSlackFailure > drainer.lastSlackAnswer;
    checks.slack =
      identity.botUserId && !slackDown
        ? { ok: true }
        : {
            ok: false,
            detail: identity.error ?? (slackDown ? "recent Slack calls failed" : "auth.test pending"),
          };
    return { ready: Object.values(checks).every((c) => c.ok), checks };
  };
  const server = createHttpServer({
    log: o.log,
    metrics,
    readiness,
    slack: httpReceiver ? (req, res) => httpReceiver?.requestListener(req, res) : undefined,
    routes: Object.fromEntries(
      (Object.keys(sources) as AlertSource[]).map((name) => [
        `/hooks/${name}`,
        hookHandler(name, {
          config: o.config,
          store: o.store,
          outbox,
          env: o.secretEnv,
          log: o.log.child({ component: "alerts" }),
          metrics,
          wake: () => incidents.wake(),
          now,
        }),
      ]),
    ),
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  // HTTP mode needs no start: Bolt's receiver serves through requestListener on our server.
  if (socket) await app.start();
  drainer.start();
  runner.start();
  incidents.start();
  o.log.info({ mode: socket ? "socket" : "http", port, host: o.host }, "why502 serving");

  return {
    mode: socket ? "socket" : "http",
    port,
    metrics,
    api,
    drainer,
    runner,
    async stop() {
      if (authTimer) clearTimeout(authTimer);
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closed;
      if (socket) await app.stop();
      await incidents.stop();
      await runner.stop();
      await drainer.stop();
    },
  };
}
