import { parseArgs } from "node:util";
import {
  AGGREGATE_MAX_BYTES,
  AGGREGATE_MAX_KEYS,
  AGGREGATE_TIMEOUT_SECONDS,
  aggregateSection,
} from "../collect/aggregate-plan.js";
import { resolveHost } from "../collect/hosts.js";
import { backendSections, configuredBackends, gatewaySections } from "../collect/plan.js";
import type { Gateway } from "../config/schema.js";
import { UserError } from "../errors.js";
import { hostEnv } from "../investigate/hosts-env.js";
import type { Io } from "./io.js";
import { loadLiveConfig, sinceMs } from "./live.js";

export const planHelp = `Usage: why502 plan <service> [--config FILE] [--since WHEN]

Prints exactly which read-only commands diagnose would run, on which hosts, as which user, and the
access-log count an incident's summary runs on each gateway. Nothing is run.
`;

/**
 * What an incident's summary runs on a gateway when the incident closes: the access-log count, exactly when
 * the config names the log and its format, else as the template with what nginx -T will name.
 */
function summaryCount(g: Gateway, sinceSeconds: number, nowSeconds: number): string {
  const when = "when an incident closes, for its summary:";
  if (g.access_log !== "discover" && g.log_format !== undefined) {
    const s = aggregateSection({
      path: g.access_log,
      format: g.log_format,
      sinceEpochSeconds: sinceSeconds,
      untilEpochSeconds: nowSeconds,
    });
    if ("error" in s)
      return `  ${when} no count: the log_format of ${g.access_log} cannot be counted (${s.error})\n`;
    return `  ${when} [${s.template}] ${s.display.replace(/ from \S+ to \S+ /, " over the incident ")}\n`;
  }
  const log = g.access_log === "discover" ? "the access log nginx -T names" : g.access_log;
  return (
    `  ${when} [nginx-access-aggregate] count ${log} (and rotated files) per UTC minute, status and upstream ` +
    `over the incident with awk on the host, by its log_format from nginx -T; only the counts are sent ` +
    `(at most ${AGGREGATE_MAX_KEYS} keys, ${AGGREGATE_MAX_BYTES} bytes, ${AGGREGATE_TIMEOUT_SECONDS} s)\n`
  );
}

export async function runPlan(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { config: { type: "string" }, since: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    io.stdout.write(planHelp);
    return 0;
  }
  const name = positionals[0];
  if (!name) throw new UserError("usage", "plan needs a service name, e.g. `why502 plan checkout`.");
  const config = loadLiveConfig(values.config);
  const service = config.services[name];
  if (!service)
    throw new UserError(
      "not_found",
      `No service "${name}" in the config: use one of ${Object.keys(config.services).join(", ")}.`,
    );
  const env = hostEnv(io.env, config);
  const since = Math.floor(sinceMs(values.since, config, Date.now()) / 1000);
  const where = (host: string) => {
    const r = resolveHost(config, host, env);
    if (r.local) return `${host} (this machine, no SSH)`;
    return `${host} (${r.user}@${r.address}:${r.port}${r.jump ? ` via ${r.jump.user}@${r.jump.address}:${r.jump.port}` : ""})`;
  };
  for (const g of service.gateways) {
    const paths = {
      ...(g.error_log !== "discover" ? { errorLog: g.error_log } : {}),
      ...(g.access_log !== "discover" ? { accessLog: g.access_log } : {}),
    };
    io.stdout.write(`gateway ${where(g.host)}\n`);
    for (const s of gatewaySections(g, paths, config.defaults.max_bytes))
      io.stdout.write(`  [${s.template}] ${s.display}\n`);
    if (g.error_log === "discover" || g.access_log === "discover") {
      io.stdout.write("  then the error and access logs that nginx -T names, read from the window start\n");
    }
    io.stdout.write(summaryCount(g, since, Math.floor(Date.now() / 1000)));
  }
  for (const b of configuredBackends(config, service)) {
    io.stdout.write(`backend ${where(b.host)}\n`);
    for (const s of backendSections(b, since, config.defaults.max_bytes))
      io.stdout.write(`  [${s.template}] ${s.display}\n`);
  }
  if (service.backends.from_upstream) {
    io.stdout.write(
      `backends: the servers of upstream ${service.upstream ?? "(unnamed)"} in nginx -T, each asked for the backend sections above\n`,
    );
  }
  io.stdout.write(
    "Each host runs its sections as one `sh -s` script over one SSH session; every section is read-only and byte-capped.\n",
  );
  return 0;
}
