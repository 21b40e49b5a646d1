import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { z } from "zod";
import { type Daemon, startDaemon } from "./daemon.js";
import { answersOk, freePort, getJson } from "./http.js";

export const PROMETHEUS = "/usr/bin/prometheus";
export const ALERT_NAME = "Checkout502RateHigh";

export interface RuleOptions {
  service: string;
  /** the range of rate(); a few scrape intervals at least */
  rateWindow: string;
}

/** The alerting rule: any 502 in nginx's access log within the rate window. */
export function alertRules(o: RuleOptions): Record<string, unknown> {
  return {
    groups: [
      {
        name: "why502-lab",
        rules: [
          {
            alert: ALERT_NAME,
            // nginx_bad_gateway_total, not nginx_responses_total{status="502"}: that series first appears
            // with its first 502s already counted, so rate() over it misses a single burst (nginx.mtail).
            expr: `sum(rate(nginx_bad_gateway_total[${o.rateWindow}])) > 0`,
            for: "0s",
            labels: { service: o.service, severity: "page" },
            annotations: {
              summary: `nginx answers 502 for ${o.service}`,
              description: `nginx logged {{ printf "%.2f" $value }} 502 responses per second over the last ${o.rateWindow}.`,
            },
          },
        ],
      },
    ],
  };
}

export interface ScrapeOptions {
  /** host:port of mtail */
  mtail: string;
  /** host:port of Alertmanager */
  alertmanager: string;
  rulesPath: string;
}

/** prometheus.yml: scrape and evaluate every second, alert to the one Alertmanager. */
export function prometheusConfig(o: ScrapeOptions): Record<string, unknown> {
  return {
    global: { scrape_interval: "1s", scrape_timeout: "1s", evaluation_interval: "1s" },
    rule_files: [o.rulesPath],
    alerting: { alertmanagers: [{ api_version: "v2", static_configs: [{ targets: [o.alertmanager] }] }] },
    scrape_configs: [{ job_name: "mtail", static_configs: [{ targets: [o.mtail] }] }],
  };
}

export interface PrometheusOptions extends RuleOptions, Omit<ScrapeOptions, "rulesPath"> {
  /** created; holds prometheus.yml, rules.yml, data/ and prometheus.log */
  dir: string;
  host: string;
}

export interface Prometheus extends Daemon {
  url: string;
}

const Targets = z.object({
  data: z.object({ activeTargets: z.array(z.object({ health: z.string(), lastError: z.string() })) }),
});
const Alertmanagers = z.object({
  data: z.object({ activeAlertmanagers: z.array(z.object({ url: z.string() })) }),
});

/**
 * Starts Prometheus and resolves once it is of use: ready, mtail scraped (up) and the Alertmanager
 * discovered. Both take about 5 s after the start: discovery hands over its targets on a 5 s tick.
 */
export async function startPrometheus(opts: PrometheusOptions): Promise<Prometheus> {
  await mkdir(join(opts.dir, "data"), { recursive: true });
  const rulesPath = join(opts.dir, "rules.yml");
  const configPath = join(opts.dir, "prometheus.yml");
  await writeFile(rulesPath, stringify(alertRules(opts)));
  await writeFile(configPath, stringify(prometheusConfig({ ...opts, rulesPath })));
  const port = await freePort(opts.host);
  const url = `http://${opts.host}:${port}`;
  const daemon = await startDaemon({
    name: "prometheus",
    binary: PROMETHEUS,
    args: [
      `--config.file=${configPath}`,
      `--storage.tsdb.path=${join(opts.dir, "data")}`,
      `--web.listen-address=${opts.host}:${port}`,
      // The alerts' generatorURL; the default names this machine's hostname.
      `--web.external-url=${url}`,
    ],
    logPath: join(opts.dir, "prometheus.log"),
    cwd: opts.dir,
    ready: async () => {
      if (!(await answersOk(`${url}/-/ready`))) return undefined;
      const targets = await getJson(`${url}/api/v1/targets?state=active`, Targets);
      const ams = await getJson(`${url}/api/v1/alertmanagers`, Alertmanagers);
      const up = (targets?.data.activeTargets ?? []).some((t) => t.health === "up");
      return up && (ams?.data.activeAlertmanagers.length ?? 0) > 0 ? true : undefined;
    },
  });
  return { ...daemon, url };
}
