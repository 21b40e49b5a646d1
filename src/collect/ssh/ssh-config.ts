import type { SshTarget } from "../transport.js";
import { globMatch } from "./known-hosts.js";

/**
 * A pure reader of OpenSSH client config (`~/.ssh/config`, ssh_config(5)) for the options why502 uses.
 *
 * As in OpenSSH: keywords are case-insensitive, `Keyword value` or `Keyword=value`, double quotes
 * group words; lines before the first `Host` apply to every host; a `Host` block applies when the
 * alias matches one of its patterns (`*`, `?`) and none of its negated (`!`) ones; the first value
 * obtained for a keyword wins, except IdentityFile, which accumulates in order.
 *
 * Not supported, and reported in `notes`: `Match` blocks (skipped up to the next Host/Match),
 * `Include` (this function reads no files), ProxyCommand. ProxyJump chains are supported.
 */

export interface JumpHop {
  user?: string;
  host: string;
  port?: number;
}

export interface ResolvedSshConfig {
  alias: string;
  /** HostName with `%h` expanded, or the alias */
  hostName: string;
  user?: string;
  port?: number;
  /** as written: `~` and `%` tokens are expanded by sshTargetFromConfig */
  identityFiles: string[];
  identitiesOnly?: boolean;
  identityAgent?: string;
  userKnownHostsFiles?: string[];
  globalKnownHostsFiles?: string[];
  strictHostKeyChecking?: string;
  connectTimeoutSec?: number;
  /** raw value, as `ssh -G` prints it; absent for `none` */
  proxyJump?: string;
  /** parsed ProxyJump hops, first hop first */
  jumpHops?: JumpHop[];
  notes: string[];
}

interface ConfigLine {
  line: number;
  keyword: string;
  args: string[];
}

export function resolveSshConfig(text: string, alias: string): ResolvedSshConfig {
  const notes: string[] = [];
  const seen = new Map<string, string[]>();
  const identityFiles: string[] = [];
  let applies = true;

  for (const l of tokenize(text, notes)) {
    if (l.keyword === "host") {
      applies = hostBlockMatches(l.args, alias);
      continue;
    }
    if (l.keyword === "match") {
      applies = false;
      notes.push(`line ${l.line}: Match blocks are not supported; ignored up to the next Host or Match`);
      continue;
    }
    if (!applies) continue;
    if (l.keyword === "include") {
      notes.push(`line ${l.line}: Include is not supported; ${l.args.join(" ")} not read`);
      continue;
    }
    if (l.keyword === "proxycommand") {
      notes.push(`line ${l.line}: ProxyCommand is not supported; use ProxyJump`);
      continue;
    }
    if (l.args.length === 0) {
      notes.push(`line ${l.line}: ${l.keyword} has no value`);
      continue;
    }
    if (l.keyword === "identityfile") {
      identityFiles.push(l.args.join(" "));
      continue;
    }
    if (!seen.has(l.keyword)) seen.set(l.keyword, l.args);
  }

  const first = (k: string): string | undefined => seen.get(k)?.[0];
  const out: ResolvedSshConfig = {
    alias,
    hostName: (first("hostname") ?? alias).replaceAll("%h", alias).replaceAll("%%", "%"),
    identityFiles,
    notes,
  };
  const user = first("user");
  if (user !== undefined) out.user = user;
  const port = first("port");
  if (port !== undefined) {
    const n = parsePort(port);
    if (n === undefined) notes.push(`Port ${port} is not a port number; ignored`);
    else out.port = n;
  }
  const only = first("identitiesonly");
  if (only !== undefined) out.identitiesOnly = only.toLowerCase() === "yes";
  const agent = first("identityagent");
  if (agent !== undefined) out.identityAgent = agent;
  const ukh = seen.get("userknownhostsfile");
  if (ukh) out.userKnownHostsFiles = ukh;
  const gkh = seen.get("globalknownhostsfile");
  if (gkh) out.globalKnownHostsFiles = gkh;
  const strict = first("stricthostkeychecking");
  if (strict !== undefined) out.strictHostKeyChecking = strict.toLowerCase();
  const ct = first("connecttimeout");
  if (ct !== undefined) {
    const n = Number(ct);
    if (Number.isInteger(n) && n > 0) out.connectTimeoutSec = n;
    else notes.push(`ConnectTimeout ${ct} is not a number of seconds; ignored`);
  }
  const jump = first("proxyjump");
  if (jump !== undefined && jump.toLowerCase() !== "none") {
    out.proxyJump = jump;
    const hops = parseProxyJump(jump);
    if (hops === undefined) notes.push(`ProxyJump ${jump} is not [user@]host[:port][,...]; ignored`);
    else out.jumpHops = hops;
  }
  return out;
}

function hostBlockMatches(patterns: readonly string[], alias: string): boolean {
  let positive = false;
  for (const p of patterns) {
    const negated = p.startsWith("!");
    if (!globMatch(alias, negated ? p.slice(1) : p)) continue;
    if (negated) return false;
    positive = true;
  }
  return positive;
}

function tokenize(text: string, notes: string[]): ConfigLine[] {
  const out: ConfigLine[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] ?? "").trim();
    if (raw === "" || raw.startsWith("#")) continue;
    const m = /^([A-Za-z][A-Za-z0-9]*)(?:\s*=\s*|\s+|$)(.*)$/.exec(raw);
    if (!m) {
      notes.push(`line ${i + 1}: not "Keyword value"; ignored`);
      continue;
    }
    const args = splitArgs(m[2] ?? "");
    if (args === undefined) {
      notes.push(`line ${i + 1}: unbalanced quotes; ignored`);
      continue;
    }
    out.push({ line: i + 1, keyword: (m[1] ?? "").toLowerCase(), args });
  }
  return out;
}

function splitArgs(s: string): string[] | undefined {
  const args: string[] = [];
  const re = /"([^"]*)"|([^\s"]+)/g;
  let rest = s.trim();
  if (rest.startsWith("#")) return [];
  for (const m of rest.matchAll(re)) args.push(m[1] ?? m[2] ?? "");
  rest = rest.replace(re, "").trim();
  return rest === "" ? args : undefined;
}

function parsePort(s: string): number | undefined {
  if (!/^\d{1,5}$/.test(s)) return undefined;
  const n = Number(s);
  return n >= 1 && n <= 65535 ? n : undefined;
}

/** `[user@]host[:port]`, `[user@][v6addr]:port`, or `ssh://[user@]host[:port]`, comma-separated. */
export function parseProxyJump(value: string): JumpHop[] | undefined {
  const hops: JumpHop[] = [];
  for (const part of value.split(",")) {
    const hop = parseHop(part.trim());
    if (!hop) return undefined;
    hops.push(hop);
  }
  return hops.length > 0 ? hops : undefined;
}

function parseHop(spec: string): JumpHop | undefined {
  const s = spec.startsWith("ssh://") ? spec.slice(6).replace(/\/$/, "") : spec;
  const at = s.lastIndexOf("@");
  const user = at === -1 ? undefined : s.slice(0, at);
  const rest = at === -1 ? s : s.slice(at + 1);
  let host: string;
  let portText: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(.*))?$/.exec(rest);
  if (v6) {
    host = v6[1] ?? "";
    portText = v6[2];
  } else {
    const colon = rest.indexOf(":");
    if (colon !== rest.lastIndexOf(":")) return undefined;
    host = colon === -1 ? rest : rest.slice(0, colon);
    portText = colon === -1 ? undefined : rest.slice(colon + 1);
  }
  if (host === "" || user === "" || /\s/.test(host)) return undefined;
  const hop: JumpHop = { host };
  if (user !== undefined) hop.user = user;
  if (portText !== undefined) {
    const port = parsePort(portText);
    if (port === undefined) return undefined;
    hop.port = port;
  }
  return hop;
}

export interface SshEnvironment {
  home: string;
  localUser: string;
}

export interface TargetDefaults {
  knownHostsFiles: string[];
  connectTimeoutMs: number;
  /** used when the config names no User */
  user?: string;
  useAgent?: boolean;
  agentSocket?: string;
}

/** OpenSSH's default identities, in the order it tries them (those it can use). */
const DEFAULT_IDENTITIES = ["~/.ssh/id_rsa", "~/.ssh/id_ecdsa", "~/.ssh/id_ed25519"];
const MAX_HOPS = 8;

/**
 * An SshTarget for `alias` from config text. Each ProxyJump hop is itself resolved through the config
 * (its own HostName, User, Port, IdentityFile), as `ssh -J` does. For a chain `a,b` the target is
 * reached through b, and b through a; the first hop's own ProxyJump is followed too. A hop that leads
 * back to a host already on the path (typically `Host *` with a ProxyJump that also matches the
 * bastion) is dropped with a note.
 *
 * StrictHostKeyChecking is deliberately not honoured: trust on first use is set per host in
 * why502's own config, never inherited from a personal ssh config.
 */
export function sshTargetFromConfig(
  text: string,
  alias: string,
  env: SshEnvironment,
  defaults: TargetDefaults,
): { target: SshTarget; notes: string[] } {
  const notes: string[] = [];
  const target = build({ text, env, defaults, notes }, alias, undefined, [], true);
  return { target, notes };
}

interface BuildContext {
  text: string;
  env: SshEnvironment;
  defaults: TargetDefaults;
  notes: string[];
}

function build(
  ctx: BuildContext,
  alias: string,
  hop: JumpHop | undefined,
  path: readonly string[],
  followJump: boolean,
): SshTarget {
  const { env, defaults, notes } = ctx;
  const c = resolveSshConfig(ctx.text, alias);
  const note = (n: string) => {
    if (!notes.includes(`${alias}: ${n}`)) notes.push(`${alias}: ${n}`);
  };
  for (const n of c.notes) note(n);
  if (c.strictHostKeyChecking === "no" || c.strictHostKeyChecking === "accept-new") {
    note(`StrictHostKeyChecking ${c.strictHostKeyChecking} ignored; host keys are always verified`);
  }
  const user = hop?.user ?? c.user ?? defaults.user ?? env.localUser;
  const port = hop?.port ?? c.port ?? 22;
  const tokens = { d: env.home, u: env.localUser, h: c.hostName, r: user, p: String(port), n: alias };
  const expand = (p: string) => expandPath(p, env.home, tokens);
  const identityFiles = (c.identityFiles.length > 0 ? c.identityFiles : DEFAULT_IDENTITIES).map(expand);
  let useAgent = defaults.useAgent ?? true;
  let agentSocket = defaults.agentSocket;
  if (c.identityAgent !== undefined) {
    if (c.identityAgent.toLowerCase() === "none") useAgent = false;
    else if (c.identityAgent !== "SSH_AUTH_SOCK") agentSocket = expand(c.identityAgent);
  }
  if (c.identitiesOnly && c.identityFiles.length > 0) useAgent = false;
  const target: SshTarget = {
    name: alias,
    host: c.hostName,
    port,
    user,
    identityFiles,
    useAgent,
    knownHostsFiles: [
      ...(c.userKnownHostsFiles?.map(expand) ?? defaults.knownHostsFiles),
      ...(c.globalKnownHostsFiles?.map(expand) ?? []),
    ],
    connectTimeoutMs:
      c.connectTimeoutSec !== undefined ? c.connectTimeoutSec * 1000 : defaults.connectTimeoutMs,
  };
  if (useAgent && agentSocket !== undefined) target.agentSocket = agentSocket;
  const hops = followJump ? c.jumpHops : undefined;
  if (hops && hops.length > 0) {
    const onPath = [...path, alias];
    const loop = hops.find((h) => onPath.includes(h.host));
    if (loop) note(`ProxyJump loop via ${loop.host}; connecting without it`);
    else if (onPath.length > MAX_HOPS) note(`more than ${MAX_HOPS} ProxyJump hops; stopped here`);
    else target.jump = chain(ctx, hops, onPath);
  }
  return target;
}

/** The last hop is the one the target is reached through; each hop is reached through the one before. */
function chain(ctx: BuildContext, hops: JumpHop[], path: readonly string[]): SshTarget {
  const [firstHop, ...later] = hops;
  if (!firstHop) throw new Error("chain needs at least one hop");
  let t = build(ctx, firstHop.host, firstHop, path, true);
  for (const h of later) {
    const next = build(ctx, h.host, h, path, false);
    next.jump = t;
    t = next;
  }
  return t;
}

/** `~/` and the ssh_config(5) tokens %d %u %h %r %p %n %%; unknown tokens are left as written. */
export function expandPath(path: string, home: string, tokens: Record<string, string>): string {
  const tilde = path === "~" ? home : path.startsWith("~/") ? `${home}${path.slice(1)}` : path;
  return tilde.replace(/%(.)/g, (all, t: string) => (t === "%" ? "%" : (tokens[t] ?? all)));
}
