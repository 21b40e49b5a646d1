import type { HostBundle } from "../bundle/schema.js";
import { CRASH_STACKS } from "../evidence/app-schema.js";
import type { SystemdRecord } from "../evidence/systemd.js";
import type { Endpoint } from "./address.js";
import {
  absence,
  exitSignal,
  explainsExit,
  lastLineBefore,
  pickOomVictim,
  supervisorOf,
  topFrames,
  workerKills,
} from "./backend-evidence.js";
import { exitsMeanRestart, fromSupervisor, lifeFacts } from "./backend-lives.js";
import { type Citations, emptyCitations } from "./citations.js";
import { type EvidenceSet, recordsOf, refOf } from "./evidence-set.js";
import { programOf, supervisedLives } from "./lives.js";
import { analyseRuntime, NO_RUNTIME, type RuntimeFacts, runtimeOf } from "./runtime.js";
import type { TargetFacts } from "./schema.js";
import { inWindow, ms, type Window } from "./window.js";

export type BackendFacts = Pick<
  TargetFacts,
  | "listenerKnown"
  | "listening"
  | "processKnown"
  | "running"
  | "pid"
  | "startedAt"
  | "restarted"
  | "restarts"
  | "oomKilled"
  | "oomPid"
  | "oomComm"
  | "oomTime"
  | "oomWorker"
  | "crashed"
  | "crashSignature"
  | "crashSummary"
  | "crashFrames"
  | "segfault"
  | "segfaultObject"
  | "exited"
  | "exitCode"
  | "exitStatus"
  | "exitStatusName"
  | "exitSignal"
  | "fatalLine"
  | "supervisor"
  | "supervisorSeen"
  | "starts"
  | "lives"
  | "lifeMaxSeconds"
  | "lifeMedianSeconds"
  | "gaveUp"
  | "lastWords"
  | "lastWordsRepeats"
  | "coreDumped"
  | "workerTimeout"
  | "poolExhausted"
> &
  RuntimeFacts;

/** How far raw dmesg times (boot time + uptime) may be off wall time. */
const KERNEL_CLOCK_SLACK_MS = 2_000;

const ANY_ADDRESS = new Set(["0.0.0.0", "*", "::", "[::]"]);

function sameHost(a: string, b: string): boolean {
  // A dual-stack socket bound to an IPv4 address (the JVM's) shows as `[::ffff:127.0.0.11]:18080`.
  const strip = (s: string) =>
    s
      .replace(/^\[|\]$/g, "")
      .replace(/%.*$/, "")
      .replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, "");
  return strip(a) === strip(b);
}

const NONE: BackendFacts = {
  listenerKnown: false,
  listening: false,
  processKnown: false,
  running: false,
  pid: 0,
  startedAt: "",
  restarted: false,
  restarts: 0,
  oomKilled: false,
  oomPid: 0,
  oomComm: "",
  oomTime: "",
  oomWorker: "",
  crashed: false,
  crashSignature: "",
  crashSummary: "",
  crashFrames: [],
  segfault: false,
  segfaultObject: "",
  exited: false,
  exitCode: "",
  exitStatus: 0,
  exitStatusName: "",
  exitSignal: "",
  fatalLine: "",
  supervisor: "",
  supervisorSeen: "",
  starts: 0,
  lives: 0,
  lifeMaxSeconds: 0,
  lifeMedianSeconds: 0,
  gaveUp: false,
  lastWords: "",
  lastWordsRepeats: 0,
  coreDumped: false,
  workerTimeout: false,
  poolExhausted: false,
  ...NO_RUNTIME,
};

function isExit(r: SystemdRecord): boolean {
  return r.entry === "journal" && r.event === "main_exited";
}

/**
 * The facts name why the process ended, from lines that say so (an OOM kill, a crash, a segfault, the heap,
 * a crash loop's lives, an exit with an error status): what a host lost in the middle of its collection must
 * show to be diagnosed. A restart alone is not enough there: "it restarted and nothing says why" would rest
 * on the sections that never arrived.
 */
export function namesCause(b: BackendFacts): boolean {
  return (
    b.oomKilled ||
    b.crashed ||
    b.segfault ||
    b.heapExhausted ||
    (b.starts >= 3 && b.lives >= 2) ||
    (b.exited && b.exitCode === "exited" && b.exitStatus !== 0)
  );
}

/**
 * What the backend host tells about the process behind one target. Pure. A host lost in the middle of its
 * collection (partial) has its whole sections read, and they count only when they name why the process
 * ended (namesCause): a section that never arrived proves nothing, so without such lines the host stays
 * what it was, one that did not answer.
 */
export function analyseBackend(
  set: EvidenceSet,
  host: HostBundle | undefined,
  ep: Endpoint,
  firstError: string,
  window: Window,
  cite: Citations,
): BackendFacts {
  if (!host) return { ...NONE };
  if (!host.failure) return readBackend(set, host, ep, firstError, window, cite);
  if (!host.commands.some((c) => c.failure === undefined)) return { ...NONE };
  const scratch = emptyCitations();
  const out = readBackend(set, host, ep, firstError, window, scratch);
  if (!namesCause(out)) return { ...NONE };
  for (const [k, refs] of Object.entries(scratch)) cite[k as keyof Citations].push(...refs);
  return out;
}

function readBackend(
  set: EvidenceSet,
  host: HostBundle,
  ep: Endpoint,
  firstError: string,
  window: Window,
  cite: Citations,
): BackendFacts {
  const out: BackendFacts = { ...NONE, crashFrames: [] };
  const firstErrorMs = firstError ? ms(firstError) : window.since;

  const listeners = set.byKind.ss.filter((p) => p.host.name === host.name);
  if (listeners.length > 0) {
    out.listenerKnown = true;
    // A socket on another address of the host (or of another instance sharing it) is not this target's.
    const match = recordsOf(set, "ss", host.name).find(
      (r) =>
        ep.kind === "tcp" &&
        r.localPort === ep.port &&
        (ANY_ADDRESS.has(r.localAddress) || sameHost(r.localAddress, ep.host)),
    );
    out.listening = match !== undefined;
    if (match) cite.listener.push(refOf(match));
    else cite.listener.push(absence(listeners[0], `nothing listens on ${ep.host}:${ep.port}`));
  }

  // The process's parent is read apart (ps-parent): it tells who restarts it, it is not the service.
  const procs = set.byKind.ps.filter((p) => p.host.name === host.name && p.command.id !== "ps-parent");
  const parent = set.byKind.ps
    .filter((p) => p.host.name === host.name && p.command.id === "ps-parent")
    .flatMap((p) => p.records)[0];
  if (parent) {
    out.supervisorSeen = supervisorOf(parent.args);
    if (out.supervisorSeen !== "") cite.process.push(refOf(parent));
  }
  if (procs.length > 0) {
    out.processKnown = true;
    const current = procs
      .flatMap((p) => p.records)
      .sort((a, b) => (b.startTime ?? "").localeCompare(a.startTime ?? ""));
    const newest = current[0];
    if (!newest) cite.process.push(absence(procs[0], "no process of the service is running"));
    if (newest) {
      out.running = true;
      out.pid = newest.pid;
      out.startedAt = newest.startTime ?? "";
      cite.process.push(refOf(newest));
      if (newest.startTime && ms(newest.startTime) >= firstErrorMs && inWindow(newest.startTime, window)) {
        out.restarted = true;
        cite.restart.push(refOf(newest));
      }
    }
  }

  const journal = recordsOf(set, "systemd", host.name).filter((r) => inWindow(r.time, window));
  const exits = journal.filter(isExit);
  let lastExitMs = Number.NaN;
  if (exits.length > 0) {
    out.restarted = exitsMeanRestart(out, exits.length);
    out.restarts = exits.length;
    const last = exits[exits.length - 1];
    if (last && last.entry === "journal") {
      out.exited = true;
      out.exitCode = last.code ?? "";
      out.exitStatus = last.status ?? 0;
      out.exitStatusName = last.statusName ?? "";
      out.exitSignal = last.signal ?? "";
      lastExitMs = ms(last.time);
      for (const e of exits.slice(-3)) cite.exit.push(refOf(e));
    }
  }
  for (const r of journal) {
    // A start before the failures began is the service's normal start, not a restart.
    const afterFailures = ms(r.time) >= firstErrorMs - 1000 || Number.isNaN(ms(r.time));
    if (
      r.entry === "journal" &&
      (r.event === "scheduled_restart" || r.event === "started") &&
      afterFailures
    ) {
      out.restarted = true;
      if (cite.restart.length < 3) cite.restart.push(refOf(r));
    }
    if (r.cause === "oom_kill") {
      out.oomKilled = true;
      cite.oom.push(refOf(r));
    }
  }
  for (const r of recordsOf(set, "systemd", host.name)) {
    if (r.entry === "show" && (r.nRestarts ?? 0) > 0 && inWindow(r.execMainStartTimestamp, window)) {
      out.restarted = true;
      out.restarts = Math.max(out.restarts, r.nRestarts ?? 0);
      cite.restart.push(refOf(r));
      if (r.result === "oom-kill") {
        out.oomKilled = true;
        cite.oom.push(refOf(r));
      }
    }
  }

  const lives = supervisedLives(set, host.name, programOf(set.bundle, host.name, ep), window);
  out.supervisor = lives.supervisor;
  if (lives.supervisor !== "systemd" && lives.supervisor !== "") {
    lastExitMs = fromSupervisor(out, lives, firstErrorMs, window, cite, lastExitMs);
  }
  const coreResult = journal.some((r) => r.result === "core-dump");
  if (coreResult || [...lives.exits].some((e) => e.code === "dumped")) out.coreDumped = true;
  if (coreResult && !out.exited) {
    // `Failed with result 'core-dump'` without its exit line: a crash that left a core all the same.
    out.exited = true;
    out.exitCode = "dumped";
    out.restarted = true;
    const r = journal.find((x) => x.result === "core-dump");
    if (r) cite.exit.push(refOf(r));
  }

  // Raw dmesg stamps drift from wall time: kernel lines shortly before the window may be inside it.
  const kernelWindow = {
    since: window.since - KERNEL_CLOCK_SLACK_MS,
    until: window.until + KERNEL_CLOCK_SLACK_MS,
  };
  const kernel = recordsOf(set, "kernel", host.name).filter((r) => inWindow(r.time, kernelWindow));
  const kills = kernel.filter((r) => r.event === "oom_kill");
  const exitMoments = [
    ...exits.map((e) => ({ ms: ms(e.time), signal: exitSignal(e) })),
    ...(lives.supervisor === "systemd"
      ? []
      : lives.exits.map((e) => ({ ms: e.ms, signal: e.signal, ...(e.pid ? { pid: e.pid } : {}) }))),
  ];
  const app = recordsOf(set, "app", host.name).filter((r) => inWindow(r.time, window));
  const picked = pickOomVictim(kills, out, exitMoments, workerKills(app));
  if (picked) {
    const victim = picked.kill;
    out.oomKilled = true;
    out.oomPid = victim.pid ?? 0;
    out.oomComm = victim.comm ?? "";
    out.oomTime = victim.time ?? "";
    // The kernel's own lines first: they name the victim; then the server's line about its worker.
    const summary = kernel.find((r) => r.event === "oom_summary" && r.pid === victim.pid);
    const worker = picked.worker?.record;
    cite.oom.unshift(refOf(victim), ...(summary ? [refOf(summary)] : []), ...(worker ? [refOf(worker)] : []));
    if (worker) out.oomWorker = runtimeOf(worker) ?? worker.signature;
  }
  const segv = kernel.find(
    (r) => r.event === "segfault" && (r.pid === out.pid || explainsExit(r.time, exitMoments, "SEGV", out)),
  );
  if (segv) {
    out.segfault = true;
    out.segfaultObject = segv.object ?? "";
    cite.segfault.push(refOf(segv));
  }
  if (out.exitSignal === "SEGV") out.segfault = true;

  const stack = [...app].reverse().find((r) => CRASH_STACKS.has(r.signature));
  if (stack) {
    out.crashed = true;
    out.crashSignature = stack.signature;
    out.crashSummary = stack.summary ?? "";
    out.crashFrames = topFrames(stack);
    cite.crash.push(refOf(stack));
  }
  for (const r of app) {
    if (r.cause === "worker_timeout") {
      out.workerTimeout = true;
      if (cite.worker.length < 3) cite.worker.push(refOf(r));
    }
    if (r.cause === "pool_exhausted") {
      out.poolExhausted = true;
      if (cite.worker.length < 3) cite.worker.push(refOf(r));
    }
    if (r.cause === "segfault") {
      out.segfault = true;
      cite.segfault.push(refOf(r));
    }
  }
  // Lines of the process running now were written after the exit, whatever their stamps say.
  const before = out.restarted && out.pid > 0 ? app.filter((r) => r.pid !== out.pid) : app;
  const fatal = lastLineBefore(before, lastExitMs);
  if (fatal) {
    out.fatalLine = fatal.text;
    cite.fatal.push(refOf(fatal));
  }
  lifeFacts(out, lives, app, cite);
  Object.assign(out, analyseRuntime(set, host.name, app, cite));
  return out;
}
