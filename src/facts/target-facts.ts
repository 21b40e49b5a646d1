import { isIP } from "node:net";
import type { BackendSpec, Bundle, HostBundle } from "../bundle/schema.js";
import type { NginxAccessRecord } from "../evidence/nginx-access.js";
import type { ConfLocation, NginxConf } from "../evidence/nginx-conf.js";
import type { NginxErrorRecord } from "../evidence/nginx-error.js";
import { CauseId } from "../evidence/types.js";
import { endpointOf, sameSocket } from "./address.js";
import { analyseBackend, namesCause } from "./backend.js";
import { type Citations, emptyCitations } from "./citations.js";
import { type EvidenceRef, type EvidenceSet, refOf } from "./evidence-set.js";
import type { ErrorCounts, TargetFacts } from "./schema.js";
import { durationStats } from "./timing.js";
import type { Window } from "./window.js";

export interface TargetAnalysis {
  facts: TargetFacts;
  errors: ErrorCounts;
  cite: Citations;
}

/** An nginx error line that failed a request to an upstream, with its cause. */
export type FailureLine = NginxErrorRecord & { cause: CauseId };

/** What every target of one bundle is read against: the service's upstream group and the window's requests. */
export interface TargetContext {
  bundle: Bundle;
  set: EvidenceSet;
  upstream: string;
  window: Window;
  /** The gateways' access records in the window. */
  access: NginxAccessRecord[];
}

const MAX_CITES = 5;

export function emptyErrorCounts(): ErrorCounts {
  return Object.fromEntries(CauseId.options.map((c) => [c, 0]));
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
    const spec = bundle.backends.find((b) => sameSocket(b.socket, ep.host));
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

/** The facts, error counts and citations of one failing upstream target, from its nginx error lines. Pure. */
export function analyseTarget(ctx: TargetContext, address: string, lines: FailureLine[]): TargetAnalysis {
  const { bundle, set, upstream, window, access } = ctx;
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
    // A host lost in the middle of its collection answered enough when what arrived names why its process ended.
    reachable: hostFailure === undefined || namesCause(backend),
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
  return { facts, errors, cite };
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
