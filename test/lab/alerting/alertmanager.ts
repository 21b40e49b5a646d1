import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { type Daemon, startDaemon } from "./daemon.js";
import { answersOk, freePort } from "./http.js";

export const ALERTMANAGER = "/usr/bin/prometheus-alertmanager";
export const RECEIVER = "why502";

export interface AlertmanagerRouting {
  webhookUrl: string;
  bearerToken?: string;
  groupWait: string;
  groupInterval: string;
  repeatInterval: string;
  resolveTimeout: string;
}

/** alertmanager.yml: one route, grouped by alert and service, to why502's webhook. */
export function alertmanagerConfig(r: AlertmanagerRouting): Record<string, unknown> {
  return {
    global: { resolve_timeout: r.resolveTimeout },
    route: {
      receiver: RECEIVER,
      group_by: ["alertname", "service"],
      group_wait: r.groupWait,
      group_interval: r.groupInterval,
      repeat_interval: r.repeatInterval,
    },
    receivers: [
      {
        name: RECEIVER,
        webhook_configs: [
          {
            url: r.webhookUrl,
            send_resolved: true,
            ...(r.bearerToken === undefined
              ? {}
              : { http_config: { authorization: { type: "Bearer", credentials: r.bearerToken } } }),
          },
        ],
      },
    ],
  };
}

export interface AlertmanagerOptions extends AlertmanagerRouting {
  /** created; holds alertmanager.yml, data/ and alertmanager.log */
  dir: string;
  host: string;
}

export interface Alertmanager extends Daemon {
  url: string;
}

export async function startAlertmanager(opts: AlertmanagerOptions): Promise<Alertmanager> {
  await mkdir(join(opts.dir, "data"), { recursive: true });
  const configPath = join(opts.dir, "alertmanager.yml");
  // The bearer token is in it: readable by root only.
  await writeFile(configPath, stringify(alertmanagerConfig(opts)), { mode: 0o600 });
  const port = await freePort(opts.host);
  const url = `http://${opts.host}:${port}`;
  const daemon = await startDaemon({
    name: "alertmanager",
    binary: ALERTMANAGER,
    args: [
      `--config.file=${configPath}`,
      `--storage.path=${join(opts.dir, "data")}`,
      `--web.listen-address=${opts.host}:${port}`,
      // Its external URL is in every webhook (externalURL); the default names this machine's hostname.
      `--web.external-url=${url}`,
      // Empty: no gossip. The default also listens on 0.0.0.0:9094.
      "--cluster.listen-address=",
    ],
    logPath: join(opts.dir, "alertmanager.log"),
    cwd: opts.dir,
    ready: async () => ((await answersOk(`${url}/-/ready`)) ? true : undefined),
  });
  return { ...daemon, url };
}
