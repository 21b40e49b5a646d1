import { isIP } from "node:net";
import type {
  BackendSpec,
  Bundle,
  CommandOutput,
  Failure,
  HostBundle,
  HostClock,
  HostRole,
} from "../bundle/schema.js";
import type { Config } from "../config/schema.js";
import { UserError } from "../errors.js";
import { type NginxConf, nginxConfParser, summarizeConf } from "../evidence/nginx-conf.js";
import { parseText } from "../evidence/run.js";
import type { CollectDeps, CollectOptions } from "./collect-types.js";
import {
  addressesOf,
  failedHost,
  offsetOfZone,
  partialFailure,
  runAll,
  sectionFailure,
  transportCode,
} from "./host-output.js";
import type { ResolvedHost } from "./hosts.js";
import {
  type BackendTarget,
  backendSections,
  configuredBackends,
  gatewayLogSections,
  gatewaySections,
  type PlannedSection,
} from "./plan.js";
import { buildScript } from "./script.js";
import { parseClock, splitSections } from "./sections.js";
import { isTransportError, type Transport, type TransportError } from "./transport.js";

export type { CollectDeps, CollectOptions, Progress } from "./collect-types.js";

interface HostJob {
  name: string;
  role: HostRole;
  resolved: ResolvedHost;
  sections: PlannedSection[];
}

/** Plus the parsed nginx -T of a gateway, for discovery. */
interface HostOutcome {
  host: HostBundle;
  conf?: NginxConf;
}

async function runHost(
  job: HostJob,
  opts: CollectOptions,
  config: Config,
  deps: CollectDeps,
  deadlineAt: number,
): Promise<HostOutcome> {
  const { resolved } = job;
  const base: HostBundle = {
    name: job.name,
    address: resolved.address,
    role: job.role,
    addresses: [resolved.address],
    commands: [],
  };
  const remaining = () => deadlineAt - deps.now();
  let transport: Transport | undefined;
  try {
    deps.onProgress?.({ host: job.name, state: "connecting", done: 0, total: 0 });
    transport = await deps.connect(resolved, Math.max(1, Math.min(config.ssh.connect_timeout, remaining())));
    deps.onProgress?.({ host: job.name, state: "collecting", done: 0, total: 0 });
    const nonce = deps.nonce();
    const script = buildScript(
      job.sections.map((s) => s.spec),
      {
        sinceEpochSeconds: Math.floor(opts.sinceMs / 1000),
        collectorEpochSeconds: Math.floor(deps.now() / 1000),
        nonce,
      },
    );
    const maxBytes =
      job.sections.reduce((n, s) => n + ("maxBytes" in s.spec ? s.spec.maxBytes : 4096) + 4096, 0) * 2;
    const started = deps.now();
    let stdout: string;
    let stderr: string;
    // A lost connection keeps what arrived before it, as a timeout does; the host is then marked partial.
    let lost: TransportError | undefined;
    try {
      const r = await transport.exec(script, {
        timeoutMs: Math.max(1, Math.min(config.ssh.command_timeout, remaining())),
        maxBytes,
      });
      stdout = r.stdout;
      stderr = r.stderr;
    } catch (e) {
      if (!isTransportError(e) || !e.partial || (e.code !== "timeout" && e.code !== "unreachable")) throw e;
      stdout = e.partial.stdout;
      stderr = e.partial.stderr;
      if (e.code === "unreachable") lost = e;
    }
    const finished = deps.now();
    const { sections, incomplete } = splitSections(stdout, stderr, nonce);
    const arrived = job.sections.filter((s) => sections.has(s.spec.id) && !incomplete.includes(s.spec.id));
    if (lost && arrived.length === 0) throw lost;
    const host: HostBundle = lost
      ? { ...base, failure: partialFailure(lost, arrived.length, job.sections.length) }
      : { ...base };
    const outcome: HostOutcome = { host };
    const clockSection = sections.get("clock");
    if (clockSection) {
      const raw = parseClock(clockSection);
      if (!("error" in raw)) {
        const zoneOffset = resolved.timezone ? offsetOfZone(resolved.timezone, raw.nowMs) : undefined;
        // The clock section runs first: the host read its clock after `started` and before the sections
        // after it began, which the host timed; the middle of that span is the best guess of when.
        let after = 0;
        for (const [id, r] of sections) if (id !== clockSection.id) after += r.durationMs ?? 0;
        const readAt = (started + Math.max(started, finished - after)) / 2;
        const clock: HostClock = {
          now: new Date(raw.nowMs).toISOString(),
          utcOffsetMinutes: zoneOffset ?? raw.utcOffsetMinutes,
          bootTime: raw.bootTimeIso,
          skewMs: Math.round(raw.nowMs - readAt),
        };
        const tz = resolved.timezone ?? raw.timezone;
        if (tz) clock.timezone = tz;
        if (raw.windowSinceSeconds !== undefined)
          clock.windowSince = new Date(raw.windowSinceSeconds * 1000).toISOString();
        host.clock = clock;
      }
    }
    const addr = sections.get("addresses");
    if (addr) host.addresses = [...new Set([resolved.address, ...addressesOf(addr.stdout)])];
    for (const s of job.sections) {
      if (!s.kind) continue;
      const r = sections.get(s.spec.id);
      const out: CommandOutput = {
        id: s.spec.id,
        kind: s.kind,
        source: s.source,
        command: s.display,
        exitCode: r?.exitCode ?? null,
        stdout: r?.stdout ?? "",
        stderr: r?.stderr ?? "",
        durationMs: r?.durationMs ?? 0,
        truncated: r?.truncated ?? false,
      };
      if (r?.parts?.some((p) => p.suffix !== "@"))
        out.parts = r.parts.map((p) => ({
          source: p.suffix === "@" ? s.source : s.source + p.suffix,
          lines: p.lines,
        }));
      if (s.options) out.options = s.options;
      if (s.alsoParseAs) out.alsoParseAs = s.alsoParseAs;
      const failure = sectionFailure(r, incomplete.includes(s.spec.id), lost !== undefined);
      if (failure) out.failure = failure;
      host.commands.push(out);
      if (s.kind === "nginx-conf" && !failure) {
        outcome.conf = summarizeConf(
          parseText(nginxConfParser, out.stdout, { host: job.name, source: s.source, utcOffsetMinutes: 0 })
            .records,
        );
      }
    }
    if (host.failure)
      deps.onProgress?.({ host: job.name, state: "failed", done: 0, total: 0, detail: host.failure.message });
    else deps.onProgress?.({ host: job.name, state: "done", done: 0, total: 0 });
    return outcome;
  } catch (e) {
    const failure: Failure = isTransportError(e)
      ? { code: transportCode[e.code] ?? "error", message: e.message }
      : { code: "error", message: e instanceof Error ? e.message : String(e) };
    deps.onProgress?.({ host: job.name, state: "failed", done: 0, total: 0, detail: failure.message });
    return { host: { ...base, failure } };
  } finally {
    await transport?.close().catch(() => undefined);
  }
}

/** Resolve with the outcome, or with a timeout failure when the global deadline passes first. */
function withDeadline(
  job: HostJob,
  p: Promise<HostOutcome>,
  deadlineAt: number,
  now: () => number,
): Promise<HostOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<HostOutcome>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          host: {
            name: job.name,
            address: job.resolved.address,
            role: job.role,
            addresses: [job.resolved.address],
            commands: [],
            failure: { code: "timeout", message: `${job.name} did not finish before the global deadline` },
          },
        }),
      Math.max(0, deadlineAt - now()),
    );
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

function backendJob(
  config: Config,
  deps: CollectDeps,
  b: BackendTarget,
  sinceEpoch: number,
  address?: string,
): HostJob {
  const resolved = deps.resolve(b.host);
  if (address) resolved.address = address;
  return {
    name: b.host,
    role: "backend",
    resolved,
    sections: backendSections(b, sinceEpoch, config.defaults.max_bytes),
  };
}

/** The log commands of a second round, each marked failed when the round as a whole failed. */
function logCommands(round: HostOutcome, sections: PlannedSection[]): CommandOutput[] {
  const failure = round.host.failure;
  if (!failure) return round.host.commands;
  return sections.map((s) => ({
    id: s.spec.id,
    kind: s.kind ?? "nginx-error",
    source: s.source,
    command: s.display,
    exitCode: null,
    stdout: "",
    stderr: "",
    durationMs: 0,
    truncated: false,
    failure,
  }));
}

/** Collect a service's evidence from its gateways and backends into a bundle, by the deadline. */
export async function collect(config: Config, opts: CollectOptions, deps: CollectDeps): Promise<Bundle> {
  // Own keys only: `constructor` or `__proto__` must not find Object's members.
  const found = Object.hasOwn(config.services, opts.service) ? config.services[opts.service] : undefined;
  if (!found) {
    throw new UserError(
      "not_found",
      `No service "${opts.service}" in the config: use one of ${Object.keys(config.services).join(", ")}.`,
    );
  }
  const service = found;
  const start = deps.now();
  const deadlineAt = start + (opts.deadlineMs ?? config.defaults.deadline);
  const sinceEpoch = Math.floor(opts.sinceMs / 1000);
  const limit = config.defaults.concurrency;
  const run = (job: HostJob) =>
    withDeadline(job, runHost(job, opts, config, deps, deadlineAt), deadlineAt, deps.now);

  const needsDiscovery = service.gateways.some(
    (g) => g.error_log === "discover" || g.access_log === "discover",
  );
  const explicit = configuredBackends(config, service);
  // Resolve the instances' names while collecting, so their IPs can be matched with nginx's.
  const resolving = new Map(
    explicit.map((b) => {
      const address = deps.resolve(b.host).address;
      const ips =
        isIP(address) !== 0 || !deps.lookup ? Promise.resolve([]) : deps.lookup(address).catch(() => []);
      return [b.host, ips] as const;
    }),
  );
  const gatewayJobs = (
    paths: (g: (typeof service.gateways)[number]) => { errorLog?: string; accessLog?: string },
  ) =>
    service.gateways.map((g) => ({
      name: g.host,
      role: "gateway" as const,
      resolved: deps.resolve(g.host),
      sections: gatewaySections(g, paths(g), config.defaults.max_bytes),
    }));
  const explicitPaths = (g: (typeof service.gateways)[number]) => ({
    ...(g.error_log !== "discover" ? { errorLog: g.error_log } : {}),
    ...(g.access_log !== "discover" ? { accessLog: g.access_log } : {}),
  });

  let gateways: HostOutcome[];
  let backends: HostOutcome[] = [];
  const backendJobs = explicit.map((b) => backendJob(config, deps, b, sinceEpoch));
  if (!needsDiscovery) {
    const all = await runAll([...gatewayJobs(explicitPaths), ...backendJobs], limit, run);
    gateways = all.slice(0, service.gateways.length);
    backends = all.slice(service.gateways.length);
  } else {
    // First the clock, addresses and nginx -T, which name the logs; then only the logs. Backends run meanwhile.
    const firstGateways = runAll(
      gatewayJobs(() => ({})),
      limit,
      run,
    );
    const backendRun = runAll(backendJobs, limit, run);
    const first = await firstGateways;
    gateways = await Promise.all(
      service.gateways.map(async (g, i) => {
        const got = first[i];
        if (!got || got.host.failure) return got ?? { host: failedHost(g.host, deps, "no answer") };
        const paths = explicitPaths(g);
        const errorLog = paths.errorLog ?? got.conf?.errorLogs.find((l) => l.path.startsWith("/"))?.path;
        const accessLog = paths.accessLog ?? got.conf?.accessLogs.find((l) => l.path.startsWith("/"))?.path;
        const sections = gatewayLogSections(
          g,
          { ...(errorLog ? { errorLog } : {}), ...(accessLog ? { accessLog } : {}) },
          config.defaults.max_bytes,
        );
        if (sections.length === 0) return got;
        const logs = await run({ name: g.host, role: "gateway", resolved: deps.resolve(g.host), sections });
        return {
          ...got,
          host: { ...got.host, commands: [...got.host.commands, ...logCommands(logs, sections)] },
        };
      }),
    );
    backends = await backendRun;
  }

  const specs: BackendSpec[] = [];
  for (const b of explicit) {
    const r = deps.resolve(b.host);
    const spec: BackendSpec = b.socket
      ? { host: b.host, address: r.address, socket: b.socket }
      : { host: b.host, address: r.address, port: b.port };
    const ips = await resolving.get(b.host);
    if (ips && ips.length > 0) spec.addresses = ips;
    if (b.process && "systemd_unit" in b.process) spec.unit = b.process.systemd_unit;
    if (b.process && "name" in b.process) spec.process = b.process.name;
    if (b.process && "supervisord" in b.process) spec.process = b.process.supervisord;
    if (b.process && "pm2" in b.process) spec.process = b.process.pm2;
    if (b.process && "docker" in b.process) spec.process = b.process.docker;
    specs.push(spec);
  }

  if (service.backends.from_upstream && service.upstream) {
    const conf = gateways.find((g) => g.conf)?.conf;
    const servers = conf?.upstreams[service.upstream]?.servers ?? [];
    const targets = servers
      .filter((s) => s.host && s.port && !s.unix)
      .map((s) => ({
        host: String(s.host),
        port: Number(s.port),
        process: service.backends.process,
        appLogs: service.backends.app_logs ?? [],
        journalFile: service.backends.journal_file,
        kernelLog: service.backends.kernel_log ?? config.defaults.kernel_log,
      }));
    // A unix socket lives on the gateway itself: ask the gateway about the process behind it, as a backend.
    const gateway = service.gateways[0]?.host;
    const local = gateway
      ? servers
          .filter((s) => s.unix)
          .map((s) => ({
            host: gateway,
            port: 80,
            socket: String(s.unix),
            process: service.backends.process,
            appLogs: service.backends.app_logs ?? [],
            journalFile: service.backends.journal_file,
            kernelLog: service.backends.kernel_log ?? config.defaults.kernel_log,
          }))
      : [];
    backends.push(
      ...(await runAll(
        targets.map((t) => backendJob(config, deps, t, sinceEpoch, t.host)),
        limit,
        run,
      )),
      ...(await runAll(
        local.map((t) => ({ ...backendJob(config, deps, t, sinceEpoch), name: `${t.host}:${t.socket}` })),
        limit,
        run,
      )),
    );
    for (const t of local)
      specs.push({ host: `${t.host}:${t.socket}`, address: deps.resolve(t.host).address, socket: t.socket });
  }

  const until = deps.now();
  const bundle: Bundle = {
    version: 1,
    service: opts.service,
    collectedAt: new Date(until).toISOString(),
    window: { since: new Date(opts.sinceMs).toISOString(), until: new Date(until).toISOString() },
    backends: specs,
    hosts: [...gateways, ...backends].map((o) => o.host),
  };
  if (service.upstream) bundle.upstream = service.upstream;
  return bundle;
}
