import { isIP } from "node:net";
import type { BackendSpec, Bundle, HostBundle } from "../bundle/schema.js";
import type { NginxAccessRecord } from "../evidence/nginx-access.js";
import type { ConfLocation, NginxConf } from "../evidence/nginx-conf.js";
import type { NginxErrorRecord } from "../evidence/nginx-error.js";
import { CauseId } from "../evidence/types.js";
import { endpointOf } from "./address.js";
import { analyseBackend } from "./backend.js";
import { clockCorrectionMs } from "./clock.js";
import { gatewayLogGaps, type LogGap } from "./coverage.js";
import { type EvidenceRef, type EvidenceSet, parseBundle, recordsOf, refOf } from "./evidence-set.js";
import { CiteKey, type ErrorCounts, type GatewayFacts, type TargetFacts } from "./schema.js";

export { CiteKey };

import { durationStats } from "./timing.js";
import { inWindow, type Window, windowOf } from "./window.js";

export type Citations = Record<CiteKey, EvidenceRef[]>;

export interface TargetAnalysis {
  facts: TargetFacts;
  errors: ErrorCounts;
  cite: Citations;
}

export interface HostStatus {
  name: string;
  address: string;
  role: "gateway" | "backend";
  ok: boolean;
  failure?: { code: string; message: string };
  commands: { id: string; ok: boolean; failure?: string; unreadable: number; truncated: boolean }[];
  skewMs?: number;
  /** What was added to the host's stamps to put them on the collector's clock (clock.ts); absent when 0. */
  clockCorrectionMs?: number;
}

export interface TimelineEntry {
  time: string;
  host: string;
  what: string;
  ref: EvidenceRef;
}

export interface Facts {
  service: string;
  window: { since: string; until: string };
  gateway: GatewayFacts;
  targets: TargetAnalysis[];
  hosts: HostStatus[];
  timeline: TimelineEntry[];
  unreadable: number;
  /** Per gateway whose error log was not read over the whole window, what is missing (coverage.ts). */
  gatewayLogGaps: LogGap[];
}

/** Causes that make nginx fail a request to an upstream (the 502 family, plus 504 timeouts). */
const FAILURE_CAUSES = new Set<string>(CauseId.options.filter((c) => c !== "other"));
const MAX_CITES = 5;

export function emptyCitations(): Citations {
  return Object.fromEntries(CiteKey.map((k) => [k, []])) as unknown as Citations;
}

export function emptyErrorCounts(): ErrorCounts {
  return Object.fromEntries(CauseId.options.map((c) => [c, 0]));
}

function hostStatuses(set: EvidenceSet): HostStatus[] {
  return set.bundle.hosts.map((h) => {
    const status: HostStatus = {
      name: h.name,
      address: h.address,
      role: h.role,
      ok: h.failure === undefined,
      commands: h.commands.map((c) => {
        const parsed = set.byKind[c.kind].find((p) => p.command === c);
        const entry: HostStatus["commands"][number] = {
          id: c.id,
          ok: c.failure === undefined,
          unreadable: parsed?.unreadable.length ?? 0,
          truncated: c.truncated,
        };
        if (c.failure) entry.failure = `${c.failure.code}: ${c.failure.message}`;
        return entry;
      }),
    };
    if (h.failure) status.failure = h.failure;
    if (h.clock?.skewMs !== undefined) status.skewMs = h.clock.skewMs;
    const correction = clockCorrectionMs(h);
    if (correction !== 0) status.clockCorrectionMs = correction;
    return status;
  });
}

/** The upstream{} group the service uses: the bundle's, else the group of the only proxied location. */
function serviceUpstream(bundle: Bundle, confs: Map<string, NginxConf>): string {
  if (bundle.upstream) return bundle.upstream;
  for (const conf of confs.values()) {
    const names = Object.keys(conf.upstreams);
    if (names.length === 1 && names[0]) return names[0];
  }
  return "";
}

/**
 * The backend instance an upstream address belongs to. Inventories name hosts, nginx logs IPs: an instance
 * owns the address when its address, the IPs its name resolved to, or the IPs its host reported match. When
 * an instance on that port has no known IP at all, nobody can say the address is stale.
 */
function ownerOf(
  bundle: Bundle,
  address: string,
): { host?: HostBundle; placementKnown: boolean; known: boolean } {
  const ep = endpointOf(address);
  const hostNamed = (name: string) => bundle.hosts.find((h) => h.name === name);
  if (ep.kind === "unix") {
    // A socket path names no host: the instance configured with that socket owns it.
    const spec = bundle.backends.find((b) => b.socket === ep.host);
    const host = spec && bundle.hosts.find((h) => h.name === spec.host && h.role === "backend");
    return host ? { host, placementKnown: false, known: true } : { placementKnown: false, known: true };
  }
  if (ep.kind !== "tcp") return { placementKnown: false, known: true };
  if (bundle.backends.length > 0) {
    const ips = (b: BackendSpec) =>
      [b.address, ...(b.addresses ?? []), ...(hostNamed(b.host)?.addresses ?? [])].filter(
        (a) => isIP(a) !== 0,
      );
    const onPort = bundle.backends.filter((b) => b.port === ep.port);
    const spec = onPort.find((b) => b.address === ep.host || ips(b).includes(ep.host));
    if (spec) {
      const host = hostNamed(spec.host);
      return host ? { host, placementKnown: true, known: true } : { placementKnown: true, known: true };
    }
    return { placementKnown: !onPort.some((b) => ips(b).length === 0), known: false };
  }
  const backends = bundle.hosts.filter((h) => h.role === "backend");
  const host = backends.find((h) => h.address === ep.host || h.addresses.includes(ep.host));
  return host
    ? { host, placementKnown: true, known: true }
    : { placementKnown: backends.length > 0, known: false };
}

function push(list: EvidenceRef[], ref: EvidenceRef): void {
  if (list.length < MAX_CITES) list.push(ref);
}

/** Upstream attempts of an access record that went to `address`, with their duration when known. */
function attemptsTo(r: NginxAccessRecord, address: string): { failed: boolean; seconds: number | null }[] {
  const out: { failed: boolean; seconds: number | null }[] = [];
  for (const a of r.upstreams ?? []) {
    if (a.addr !== address) continue;
    const failed = a.status === null ? (r.status ?? 0) >= 500 : a.status >= 500;
    out.push({ failed, seconds: a.responseTime ?? r.requestTime ?? null });
  }
  return out;
}

function targetConfig(
  confs: Map<string, NginxConf>,
  upstream: string,
  address: string,
): {
  inConfig: boolean;
  keepalive: boolean;
  readTimeout: number;
  bufferSize: number;
  pass: string;
  ref?: EvidenceRef;
} {
  let result: ReturnType<typeof targetConfig> = {
    inConfig: false,
    keepalive: false,
    readTimeout: 60,
    bufferSize: 0,
    pass: "",
  };
  for (const conf of confs.values()) {
    // A location that passes straight to the address, without an upstream{} group.
    const direct = conf.servers.flatMap((s) => s.locations).find((l) => l.target === address);
    if (direct) result.pass = passOf(direct);
    for (const [name, group] of Object.entries(conf.upstreams)) {
      if (upstream && name !== upstream) continue;
      const server = group.servers.find((s) => s.address === address);
      if (!server) continue;
      const location = conf.servers.flatMap((s) => s.locations).find((l) => l.upstream === name);
      result = {
        inConfig: true,
        keepalive: (group.keepalive ?? 0) > 0,
        readTimeout: location?.proxyReadTimeout ?? 60,
        bufferSize: location?.proxyBufferSize ?? 0,
        pass: location ? passOf(location) : result.pass,
      };
      if (server.source) result.ref = server.source;
    }
  }
  return result;
}

const PASS_OF_SCHEME: Record<string, string> = {
  http: "proxy_pass",
  https: "proxy_pass",
  fastcgi: "fastcgi_pass",
  uwsgi: "uwsgi_pass",
  scgi: "scgi_pass",
  grpc: "grpc_pass",
  grpcs: "grpc_pass",
};

/** The `*_pass` directive a location uses, or "". */
function passOf(l: ConfLocation): string {
  if (l.proxyPass !== null) return "proxy_pass";
  if (l.fastcgiPass !== null) return "fastcgi_pass";
  if (l.uwsgiPass !== null) return "uwsgi_pass";
  if (l.scgiPass !== null) return "scgi_pass";
  if (l.grpcPass !== null) return "grpc_pass";
  return "";
}

/** Derive facts per failing upstream target from a bundle. Pure. */
export function deriveFacts(bundle: Bundle, set: EvidenceSet = parseBundle(bundle)): Facts {
  const window: Window = windowOf(bundle.window);
  const gateways = bundle.hosts.filter((h) => h.role === "gateway");
  const upstream = serviceUpstream(bundle, set.confs);

  const errorLines = gateways
    .flatMap((g) => recordsOf(set, "nginx-error", g.name))
    .filter(
      (r): r is NginxErrorRecord & { cause: CauseId } => r.cause !== undefined && FAILURE_CAUSES.has(r.cause),
    )
    .filter((r) => inWindow(r.time, window));
  const access = gateways
    .flatMap((g) => recordsOf(set, "nginx-access", g.name))
    .filter((r) => inWindow(r.time, window));

  const byTarget = new Map<string, (NginxErrorRecord & { cause: CauseId })[]>();
  for (const r of errorLines) {
    const key = r.target ?? "";
    const list = byTarget.get(key);
    if (list) list.push(r);
    else byTarget.set(key, [r]);
  }
  for (const r of access) {
    if (r.status !== 502 && r.status !== 504) continue;
    for (const a of r.upstreams ?? []) {
      if (a.addr && a.status !== null && a.status >= 500 && !byTarget.has(a.addr)) byTarget.set(a.addr, []);
    }
  }
  // A group target ("no live upstreams") only stands on its own when none of its servers failed in the window.
  // Its servers come from nginx -T; without it, any other failing peer may be one of them.
  for (const [key, lines] of byTarget) {
    const isGroup = lines.length > 0 && lines.every((l) => l.targetIsGroup === true);
    if (!isGroup) continue;
    const servers = [...set.confs.values()].flatMap(
      (c) => c.upstreams[key]?.servers.map((s) => s.address) ?? [],
    );
    const others = [...byTarget.keys()].filter((k) => k !== key && endpointOf(k).kind === "tcp");
    if (servers.length > 0 ? others.some((k) => servers.includes(k)) : others.length > 0)
      byTarget.delete(key);
  }
  byTarget.delete("");

  const targets: TargetAnalysis[] = [];
  for (const [address, lines] of [...byTarget].sort(([a], [b]) => a.localeCompare(b))) {
    const cite = emptyCitations();
    const errors = emptyErrorCounts();
    const statuses = new Set<number>();
    for (const l of lines) {
      errors[l.cause] = (errors[l.cause] ?? 0) + 1;
      if (l.status !== undefined) statuses.add(l.status);
    }
    cite.errors.push(...representative(lines).map(refOf));
    const times = lines
      .map((l) => l.time)
      .filter((t): t is string => t !== undefined)
      .sort();
    const parsed = endpointOf(address);
    const isGroup =
      lines.some((l) => l.targetIsGroup === true) ||
      access.some((r) => r.upstreams?.some((a) => a.addr === address && a.isGroup));
    const ep = parsed.kind === "group" && !isGroup ? { ...parsed, kind: "name" as const } : parsed;
    const owner = ownerOf(bundle, address);
    const conf = targetConfig(set.confs, upstream, address);
    if (conf.ref) push(cite.config, conf.ref);

    let requests = 0;
    const failedDurations: number[] = [];
    let failedRequests = 0;
    for (const r of access) {
      const attempts = attemptsTo(r, address);
      if (attempts.length === 0) continue;
      requests++;
      const failed = attempts.find((a) => a.failed);
      if (failed) {
        failedRequests++;
        if (failed.seconds !== null) failedDurations.push(failed.seconds);
        push(cite.timing, refOf(r));
      }
    }
    const stats = durationStats(failedDurations);

    const firstError = times[0] ?? "";
    const backend = analyseBackend(set, owner.host, ep, firstError, window, cite);
    const hostFailure = owner.host?.failure;
    if (owner.host && hostFailure) {
      push(cite.host, {
        host: owner.host.name,
        source: "ssh",
        line: 1,
        text: `${owner.host.name} (${owner.host.address}): ${hostFailure.code}: ${hostFailure.message}`,
      });
    }

    const scheme = lines.find((l) => l.upstreamScheme !== undefined)?.upstreamScheme ?? "";
    const facts: TargetFacts = {
      address,
      kind: ep.kind,
      pass: conf.pass || (PASS_OF_SCHEME[scheme] ?? ""),
      host: owner.host?.name ?? "",
      placementKnown: owner.placementKnown,
      known: owner.known,
      inConfig: conf.inConfig,
      reachable: hostFailure === undefined,
      hostFailure: hostFailure?.code ?? "",
      ...backend,
      errorCount: lines.length,
      firstError,
      lastError: times[times.length - 1] ?? "",
      statuses: [...statuses].sort((a, b) => a - b),
      requests,
      failedRequests,
      failedMedianSeconds: stats.median,
      failedClusterShare: stats.clusterShare,
      failedFastShare: stats.fastShare,
      keepalive: conf.keepalive,
      proxyReadTimeoutSeconds: conf.readTimeout,
      proxyBufferSize: conf.bufferSize,
    };
    targets.push({ facts, errors, cite });
  }

  const gateway: GatewayFacts = {
    hosts: gateways.length,
    reachable: gateways.filter((g) => g.failure === undefined).length,
    errors: errorLines.length,
    status502: access.filter((r) => r.status === 502).length,
    status504: access.filter((r) => r.status === 504).length,
    requests: access.length,
    upstream,
    configKnown: set.confs.size > 0,
    logsRead: new Set(
      set.byKind["nginx-error"].filter((p) => p.host.role === "gateway").map((p) => p.host.name),
    ).size,
  };

  const timeline = buildTimeline(targets);
  const unreadable = Object.values(set.byKind)
    .flat()
    .reduce((n, p) => n + p.unreadable.length, 0);
  return {
    service: bundle.service,
    window: bundle.window,
    gateway,
    targets,
    hosts: hostStatuses(set),
    timeline,
    unreadable,
    gatewayLogGaps: gatewayLogGaps(bundle),
  };
}

/** The lines that tell a target's story: the first of each distinct cause in order, then the last line. */
function representative(lines: NginxErrorRecord[]): NginxErrorRecord[] {
  const picked: NginxErrorRecord[] = [];
  const causes = new Set<string>();
  for (const l of lines) {
    if (picked.length >= MAX_CITES - 1) break;
    const key = `${l.cause}|${l.action ?? ""}`;
    if (causes.has(key)) continue;
    causes.add(key);
    picked.push(l);
  }
  const last = lines.at(-1);
  if (last && !picked.includes(last)) picked.push(last);
  return picked;
}

/**
 * The incident in order: for each target, the first nginx error and the last, and the first line of each kind
 * of backend event (exit, OOM kill, crash, segfault, restart). Within one second, events keep that order.
 */
function buildTimeline(targets: TargetAnalysis[]): TimelineEntry[] {
  const labels: [CiteKey, string][] = [
    ["errors", "nginx error"],
    ["oom", "OOM kill"],
    ["crash", "crash"],
    ["segfault", "segfault"],
    ["fatal", "last log line"],
    ["exit", "process exit"],
    ["restart", "restart"],
  ];
  const seen = new Set<string>();
  const out: (TimelineEntry & { rank: number })[] = [];
  const add = (ref: EvidenceRef | undefined, what: string, rank: number) => {
    if (ref?.time === undefined) return;
    const id = `${ref.host}|${ref.source}|${ref.line}`;
    if (seen.has(id)) return;
    seen.add(id);
    out.push({ time: ref.time, host: ref.host, what, ref, rank });
  };
  for (const t of targets) {
    labels.forEach(([key, what], rank) => {
      const refs = t.cite[key]
        .filter((r) => r.time !== undefined)
        .sort((a, b) => (a.time ?? "").localeCompare(b.time ?? ""));
      add(refs[0], what, rank);
      if (key === "errors") add(refs.at(-1), "last nginx error", labels.length);
    });
  }
  return inTimeOrder(out).map(({ rank: _rank, ...e }) => e);
}

/**
 * Stamps have different precision: nginx, the journal and ps give whole seconds, dmesg and most app logs
 * milliseconds or better. Entries go by second; within one second, by exact time when every stamp there has
 * sub-second digits, else in the order the events cause each other (`rank`), since a whole-second stamp may
 * be anywhere in its second.
 */
function inTimeOrder<E extends { time: string; rank: number }>(entries: E[]): E[] {
  const bySecond = new Map<number, { e: E; ms: number }[]>();
  for (const e of entries) {
    const ms = Date.parse(e.time);
    const second = Math.floor(ms / 1000);
    const list = bySecond.get(second);
    if (list) list.push({ e, ms });
    else bySecond.set(second, [{ e, ms }]);
  }
  return [...bySecond]
    .sort(([a], [b]) => a - b)
    .flatMap(([, list]) => {
      const precise = list.every((x) => x.ms % 1000 !== 0);
      return list
        .sort((a, b) => (precise ? a.ms - b.ms || a.e.rank - b.e.rank : a.e.rank - b.e.rank || a.ms - b.ms))
        .map((x) => x.e);
    });
}
