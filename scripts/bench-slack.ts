// Slash-command ack latency for `npm run bench`: scripts/bench.js runs this (as root) with `node --import tsx`.
// Prints one JSON object `{ figures: { slack }, rows }` on stdout; progress on stderr unless --quiet.
//
// The lab (test/lab) with 50 backends after its `crash` scenario, the Slack stand-in (test/support/slack),
// and `why502 serve` as a real process (node bin/why502.js, after `npm run build`), in HTTP mode and then in
// Socket Mode. A signed `/why502 checkout` starts a 50-backend diagnosis; while it runs, 200 more slash
// commands go out at a steady 20 a second, alternating `/why502 help` (answered in the ack) and
// `/why502 checkout` (acked empty; it joins the running diagnosis). Each latency is from send to the HTTP
// response (HTTP mode) or to the ack envelope on the stand-in's WebSocket (Socket Mode). Should a diagnosis
// end before the last request is sent, the bench starts the next one at once (an extra, unmeasured
// `/why502 checkout`), and says how many requests went out while none was running. From serve's store it
// counts the diagnoses started while another one ran in the channel (requests that should have joined it).
//
// Both event loops are watched during the burst: this process's with perf_hooks.monitorEventLoopDelay, and
// serve's main thread with a 10 ms timer preloaded through NODE_OPTIONS (--import of a probe written to
// bench-out/slack), which also tells a stall spent running serve's own code from one spent waiting for a
// CPU. WHY502_BENCH_CPU_PROF=1 also writes serve's main-thread CPU profile to
// bench-out/slack/<mode>/serve.cpuprofile (open it in Chrome DevTools).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import { stringify } from "yaml";
import { type Lab, startLab } from "../test/lab/lab.js";
import { labConfig } from "../test/lab/lab-config.js";
import { runScenario } from "../test/lab/scenarios.js";
import { type Serve, slash, startServe, stopServe } from "../test/slack/serve-process.js";
import { type StandIn, type StoredMessage, startSlackStandIn } from "../test/support/slack/standin.js";

const root = fileURLToPath(new URL("../", import.meta.url));
const work = join(root, "bench-out", "slack");
const quiet = process.argv.includes("--quiet");
const log = (s: string): void => {
  if (!quiet) process.stderr.write(`${s}\n`);
};

const BACKENDS = 50;
const SCENARIO = "crash" as const;
/** Hosts collected at once: the same cap as bench-collect's 50-backend figure. */
const CONCURRENCY = 10;
const REQUESTS = 200;
const PER_SECOND = 20;
const WARM_UP = 10;
const TARGET_P99_MS = 200;
const CHANNEL = "C0CHECKOUT";
const SERVICE = "checkout";
/** The probe's timer period in serve; a tick later than this by more than STALL_MS is a stall. */
const TICK_MS = 10;
const STALL_MS = 50;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** Nearest rank: the smallest value with at least p of the values at or below it. */
function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] as number;
}

/**
 * Loaded into serve's main thread by NODE_OPTIONS=--import. Every TICK_MS it records
 * [epoch ms, ms late, ms on a CPU, ms waiting for one] since the previous tick, the last two from the
 * thread's /proc schedstat: a late tick with its time on a CPU is serve's own work blocking the loop, one
 * spent waiting is the machine's other load. Written on exit, with a CPU profile when asked for.
 */
const PROBE = `import { readFileSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { isMainThread } from "node:worker_threads";
const out = process.env.WHY502_BENCH_LOOP_OUT;
const prof = process.env.WHY502_BENCH_CPU_PROF_OUT;
if (isMainThread && out) {
  const sched = () => readFileSync("/proc/thread-self/schedstat", "utf8").split(" ").map(Number);
  const samples = [];
  let last = performance.now();
  let [cpu0, wait0] = sched();
  setInterval(() => {
    const t = performance.now();
    const [cpu, wait] = sched();
    const r = (x) => Math.round(x * 10) / 10;
    samples.push(Date.now(), r(t - last - ${TICK_MS}), r((cpu - cpu0) / 1e6), r((wait - wait0) / 1e6));
    last = t;
    cpu0 = cpu;
    wait0 = wait;
  }, ${TICK_MS}).unref();
  let session;
  if (prof) {
    session = new Session();
    session.connect();
    session.post("Profiler.enable");
    session.post("Profiler.start");
  }
  process.on("exit", () => {
    writeFileSync(out, JSON.stringify(samples));
    session?.post("Profiler.stop", (e, r) => {
      if (!e) writeFileSync(prof, JSON.stringify(r.profile));
    });
  });
}
`;

async function startLabWhenFree(backends: number): Promise<Lab> {
  const giveUp = Date.now() + 180_000;
  for (;;) {
    try {
      return await startLab({ backends, scenario: SCENARIO });
    } catch (e) {
      // Addresses held by another lab, or 50 backends too slow to start on a loaded machine: try again.
      const busy = e instanceof Error && /already in use|no "ready" event/.test(e.message);
      if (!busy || Date.now() > giveUp) throw e;
      log(`  lab did not start (${(e as Error).message}), retrying`);
      await sleep(3000);
    }
  }
}

/** The lab's why502.yaml plus the stand-in as Slack and a fresh SQLite store. */
function writeBotConfig(lab: Lab, standin: StandIn, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const cfg = {
    ...(labConfig(lab.info, { concurrency: CONCURRENCY }) as Record<string, unknown>),
    slack: { api_url: standin.url },
    store: { sqlite: join(dir, "why502.db") },
  };
  const path = join(dir, "why502.yaml");
  writeFileSync(path, stringify(cfg));
  return path;
}

interface Sent {
  text: "help" | "checkout";
  /** ms since the burst started */
  at: number;
  /** A diagnosis was running when it was sent: a parent in the channel without its thread reply yet. */
  running: boolean;
  ms: number;
  ok: boolean;
  problem?: string;
}

interface Diagnosed {
  /** When serve logged it, ms since the burst started. */
  endedAtMs?: number;
  durationMs: number;
  hostsFailed: string[];
  verdicts: string[];
}

interface Burst {
  latencies: Sent[];
  /** The diagnoses that ran during the burst, as serve logged them. */
  diagnoses: Diagnosed[];
  /** Extra `/why502 checkout` sent (unmeasured) because a diagnosis ended before the last request. */
  restarts: number;
  burstStartedAt: number;
  burstEndedAt: number;
  benchLoop: { p50: number; p99: number; max: number };
}

/** The channel's thread parents (a broadcast reply is top-level too, but it is no parent). */
const parents = (standin: StandIn): StoredMessage[] =>
  standin.messages(CHANNEL).filter((m) => m.thread_ts === undefined || m.thread_ts === m.ts);
const unreplied = (standin: StandIn): StoredMessage | undefined =>
  parents(standin).find((p) => standin.replies(CHANNEL, p.ts).length === 0);

/** What each ack must be: help answers in the ack (naming the service), a diagnose request acks empty. */
function ackProblem(text: Sent["text"], r: { ack: unknown; status?: number }): string | undefined {
  if (r.status !== undefined && r.status !== 200) return `HTTP ${r.status}`;
  if (text === "help") {
    const t = (r.ack as { text?: unknown } | undefined)?.text;
    return typeof t === "string" && t.includes(`\`${SERVICE}\``)
      ? undefined
      : `help ack ${JSON.stringify(r.ack)}`;
  }
  const empty =
    r.ack === undefined || (typeof r.ack === "object" && r.ack !== null && !Object.keys(r.ack).length);
  return empty ? undefined : `checkout ack ${JSON.stringify(r.ack)}`;
}

function diagnosesLogged(serve: Serve, since?: number): Diagnosed[] {
  return serve
    .logLines()
    .filter((l) => l.msg === "diagnosis")
    .map((l) => ({
      ...(since !== undefined && { endedAtMs: Date.parse(String(l.time)) - since }),
      durationMs: Number(l.duration_ms),
      hostsFailed: (l.hosts_failed as string[] | undefined) ?? [],
      verdicts: (l.verdicts as string[] | undefined) ?? [],
    }));
}

async function burst(serve: Serve, standin: StandIn): Promise<Burst> {
  for (let i = 0; i < WARM_UP; i++) {
    const r = await slash(serve, standin, "help");
    const p = ackProblem("help", r);
    if (p) throw new Error(`warm-up /why502 help: ${p}`);
  }
  const before = diagnosesLogged(serve).length;
  const trigger = await slash(serve, standin, SERVICE);
  const p = ackProblem("checkout", trigger);
  if (p) throw new Error(`/why502 ${SERVICE}: ${p}`);
  await standin.waitFor(() => unreplied(standin), 10_000);

  // A diagnosis ended early: start the next one at once, so the rest of the burst still meets one running.
  // The reply can land before serve marked the run done; a request then joins the ending run, so try again.
  let sending = true;
  let restarting = false;
  let restarts = 0;
  const restart = async () => {
    while (sending && !unreplied(standin)) {
      restarts++;
      const problem = ackProblem("checkout", await slash(serve, standin, SERVICE));
      if (problem) throw new Error(`restarting the diagnosis: ${problem}`);
      await standin.waitFor(() => unreplied(standin), 1000).catch(() => undefined);
    }
  };
  let restartError: unknown;
  const onChange = () => {
    if (!sending || restarting || unreplied(standin)) return;
    restarting = true;
    restart()
      .catch((e: unknown) => {
        restartError = e;
      })
      .finally(() => {
        restarting = false;
      });
  };
  standin.events.on("change", onChange);

  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const latencies: Sent[] = [];
  const inFlight: Promise<void>[] = [];
  const burstStartedAt = Date.now();
  const t0 = performance.now();
  for (let i = 0; i < REQUESTS; i++) {
    const wait = t0 + (i * 1000) / PER_SECOND - performance.now();
    if (wait > 0) await sleep(wait);
    const text: Sent["text"] = i % 2 === 0 ? "help" : "checkout";
    const sent: Sent = {
      text,
      at: performance.now() - t0,
      running: unreplied(standin) !== undefined,
      ms: 0,
      ok: false,
    };
    latencies.push(sent);
    inFlight.push(
      slash(serve, standin, text).then(
        (r) => {
          sent.ms = r.ms;
          sent.problem = ackProblem(text, r);
          sent.ok = sent.problem === undefined;
        },
        (e: unknown) => {
          sent.problem = e instanceof Error ? e.message : String(e);
        },
      ),
    );
  }
  sending = false;
  await Promise.all(inFlight);
  const burstEndedAt = Date.now();
  loop.disable();
  standin.events.off("change", onChange);
  if (restartError) throw restartError;
  // Let the diagnoses started meanwhile land, so that their durations are in serve's log: one per parent.
  await standin.waitFor(() => !restarting && !unreplied(standin), 120_000);
  await standin.waitFor(() => diagnosesLogged(serve).length >= before + parents(standin).length, 10_000);
  return {
    latencies,
    diagnoses: diagnosesLogged(serve, burstStartedAt).slice(before),
    restarts,
    burstStartedAt,
    burstEndedAt,
    benchLoop: {
      p50: round(loop.percentile(50) / 1e6),
      p99: round(loop.percentile(99) / 1e6),
      max: round(loop.max / 1e6),
    },
  };
}

interface Stall {
  /** When it began, ms since the burst started. */
  atMs: number;
  lateMs: number;
  /** Of the tick's interval: time serve's main thread ran, and time it waited for a CPU. */
  cpuMs: number;
  waitMs: number;
}

interface LoopFigure {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Main thread over the whole burst: on a CPU, and runnable but waiting for one. */
  cpuMs: number;
  waitMs: number;
  /** Ticks later than STALL_MS: how many, and their intervals' CPU and wait time summed. */
  stalls: number;
  stallCpuMs: number;
  stallWaitMs: number;
  /** The most main-thread CPU time within one stall: serve's own longest block. */
  longestRunningMs: number;
  worst: Stall[];
}

/** serve's timer ticks within the burst, from the probe's samples. */
function serveLoop(file: string, b: Burst): LoopFigure | null {
  if (!existsSync(file)) return null;
  const flat = JSON.parse(readFileSync(file, "utf8")) as number[];
  const late: number[] = [];
  const stalls: Stall[] = [];
  let cpuMs = 0;
  let waitMs = 0;
  for (let i = 0; i + 3 < flat.length; i += 4) {
    const [at, l, cpu, wait] = flat.slice(i, i + 4) as [number, number, number, number];
    const ms = Math.max(0, l);
    // A tick at `at` that is `ms` late ends the stall that began `ms` earlier.
    if (at < b.burstStartedAt || at - ms > b.burstEndedAt) continue;
    late.push(ms);
    cpuMs += cpu;
    waitMs += wait;
    if (ms > STALL_MS)
      stalls.push({ atMs: Math.round(at - ms - b.burstStartedAt), lateMs: ms, cpuMs: cpu, waitMs: wait });
  }
  const worst = [...stalls].sort((x, y) => y.lateMs - x.lateMs).slice(0, 10);
  return {
    p50Ms: percentile(late, 0.5),
    p99Ms: percentile(late, 0.99),
    maxMs: late.length ? Math.max(...late) : 0,
    cpuMs: Math.round(cpuMs),
    waitMs: Math.round(waitMs),
    stalls: stalls.length,
    stallCpuMs: Math.round(stalls.reduce((n, x) => n + x.cpuMs, 0)),
    stallWaitMs: Math.round(stalls.reduce((n, x) => n + x.waitMs, 0)),
    longestRunningMs: Math.max(0, ...stalls.map((x) => x.cpuMs)),
    worst,
  };
}

/**
 * Runs serve created in the channel while another one there was still queued or running: each should have
 * joined it. Read from serve's store after it stopped.
 */
function duplicateRuns(dbPath: string): number {
  const db = new Database(dbPath, { readonly: true });
  try {
    const runs = db.prepare("SELECT channel, created_at AS c, finished_at AS f FROM runs").all() as {
      channel: string;
      c: number;
      f: number | null;
    }[];
    return runs.filter((r) =>
      runs.some((o) => o !== r && o.channel === r.channel && o.c <= r.c && (o.f ?? Infinity) > r.c),
    ).length;
  } finally {
    db.close();
  }
}

let serve: Serve | undefined;
let standin: StandIn | undefined;
let lab: Lab | undefined;

async function cleanUp(): Promise<void> {
  const s = serve;
  serve = undefined;
  await stopServe(s).catch((e: unknown) => log(`stopping serve (pid ${s?.pid}): ${String(e)}`));
  await standin?.close();
  standin = undefined;
  const l = lab;
  lab = undefined;
  await l?.stop();
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    cleanUp().finally(() => process.exit(130));
  });
}

async function measure(mode: "http" | "socket", l: Lab, probe: string) {
  const dir = join(work, mode);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  standin = await startSlackStandIn();
  const config = writeBotConfig(l, standin, dir);
  const loopFile = join(dir, "serve-loop.json");
  const cpuProf = process.env.WHY502_BENCH_CPU_PROF === "1";
  serve = await startServe({
    config,
    mode,
    cwd: dir,
    env: {
      NODE_OPTIONS: `--import=${pathToFileURL(probe).href}`,
      WHY502_BENCH_LOOP_OUT: loopFile,
      ...(cpuProf ? { WHY502_BENCH_CPU_PROF_OUT: join(dir, "serve.cpuprofile") } : {}),
    },
  });
  const s = serve;
  log(`  serve (${mode} mode) up as pid ${s.pid}`);
  if (mode === "socket") await standin.waitFor(() => (standin?.socketConnections() ?? 0) > 0, 10_000);
  const b = await burst(s, standin);
  serve = undefined;
  await stopServe(s);
  await standin.close();
  standin = undefined;

  const okMs = (text?: Sent["text"]) =>
    b.latencies.filter((x) => x.ok && (text === undefined || x.text === text)).map((x) => x.ms);
  const ms = okMs();
  const failed = b.latencies.filter((x) => !x.ok);
  const figure = {
    requests: b.latencies.length,
    perSecond: PER_SECOND,
    mix: `alternating /why502 help (answered in the ack) and /why502 ${SERVICE} (acked empty; joins the running diagnosis)`,
    failed: failed.length,
    failures: [...new Set(failed.map((f) => f.problem ?? "?"))].slice(0, 5),
    p50Ms: round(percentile(ms, 0.5)),
    p99Ms: round(percentile(ms, 0.99)),
    maxMs: round(Math.max(...ms)),
    helpP99Ms: round(percentile(okMs("help"), 0.99)),
    checkoutP99Ms: round(percentile(okMs("checkout"), 0.99)),
    sentWhileRunning: b.latencies.filter((x) => x.running).length,
    burstSeconds: round((b.burstEndedAt - b.burstStartedAt) / 1000, 2),
    diagnoses: b.diagnoses.length,
    /** Diagnoses started while one was running in the channel (requests that should have joined it). */
    duplicateRuns: duplicateRuns(join(dir, "why502.db")),
    restarts: b.restarts,
    diagnosisSeconds: b.diagnoses.map((d) => round(d.durationMs / 1000, 2)),
    /** When serve logged each diagnosis, seconds since the burst started. */
    diagnosisEndedAtSeconds: b.diagnoses.map((d) => round((d.endedAtMs ?? Number.NaN) / 1000, 2)),
    hostsFailed: [...new Set(b.diagnoses.flatMap((d) => d.hostsFailed))],
    verdicts: [...new Set(b.diagnoses.flatMap((d) => d.verdicts))],
    benchLoopMs: b.benchLoop,
    serveLoopMs: serveLoop(loopFile, b),
    targetP99Ms: TARGET_P99_MS,
  };
  log(
    `  ${mode}: ${figure.requests} requests, ack p50 ${figure.p50Ms} ms, p99 ${figure.p99Ms} ms, max ${figure.maxMs} ms; ` +
      `${figure.sentWhileRunning} sent while a diagnosis ran (${figure.diagnosisSeconds.join(" s, ")} s)`,
  );
  const sl = figure.serveLoopMs;
  if (sl)
    log(
      `  ${mode}: serve's event loop late by p99 ${sl.p99Ms} ms, max ${sl.maxMs} ms; ${sl.stalls} stalls over ` +
        `${STALL_MS} ms: main thread ran ${sl.stallCpuMs} ms and waited for a CPU ${sl.stallWaitMs} ms of them`,
    );
  return figure;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0)
    throw new Error("bench-slack needs root (the lab starts sshd, nginx, cgroups)");
  const build = spawnSync("npm", ["run", "build"], { cwd: root, encoding: "utf8" });
  if (build.status !== 0 && !existsSync(join(root, "dist/main.js")))
    throw new Error(`npm run build failed: ${build.stdout}${build.stderr}`);
  if (build.status !== 0) log("WARNING: npm run build reported errors; measuring the dist/ it left");
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const probe = join(work, "loop-probe.mjs");
  writeFileSync(probe, PROBE);

  const loadAverage = round(loadavg()[0] ?? 0, 2);
  log(`slack: lab with ${BACKENDS} backends, ${SCENARIO} scenario`);
  const started = performance.now();
  lab = await startLabWhenFree(BACKENDS);
  await runScenario(lab, SCENARIO);
  log(`  lab up and ${SCENARIO} done in ${round((performance.now() - started) / 1000, 2)} s`);
  const http = await measure("http", lab, probe);
  const socket = await measure("socket", lab, probe);
  await cleanUp();

  const slack = {
    method:
      `why502 serve (node bin/why502.js) against the Slack stand-in and the lab (${BACKENDS} backends, ${SCENARIO}, ` +
      `concurrency ${CONCURRENCY}); ${WARM_UP} warm-up /why502 help, then /why502 ${SERVICE} starts a diagnosis and ` +
      `${REQUESTS} signed slash commands follow at ${PER_SECOND}/s; latency from send to the HTTP response ` +
      "(HTTP mode) or to the ack envelope (Socket Mode)",
    http,
    socket,
    /** 1-minute load average before the lab started: other work on the machine makes the figures noisy. */
    loadAverage,
  };
  const verdict = (f: typeof http) => (f.failed > 0 ? "FAIL" : f.p99Ms < TARGET_P99_MS ? "ok" : "MISS");
  const rows: string[][] = [];
  for (const [name, f] of [
    ["HTTP", http],
    ["Socket Mode", socket],
  ] as const) {
    rows.push([
      `slash ack during a ${BACKENDS}-backend diagnosis, ${name}`,
      `p50 ${f.p50Ms} ms, p99 ${f.p99Ms} ms, max ${f.maxMs} ms${f.failed ? `; ${f.failed} failed` : ""}`,
      `p99 < ${TARGET_P99_MS} ms`,
      verdict(f),
    ]);
    rows.push([
      `  ${f.sentWhileRunning}/${f.requests} sent while one ran; diagnosis took`,
      `${f.diagnosisSeconds.join(" s, ")} s`,
      "",
      "",
    ]);
    rows.push([
      "  diagnoses started beside a running one",
      String(f.duplicateRuns),
      "0",
      f.duplicateRuns === 0 ? "ok" : "MISS",
    ]);
    const sl = f.serveLoopMs;
    if (sl)
      rows.push([
        `  serve's event loop: stalls over ${STALL_MS} ms`,
        `${sl.stalls}: ${sl.stallCpuMs} ms in serve's code, ${sl.stallWaitMs} ms waiting for a CPU; ` +
          `longest in serve's code ${round(sl.longestRunningMs)} ms`,
        "",
        "",
      ]);
  }
  process.stdout.write(`${JSON.stringify({ figures: { slack }, rows })}\n`);
}

main().catch(async (e: unknown) => {
  process.stderr.write(`bench-slack: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  await cleanUp().catch(() => {});
  process.exit(1);
});
