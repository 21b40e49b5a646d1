import { stringify } from "yaml";
import { parseConfig } from "../../src/config/load.js";
import type { Config } from "../../src/config/schema.js";

/** A path from the config that is itself hostile (shell syntax is held in config fields): it must stay a path. */
export const HOSTILE_PATH = `/var/log/app'$(touch /tmp/pwned)\`id\`;x|y&&z.log`;

const gateway = (host: string) => ({
  host,
  error_log: "/var/log/nginx/error.log",
  access_log: "/var/log/nginx/access.log",
});

/**
 * An inventory with every kind of backend process (pid file, systemd unit, process name, supervisord, PM2,
 * Docker) and every kernel log source, so that every allowlisted template appears in some service's plan.
 */
export function fuzzConfig(extra: Record<string, unknown> = {}): Config {
  return parseConfig(
    stringify({
      ssh: { user: "why502", ssh_config: false, agent: false, known_hosts: "/nonexistent/known_hosts" },
      defaults: { window: "30m", max_window: "7d" },
      hosts: {
        gw: { address: "10.0.0.1" },
        be1: { address: "10.0.0.11" },
        be2: { address: "10.0.0.12" },
        be3: { address: "10.0.0.13" },
        be4: { address: "10.0.0.14" },
        be5: { address: "10.0.0.15" },
        be6: { address: "10.0.0.16" },
      },
      services: {
        checkout: {
          gateways: [{ ...gateway("gw"), nginx_t: ["sudo", "-n", "/usr/sbin/nginx", "-T"] }],
          backends: {
            port: 8080,
            instances: [
              { host: "be1", process: { pid_file: "/run/checkout.pid" }, app_logs: [HOSTILE_PATH] },
              {
                host: "be2",
                process: { systemd_unit: "checkout.service" },
                kernel_log: "journal",
                journal_file: "/var/log/journal.log",
              },
            ],
          },
        },
        search: {
          gateways: [gateway("gw")],
          backends: {
            port: 9200,
            instances: [
              { host: "be3", process: { name: "search" }, kernel_log: "sudo-dmesg" },
              {
                host: "be4",
                process: { supervisord: "search", config: "/etc/supervisor/supervisord.conf" },
                kernel_log: { file: "/var/log/kern.log" },
              },
            ],
          },
        },
        "billing-api": {
          gateways: [gateway("gw")],
          backends: {
            port: 3000,
            instances: [
              { host: "be5", process: { pm2: "billing", home: "/home/deploy/.pm2" }, kernel_log: "dmesg" },
              { host: "be6", process: { docker: "billing-1" } },
            ],
          },
        },
      },
      ...extra,
    }),
    "why502.yaml",
  );
}
