import type { Config } from "../config/schema.js";

/** Everything needed to reach one host, merged from hosts:, ~/.ssh/config and ssh: defaults. */
export interface ResolvedHost {
  name: string;
  address: string;
  port: number;
  user: string;
  identityFiles: string[];
  knownHostsFiles: string[];
  useAgent: boolean;
  jump?: ResolvedHost | undefined;
  local: boolean;
  insecureAcceptUnknown: boolean;
  timezone?: string | undefined;
}

export interface SshConfigEntry {
  hostName?: string | undefined;
  user?: string | undefined;
  port?: number | undefined;
  identityFiles?: string[] | undefined;
  proxyJump?: string | undefined;
}

export interface HostEnv {
  home: string;
  /** Login name of the user running why502, the last fallback for `user`. */
  username: string;
  /** Looks a name up in ~/.ssh/config; undefined when there is no entry or no file. */
  sshConfig?: (alias: string) => SshConfigEntry | undefined;
}

const list = (v: string | string[] | undefined): string[] | undefined =>
  v === undefined ? undefined : Array.isArray(v) ? v : [v];

export function expandHome(path: string, home: string): string {
  return path.startsWith("~/") ? `${home}${path.slice(1)}` : path;
}

/** `user@host:port` -> parts. */
export function parseJump(spec: string): { user?: string; host: string; port?: number } {
  const at = spec.lastIndexOf("@");
  const user = at >= 0 ? spec.slice(0, at) : undefined;
  const rest = at >= 0 ? spec.slice(at + 1) : spec;
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest) ?? /^([^:]+)(?::(\d+))?$/.exec(rest);
  const out: { user?: string; host: string; port?: number } = { host: m?.[1] ?? rest };
  if (user) out.user = user;
  if (m?.[2]) out.port = Number(m[2]);
  return out;
}

export function resolveHost(config: Config, name: string, env: HostEnv, depth = 0): ResolvedHost {
  const h = config.hosts[name];
  const sc = env.sshConfig?.(name);
  const ssh = config.ssh;
  const home = (p: string) => expandHome(p, env.home);
  const identity = list(h?.identity_file) ?? sc?.identityFiles ?? list(ssh.identity_file) ?? [];
  const resolved: ResolvedHost = {
    name,
    address: h?.address ?? sc?.hostName ?? name,
    port: h?.port ?? sc?.port ?? ssh.port,
    user: h?.user ?? sc?.user ?? ssh.user ?? env.username,
    identityFiles: identity.map(home),
    knownHostsFiles: (list(h?.known_hosts) ?? list(ssh.known_hosts) ?? []).map(home),
    useAgent: ssh.agent,
    local: h?.local ?? false,
    insecureAcceptUnknown: h?.insecure_accept_unknown_host_key ?? false,
    timezone: h?.timezone,
  };
  const jumpSpec = h?.jump === false ? undefined : (h?.jump ?? sc?.proxyJump ?? ssh.jump);
  if (jumpSpec && !resolved.local && depth < 3) {
    const j = parseJump(jumpSpec.split(",")[0] ?? jumpSpec);
    const base = resolveHost(config, j.host, env, depth + 1);
    resolved.jump = { ...base, user: j.user ?? base.user, port: j.port ?? base.port, jump: undefined };
  }
  return resolved;
}
