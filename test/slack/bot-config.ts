import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";

export interface BotDir {
  dir: string;
  config: string;
  db: string;
}

/**
 * A why502.yaml for bot tests without the lab: the gateway is a loopback port where nothing listens, so a
 * run is real (collection fails fast: no credentials or nothing listening, the playbook still answers) and costs milliseconds.
 */
export function botConfig(opts: {
  apiUrl: string;
  extra?: Record<string, unknown>;
  access?: object;
  /** Where the gateway's sshd would be (default 1: nothing listens); then a throwaway key is made to log in with. */
  gatewayPort?: number;
  /** slack.channel: where alerts post. */
  slackChannel?: string;
}): BotDir {
  const dir = mkdtempSync(join(tmpdir(), "why502-bot-"));
  if (opts.gatewayPort)
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "id_ed25519")]);
  const db = join(dir, "why502.db");
  writeFileSync(join(dir, "known_hosts"), "");
  const config = {
    slack: {
      api_url: opts.apiUrl,
      request_timeout: "2s",
      access: opts.access ?? {},
      ...(opts.slackChannel ? { channel: opts.slackChannel } : {}),
    },
    store: { sqlite: db },
    ssh: {
      user: "why502",
      known_hosts: join(dir, "known_hosts"),
      agent: false,
      ssh_config: false,
      connect_timeout: "1s",
      ...(opts.gatewayPort ? { identity_file: join(dir, "id_ed25519") } : {}),
    },
    defaults: { deadline: "5s" },
    hosts: { gw: { address: "127.0.0.1", port: opts.gatewayPort ?? 1 } },
    services: {
      checkout: {
        upstream: "checkout",
        gateways: [
          { host: "gw", error_log: "/var/log/nginx/error.log", access_log: "/var/log/nginx/access.log" },
        ],
        backends: { from_upstream: true },
      },
      search: {
        gateways: [
          { host: "gw", error_log: "/var/log/nginx/error.log", access_log: "/var/log/nginx/access.log" },
        ],
        backends: { from_upstream: true },
      },
    },
    ...opts.extra,
  };
  const path = join(dir, "why502.yaml");
  writeFileSync(path, stringify(config));
  return { dir, config: path, db };
}
