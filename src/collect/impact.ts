import { z } from "zod";
import { Failure } from "../bundle/schema.js";
import type { Config, Gateway } from "../config/schema.js";
import { UserError } from "../errors.js";
import {
  type AccessAggregateRecord,
  AggregateTotals,
  accessAggregateParser,
  aggregateTotals,
} from "../evidence/access-aggregate.js";
import { formatForAccessLog } from "../evidence/nginx-access.js";
import { nginxConfParser, summarizeConf } from "../evidence/nginx-conf.js";
import { parseText } from "../evidence/run.js";
import { AGGREGATE_MAX_BYTES, AGGREGATE_TIMEOUT_SECONDS, aggregateSection } from "./aggregate-plan.js";
import type { CollectDeps } from "./collect.js";
import { runAll, sectionFailure, transportCode } from "./host-output.js";
import { gatewaySections, type PlannedSection } from "./plan.js";
import { buildScript } from "./script.js";
import { type SectionResult, splitSections } from "./sections.js";
import { isTransportError, type Transport } from "./transport.js";

/** Responses of one UTC minute (start, collector's clock) with one status from one upstream address. */
export const ImpactCount = z.object({
  minute: z.string(),
  status: z.number().int().min(100).max(599),
  /** The last address of `$upstream_addr`, or `-` when nginx chose none. */
  target: z.string(),
  count: z.number().int().positive(),
});
export type ImpactCount = z.infer<typeof ImpactCount>;

export const ImpactHost = z.object({
  name: z.string(),
  /** The gateway answered and counted; its counts may still be short (see `incomplete`). */
  ok: z.boolean(),
  failure: Failure.optional(),
  /** Why an answering gateway's counts are short: the key cap, the time limit, or the byte cap. */
  incomplete: z.string().optional(),
  /** The access log counted. */
  accessLog: z.string().optional(),
  totals: AggregateTotals.optional(),
});
export type ImpactHost = z.infer<typeof ImpactHost>;

export const Impact = z.object({
  /** Summed over the gateways, ordered by minute, status and target. */
  perMinute: z.array(ImpactCount),
  /** false when a gateway failed, a cap was hit, or the output was cut. */
  complete: z.boolean(),
  hosts: z.array(ImpactHost),
});
export type Impact = z.infer<typeof Impact>;

export interface ImpactWindow {
  /** Epoch ms, both ends included (to the second). */
  sinceMs: number;
  untilMs: number;
  /** Distinct (minute, status, upstream) keys per gateway (default AGGREGATE_MAX_KEYS). */
  maxKeys?: number;
  /** Seconds of counting per gateway (default AGGREGATE_TIMEOUT_SECONDS). */
  timeoutSeconds?: number;
}

/** Time on top of the counting for connecting, the window search and nginx -T. */
const EXEC_MARGIN_MS = 30_000;

type Outcome = { host: ImpactHost; counts: AccessAggregateRecord[] };

function failed(name: string, failure: Failure, accessLog?: string): Outcome {
  return { host: { name, ok: false, failure, ...(accessLog ? { accessLog } : {}) }, counts: [] };
}

async function runSection(
  transport: Transport,
  section: PlannedSection,
  sinceEpochSeconds: number,
  deps: CollectDeps,
  timeoutMs: number,
): Promise<{ result?: SectionResult; failure?: Failure }> {
  const nonce = deps.nonce();
  const script = buildScript([section.spec], {
    sinceEpochSeconds,
    collectorEpochSeconds: Math.floor(deps.now() / 1000),
    nonce,
  });
  const cap = "maxBytes" in section.spec ? section.spec.maxBytes : 4096;
  let stdout: string;
  let stderr: string;
  try {
    const r = await transport.exec(script, { timeoutMs, maxBytes: (cap + 65536 + 4096) * 2 });
    stdout = r.stdout;
    stderr = r.stderr;
  } catch (e) {
    if (!isTransportError(e) || e.code !== "timeout" || !e.partial) throw e;
    stdout = e.partial.stdout;
    stderr = e.partial.stderr;
  }
  const { sections, incomplete } = splitSections(stdout, stderr, nonce);
  const result = sections.get(section.spec.id);
  const failure = sectionFailure(result, incomplete.includes(section.spec.id));
  if (failure) return { failure };
  if (result && result.exitCode !== 0) {
    const first = result.stderr.trim().split("\n")[0] ?? "";
    return { failure: { code: "error", message: first || `${section.template} exited ${result.exitCode}` } };
  }
  return result ? { result } : { failure: { code: "error", message: "no output" } };
}

/** The access log and its format, from the config or, where it says `discover`, from nginx -T. */
async function accessLogOf(
  g: Gateway,
  transport: Transport,
  config: Config,
  deps: CollectDeps,
  sinceEpochSeconds: number,
): Promise<{ path: string; format: string } | { failure: Failure }> {
  const path = g.access_log === "discover" ? undefined : g.access_log;
  if (path !== undefined && g.log_format !== undefined) return { path, format: g.log_format };
  const confSection = gatewaySections(g, {}, config.defaults.max_bytes).find(
    (s) => s.template === "nginx-conf",
  );
  if (!confSection) return { failure: { code: "error", message: "no nginx -T template for the gateway" } };
  const ran = await runSection(transport, confSection, sinceEpochSeconds, deps, config.ssh.command_timeout);
  if (ran.failure || !ran.result) {
    const why = ran.failure?.message ?? "no output";
    return { failure: { code: ran.failure?.code ?? "error", message: `nginx -T: ${why}` } };
  }
  const conf = summarizeConf(
    parseText(nginxConfParser, ran.result.stdout, { host: g.host, source: "nginx -T", utcOffsetMinutes: 0 })
      .records,
  );
  const found = path ?? conf.accessLogs.find((l) => l.path.startsWith("/"))?.path;
  if (!found) {
    return {
      failure: {
        code: "error",
        message: `nginx -T on ${g.host} names no access log file: set access_log for this gateway in the config`,
      },
    };
  }
  const format = g.log_format ?? formatForAccessLog(conf, found);
  if (format === undefined) {
    return {
      failure: {
        code: "error",
        message: `nginx -T on ${g.host} does not say which log_format ${found} uses: set log_format for this gateway`,
      },
    };
  }
  return { path: found, format };
}

function incompleteReason(
  result: SectionResult,
  totals: AggregateTotals | undefined,
  maxKeys: number,
  timeoutSeconds: number,
): string | undefined {
  if (!totals) return "the counts came back without their totals line";
  if (totals.dropped > 0)
    return `${totals.dropped} requests were not counted: more than ${maxKeys} distinct minute, status and upstream keys`;
  if (totals.timedOut) return `the count stopped at its ${timeoutSeconds} s limit before the window's end`;
  if (result.truncated) return `the counts were cut at ${result.bytes} bytes`;
  return undefined;
}

async function gatewayImpact(
  config: Config,
  g: Gateway,
  window: ImpactWindow,
  deps: CollectDeps,
): Promise<Outcome> {
  const sinceEpochSeconds = Math.floor(window.sinceMs / 1000);
  const untilEpochSeconds = Math.floor(window.untilMs / 1000);
  const timeoutSeconds = window.timeoutSeconds ?? AGGREGATE_TIMEOUT_SECONDS;
  let transport: Transport | undefined;
  let accessLog: string | undefined;
  try {
    const resolved = deps.resolve(g.host);
    deps.onProgress?.({ host: g.host, state: "connecting", done: 0, total: 0 });
    transport = await deps.connect(resolved, config.ssh.connect_timeout);
    deps.onProgress?.({ host: g.host, state: "collecting", done: 0, total: 0 });
    const log = await accessLogOf(g, transport, config, deps, sinceEpochSeconds);
    if ("failure" in log) return failed(g.host, log.failure);
    accessLog = log.path;
    const section = aggregateSection({
      path: log.path,
      format: log.format,
      sinceEpochSeconds,
      untilEpochSeconds,
      maxBytes: AGGREGATE_MAX_BYTES,
      timeoutSeconds,
      ...(window.maxKeys ? { maxKeys: window.maxKeys } : {}),
    });
    if ("error" in section) {
      const message = `the log_format of ${log.path} cannot be counted on the host: ${section.error}`;
      return failed(g.host, { code: "error", message }, accessLog);
    }
    const maxKeys = section.spec.type === "log-aggregate" ? section.spec.maxKeys : 0;
    const ran = await runSection(
      transport,
      section,
      sinceEpochSeconds,
      deps,
      timeoutSeconds * 1000 + EXEC_MARGIN_MS,
    );
    if (ran.failure || !ran.result)
      return failed(g.host, ran.failure ?? { code: "error", message: "no output" });
    const result = ran.result;
    // A cut at the byte cap can end inside a line: only whole lines are counts.
    const text =
      result.truncated && !result.stdout.endsWith("\n")
        ? result.stdout.slice(0, result.stdout.lastIndexOf("\n") + 1)
        : result.stdout;
    const parsed = parseText(accessAggregateParser, text, {
      host: g.host,
      source: log.path,
      utcOffsetMinutes: 0,
    });
    const totals = aggregateTotals(text);
    const host: ImpactHost = { name: g.host, ok: true, accessLog };
    if (totals) host.totals = totals;
    const why = incompleteReason(result, totals, maxKeys, timeoutSeconds);
    if (why) host.incomplete = why;
    deps.onProgress?.({ host: g.host, state: "done", done: 0, total: 0 });
    return { host, counts: parsed.records };
  } catch (e) {
    const failure: Failure = isTransportError(e)
      ? { code: transportCode[e.code] ?? "error", message: e.message }
      : { code: "error", message: e instanceof Error ? e.message : String(e) };
    deps.onProgress?.({ host: g.host, state: "failed", done: 0, total: 0, detail: failure.message });
    return failed(g.host, failure, accessLog);
  } finally {
    await transport?.close().catch(() => undefined);
  }
}

/**
 * How many requests the service's gateways answered over [since, until], per UTC minute, status and upstream
 * address, for a post-incident summary. Each gateway counts its own access log and rotations on the host
 * (template `nginx-access-aggregate`) and sends only the counts, so an incident of hours at thousands of
 * requests a second costs kilobytes, not the log. Where the config leaves the access log or its format to
 * discovery, `nginx -T` runs first on that gateway, as in a diagnosis. Minutes are on the collector's clock: a
 * host whose clock is off moves its stamps by its offset before counting.
 */
export async function collectImpact(
  config: Config,
  service: string,
  window: ImpactWindow,
  deps: CollectDeps,
): Promise<Impact> {
  const found = config.services[service];
  if (!found) {
    throw new UserError(
      "not_found",
      `No service "${service}" in the config: use one of ${Object.keys(config.services).join(", ")}.`,
    );
  }
  const { sinceMs, untilMs } = window;
  if (!Number.isFinite(sinceMs) || !Number.isFinite(untilMs) || sinceMs < 0 || untilMs < sinceMs) {
    throw new UserError(
      "bad_input",
      `The impact window must end after it starts (since ${sinceMs}, until ${untilMs}).`,
    );
  }
  if (untilMs - sinceMs > config.defaults.max_window) {
    throw new UserError(
      "bad_input",
      "The impact window is longer than defaults.max_window: ask for a shorter one, or raise defaults.max_window.",
    );
  }
  const outcomes = await runAll(found.gateways, config.defaults.concurrency, (g) =>
    gatewayImpact(config, g, window, deps),
  );
  const sums = new Map<string, ImpactCount>();
  for (const o of outcomes) {
    for (const r of o.counts) {
      const key = `${r.minute} ${r.status} ${r.target}`;
      const row = sums.get(key);
      if (row) row.count += r.count;
      else sums.set(key, { minute: r.minute, status: r.status, target: r.target, count: r.count });
    }
  }
  const perMinute = [...sums.values()].sort(
    (a, b) =>
      a.minute.localeCompare(b.minute) ||
      a.status - b.status ||
      (a.target < b.target ? -1 : a.target > b.target ? 1 : 0),
  );
  const hosts = outcomes.map((o) => o.host);
  return { perMinute, complete: hosts.every((h) => h.ok && !h.incomplete), hosts };
}
