import { randomBytes } from "node:crypto";
import type { Bundle } from "../bundle/schema.js";
import { collect, type Progress } from "../collect/collect.js";
import { resolveHost } from "../collect/hosts.js";
import type { Config } from "../config/schema.js";
import { maskSecrets, type RedactPatterns, redactPatterns } from "../diagnosis/mask.js";
import type { Diagnosis } from "../diagnosis/types.js";
import { UserError } from "../errors.js";
import { connector, hostEnv, type InvestigateEnv } from "./hosts-env.js";
import { lookupWithin } from "./lookup.js";

export type { Progress } from "../collect/collect.js";

export interface InvestigateRequest {
  service: string;
  /** Window start, epoch ms. */
  sinceMs: number;
  /** Who asked, for the audit log: a Slack user id, `cli:<user>`, an alert source. */
  requestedBy: string;
}

/**
 * Bundle in, diagnosis out: in-process for the CLI, in a worker thread for the server. A diagnoser may
 * also return the bundle masked and gzipped (`archive`), done off the caller's thread.
 */
export type Diagnoser = (bundle: Bundle) => Promise<Diagnosis | { diagnosis: Diagnosis; archive: Buffer }>;

export interface InvestigateDeps {
  /** Answer collection otherwise (the demo replays recorded bundles; nothing is contacted). */
  collect?: (req: InvestigateRequest) => Promise<Bundle>;
  config: Config;
  env: InvestigateEnv;
  diagnose: Diagnoser;
  now?: () => number;
  onProgress?: (p: Progress) => void;
}

export interface Investigation {
  bundle: Bundle;
  diagnosis: Diagnosis;
  requestedBy: string;
  startedAt: number;
  /** Collection plus diagnosis, wall clock. */
  durationMs: number;
  /** Of which collection over SSH. */
  collectMs: number;
  /** The bundle, secrets masked, as gzipped JSON, when the diagnoser made it. */
  archive?: Buffer;
}

/** Every host an investigation of `service` asks, gateways first. */
export function serviceHosts(config: Config, service: string): string[] {
  const s = config.services[service];
  if (!s) return [];
  return [...s.gateways.map((g) => g.host), ...(s.backends.instances ?? []).map((b) => b.host)];
}

/** Service names in the inventory that look like `name`, closest first (for "did you mean"). */
export function closestServices(config: Config, name: string, max = 3): string[] {
  const target = name.toLowerCase();
  return Object.keys(config.services)
    .map((s) => ({ s, d: editDistance(s, target) - (s.includes(target) || target.includes(s) ? 2 : 0) }))
    .sort((a, b) => a.d - b.d || a.s.localeCompare(b.s))
    .slice(0, max)
    .map((x) => x.s);
}

function editDistance(a: string, b: string): number {
  if (a.length > 64 || b.length > 64) return Math.abs(a.length - b.length) + 64;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(
        (prev[j] ?? 0) + 1,
        (cur[j - 1] ?? 0) + 1,
        (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/**
 * The progress callback with each failed host's detail masked: it quotes what the host or SSH answered, and
 * goes to the CLI's progress line and the Slack message being edited.
 */
export function maskedProgress(
  onProgress: ((p: Progress) => void) | undefined,
  redact: RedactPatterns,
): ((p: Progress) => void) | undefined {
  if (!onProgress) return undefined;
  return (p) => onProgress(p.detail === undefined ? p : { ...p, detail: maskSecrets(p.detail, redact).text });
}

/** Collect the service's evidence over SSH within the window (the first half of `investigate`). */
export async function collectService(
  req: InvestigateRequest,
  deps: Omit<InvestigateDeps, "diagnose">,
): Promise<Bundle> {
  const { config } = deps;
  if (!Object.hasOwn(config.services, req.service)) {
    throw new UserError(
      "not_found",
      `No service "${req.service}" in the config: use one of ${Object.keys(config.services).join(", ")}.`,
    );
  }
  const env = hostEnv(deps.env, config);
  return collect(
    config,
    { service: req.service, sinceMs: req.sinceMs },
    {
      resolve: (name) => resolveHost(config, name, env),
      connect: connector(deps.env),
      now: deps.now ?? Date.now,
      nonce: () => randomBytes(9).toString("hex"),
      lookup: lookupWithin(1500),
      onProgress: maskedProgress(deps.onProgress, redactPatterns(config)),
    },
  );
}

/**
 * The one way in for every front end (CLI, Slack, alerts): collect the service's evidence over SSH within
 * the window, then diagnose it. The service is only looked up by name in the inventory; nothing of the
 * request reaches a host command.
 */
export async function investigate(req: InvestigateRequest, deps: InvestigateDeps): Promise<Investigation> {
  const now = deps.now ?? Date.now;
  const startedAt = now();
  const bundle = await (deps.collect ? deps.collect(req) : collectService(req, deps));
  const collectMs = now() - startedAt;
  const out = await deps.diagnose(bundle);
  const diagnosis: Diagnosis = "archive" in out ? out.diagnosis : out;
  return {
    bundle,
    diagnosis,
    requestedBy: req.requestedBy,
    startedAt,
    durationMs: now() - startedAt,
    collectMs,
    ...("archive" in out ? { archive: out.archive } : {}),
  };
}
