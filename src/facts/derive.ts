import type { Bundle } from "../bundle/schema.js";
import type { NginxConf } from "../evidence/nginx-conf.js";
import { CauseId } from "../evidence/types.js";
import { endpointOf } from "./address.js";
import { clockCorrectionMs } from "./clock.js";
import { gatewayLogGaps, type LogGap } from "./coverage.js";
import { type EvidenceRef, type EvidenceSet, parseBundle, recordsOf } from "./evidence-set.js";
import { CiteKey, type GatewayFacts } from "./schema.js";
import { analyseTarget, type FailureLine, type TargetAnalysis, type TargetContext } from "./target-facts.js";
import { inWindow, type Window, windowOf } from "./window.js";

export { type Citations, emptyCitations } from "./citations.js";
export { emptyErrorCounts, type TargetAnalysis } from "./target-facts.js";
export { CiteKey };

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

/** Derive facts per failing upstream target from a bundle. Pure. */
export function deriveFacts(bundle: Bundle, set: EvidenceSet = parseBundle(bundle)): Facts {
  const window: Window = windowOf(bundle.window);
  const gateways = bundle.hosts.filter((h) => h.role === "gateway");
  const upstream = serviceUpstream(bundle, set.confs);

  const errorLines = gateways
    .flatMap((g) => recordsOf(set, "nginx-error", g.name))
    .filter((r): r is FailureLine => r.cause !== undefined && FAILURE_CAUSES.has(r.cause))
    .filter((r) => inWindow(r.time, window));
  const access = gateways
    .flatMap((g) => recordsOf(set, "nginx-access", g.name))
    .filter((r) => inWindow(r.time, window));

  const byTarget = new Map<string, FailureLine[]>();
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

  const context: TargetContext = { bundle, set, upstream, window, access };
  const targets: TargetAnalysis[] = [...byTarget]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([address, lines]) => analyseTarget(context, address, lines));

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
