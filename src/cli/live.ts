import { randomBytes } from "node:crypto";
import { lookup } from "node:dns/promises";
import { readFileSync } from "node:fs";
import type { Bundle } from "../bundle/schema.js";
import { collect, type Progress } from "../collect/collect.js";
import { expandHome, type HostEnv, type ResolvedHost, resolveHost } from "../collect/hosts.js";
import { LocalTransport } from "../collect/local-transport.js";
import { resolveSshConfig } from "../collect/ssh/ssh-config.js";
import { connectSsh } from "../collect/ssh/ssh-transport.js";
import type { SshTarget, Transport } from "../collect/transport.js";
import { parseDuration } from "../config/duration.js";
import { loadConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { UserError } from "../errors.js";
import type { Io } from "./io.js";

export function configPath(flag: string | undefined): string {
  return flag ?? "why502.yaml";
}

export function hostEnv(io: Io, config: Config): HostEnv {
  const home = io.env.HOME ?? "/root";
  const env: HostEnv = { home, username: io.env.USER ?? io.env.LOGNAME ?? "root" };
  if (config.ssh.ssh_config !== false) {
    let text: string | undefined;
    try {
      text = readFileSync(expandHome(config.ssh.ssh_config, home), "utf8");
    } catch {
      text = undefined;
    }
    if (text !== undefined) {
      const sshText = text;
      env.sshConfig = (alias) => {
        const c = resolveSshConfig(sshText, alias);
        return {
          hostName: c.hostName === alias ? undefined : c.hostName,
          user: c.user,
          port: c.port,
          identityFiles: c.identityFiles.length > 0 ? c.identityFiles : undefined,
          proxyJump: c.proxyJump,
        };
      };
    }
  }
  return env;
}

export function sshTarget(h: ResolvedHost, config: Config, io: Io, timeoutMs: number): SshTarget {
  const target: SshTarget = {
    name: h.name,
    host: h.address,
    port: h.port,
    user: h.user,
    identityFiles: h.identityFiles,
    useAgent: h.useAgent && io.env.SSH_AUTH_SOCK !== undefined,
    knownHostsFiles: h.knownHostsFiles,
    connectTimeoutMs: timeoutMs,
    insecureAcceptUnknown: h.insecureAcceptUnknown,
  };
  if (io.env.SSH_AUTH_SOCK) target.agentSocket = io.env.SSH_AUTH_SOCK;
  if (h.jump) target.jump = sshTarget(h.jump, config, io, timeoutMs);
  return target;
}

export function connector(config: Config, io: Io) {
  return async (h: ResolvedHost, timeoutMs: number): Promise<Transport> => {
    if (h.local) return new LocalTransport({ name: h.name });
    return connectSsh(sshTarget(h, config, io, timeoutMs));
  };
}

export function sinceMs(flag: string | undefined, config: Config, now: number): number {
  if (flag === undefined) return now - config.defaults.window;
  const d = parseDuration(flag);
  if (d !== undefined) return now - d;
  const t = Date.parse(flag);
  if (!Number.isNaN(t)) return t;
  throw new UserError(
    "usage",
    `--since "${flag}" is neither a duration nor a time: write 30m, 2h or 2026-11-25T12:00:00Z.`,
  );
}

/** A progress line on stderr while hosts answer: rewritten in place on a terminal, one line per event otherwise. */
export function progressLine(io: Io, total: number): { update: (p: Progress) => void; end: () => void } {
  const finished = new Set<string>();
  const failed: string[] = [];
  const tty = io.stderr.isTTY === true;
  let width = 0;
  return {
    update(p) {
      if (p.state === "done" || p.state === "failed") {
        if (finished.has(p.host)) return;
        finished.add(p.host);
        if (p.state === "failed") failed.push(`${p.host} (${p.detail ?? "failed"})`);
      } else if (!tty) return;
      const line = `collecting: ${finished.size}/${total} hosts answered${failed.length ? `, failed: ${failed.join(", ")}` : ""}`;
      if (tty) {
        io.stderr.write(`\r${line.padEnd(width)}`);
        width = line.length;
      } else if (p.state === "done" || p.state === "failed") {
        io.stderr.write(`${line}\n`);
      }
    },
    end() {
      if (tty && width > 0) io.stderr.write("\n");
    },
  };
}

export function hostCount(config: Config, service: string): number {
  const s = config.services[service];
  if (!s) return 0;
  return s.gateways.length + (s.backends.instances?.length ?? 0);
}

export async function collectLive(
  io: Io,
  config: Config,
  service: string,
  since: number,
  now: () => number = Date.now,
): Promise<Bundle> {
  const env = hostEnv(io, config);
  const progress = progressLine(io, hostCount(config, service));
  try {
    return await collect(
      config,
      { service, sinceMs: since },
      {
        resolve: (name) => resolveHost(config, name, env),
        connect: connector(config, io),
        now,
        nonce: () => randomBytes(9).toString("hex"),
        lookup: lookupWithin(1500),
        onProgress: progress.update,
      },
    );
  } finally {
    progress.end();
  }
}

/** DNS lookup of a backend's name, given up after `ms` (a dead resolver must not hold the diagnosis). */
function lookupWithin(ms: number) {
  return async (name: string): Promise<string[]> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<string[]>((resolve) => {
      timer = setTimeout(() => resolve([]), ms);
    });
    try {
      const found = lookup(name, { all: true }).then((r) => r.map((a) => a.address));
      return await Promise.race([found, late]);
    } finally {
      clearTimeout(timer);
    }
  };
}

export function loadLiveConfig(flag: string | undefined): Config {
  return loadConfig(configPath(flag));
}
