import { readFileSync } from "node:fs";
import { expandHome, type HostEnv, type ResolvedHost } from "../collect/hosts.js";
import { LocalTransport } from "../collect/local-transport.js";
import { resolveSshConfig } from "../collect/ssh/ssh-config.js";
import { connectSsh } from "../collect/ssh/ssh-transport.js";
import type { SshTarget, Transport } from "../collect/transport.js";
import type { Config } from "../config/schema.js";

/** The environment variables collection reads: where home is, who we are, the ssh-agent socket. */
export type InvestigateEnv = Partial<Record<"HOME" | "USER" | "LOGNAME" | "SSH_AUTH_SOCK", string>>;

export function hostEnv(env: InvestigateEnv, config: Config): HostEnv {
  const home = env.HOME ?? "/root";
  const out: HostEnv = { home, username: env.USER ?? env.LOGNAME ?? "root" };
  if (config.ssh.ssh_config !== false) {
    let text: string | undefined;
    try {
      text = readFileSync(expandHome(config.ssh.ssh_config, home), "utf8");
    } catch {
      text = undefined;
    }
    if (text !== undefined) {
      const sshText = text;
      out.sshConfig = (alias) => {
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
  return out;
}

export function sshTarget(h: ResolvedHost, env: InvestigateEnv, timeoutMs: number): SshTarget {
  const target: SshTarget = {
    name: h.name,
    host: h.address,
    port: h.port,
    user: h.user,
    identityFiles: h.identityFiles,
    useAgent: h.useAgent && env.SSH_AUTH_SOCK !== undefined,
    knownHostsFiles: h.knownHostsFiles,
    connectTimeoutMs: timeoutMs,
    insecureAcceptUnknown: h.insecureAcceptUnknown,
  };
  if (env.SSH_AUTH_SOCK) target.agentSocket = env.SSH_AUTH_SOCK;
  if (h.jump) target.jump = sshTarget(h.jump, env, timeoutMs);
  return target;
}

export function connector(env: InvestigateEnv) {
  return async (h: ResolvedHost, timeoutMs: number): Promise<Transport> => {
    if (h.local) return new LocalTransport({ name: h.name });
    return connectSsh(sshTarget(h, env, timeoutMs));
  };
}
