import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import type { LabInfo } from "./lab-info.js";

/** The gateway's inventory name in the lab's why502.yaml. */
export const GATEWAY_HOST = "gw";

export interface LabConfigOptions {
  deadline?: string;
  commandTimeout?: string;
  concurrency?: number;
  /**
   * More instances of the service, as an inventory that still lists a host the lab does not run
   * (runScenario's `extraInstances`): their paths follow the lab's layout but nothing is there.
   */
  extraInstances?: { name: string; address: string }[];
}

/**
 * A why502.yaml for the lab, as an operator would write it: an unprivileged SSH user, pinned host keys,
 * sudo only for `nginx -T` and `dmesg`. It names paths from lab.json, never the lab's failure modes.
 */
export function labConfig(info: LabInfo, opts: LabConfigOptions = {}): object {
  if (!info.ssh) throw new Error("the lab was started without sshd");
  const hosts: Record<string, { address: string }> = { [GATEWAY_HOST]: { address: info.gateway.host } };
  for (const b of info.backends) hosts[b.name] = { address: b.address };
  const extra = opts.extraInstances ?? [];
  for (const e of extra) {
    if (hosts[e.name] !== undefined) throw new Error(`extra instance ${e.name} is already a lab host`);
    hosts[e.name] = { address: e.address };
  }
  const instances = [
    ...info.backends.map((b) => {
      // What an operator would write for each supervisor: the pid file and journal of the systemd stand-in,
      // supervisord's program, PM2's app (its logs are found in PM2's home), or only the app's own pid file.
      if (b.supervisord)
        return {
          host: b.name,
          process: { supervisord: b.supervisord.program, config: b.supervisord.conf, log: b.supervisord.log },
          app_logs: [b.logPath],
        };
      if (b.pm2) return { host: b.name, process: { pm2: b.pm2.app, home: b.pm2.home, bin: b.pm2.bin } };
      if (b.supervisor === "none")
        return { host: b.name, process: { pid_file: b.pidFile }, app_logs: [b.logPath] };
      return {
        host: b.name,
        ...(b.socket === undefined ? {} : { socket: b.socket }),
        process: { pid_file: b.pidFile },
        app_logs: [b.logPath],
        journal_file: b.journalPath,
      };
    }),
    ...extra.map((e) => {
      const dir = join(info.dir, "backends", e.name);
      return {
        host: e.name,
        process: { pid_file: join(dir, `${e.name}.pid`) },
        app_logs: [join(dir, `${e.name}.log`)],
        journal_file: join(dir, "journal.log"),
      };
    }),
  ];
  return {
    ssh: {
      user: info.ssh.user,
      port: info.ssh.port,
      identity_file: info.ssh.keyPath,
      known_hosts: info.ssh.knownHostsPath,
      agent: false,
      ssh_config: false,
      connect_timeout: "3s",
      command_timeout: opts.commandTimeout ?? "10s",
    },
    defaults: {
      window: "30m",
      deadline: opts.deadline ?? "20s",
      concurrency: opts.concurrency ?? 16,
      kernel_log: "sudo-dmesg",
    },
    hosts,
    services: {
      checkout: {
        upstream: info.gateway.upstream,
        gateways: [
          {
            host: GATEWAY_HOST,
            nginx_t: ["sudo", "-n", ...info.gateway.nginx.testCommand.split(" ")],
            error_log: info.gateway.nginx.errorLog,
            access_log: info.gateway.nginx.accessLog,
          },
        ],
        backends: {
          port: info.backends[0]?.port ?? 18080,
          instances,
        },
      },
    },
  };
}

export function writeLabConfig(info: LabInfo, path: string, opts?: LabConfigOptions): string {
  writeFileSync(path, stringify(labConfig(info, opts)));
  return path;
}
