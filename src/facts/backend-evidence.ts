import type { CommandOutput, HostBundle } from "../bundle/schema.js";
import type { AppRecord } from "../evidence/app.js";
import type { KernelRecord } from "../evidence/kernel.js";
import type { SystemdRecord } from "../evidence/systemd.js";
import type { BackendFacts } from "./backend.js";
import type { EvidenceRef } from "./evidence-set.js";
import { ms } from "./window.js";

/**
 * How far (ms) a kernel OOM kill or segfault and the exit it caused may seem apart: the kernel kills at once
 * and the service manager logs the exit at once, so only clock error separates them.
 */
const EXIT_CLOCK_ERROR_MS = 1_000;
/**
 * How far (ms) a kernel OOM kill and the worker server's line about that worker may seem apart: the master
 * notices the death at once, but raw dmesg stamps drift from wall time by up to a couple of seconds.
 */
const WORKER_NOTICE_MS = 3_000;

/** A worker that its server (gunicorn, uWSGI, php-fpm) says died of SIGKILL, while the server itself ran on. */
export interface WorkerKill {
  ms: number;
  pid: number;
  record: AppRecord;
}

/** The worker deaths by signal 9 that the server's own log reports, oldest first. */
export function workerKills(app: AppRecord[]): WorkerKill[] {
  return app.flatMap((r) =>
    r.signal === 9 && r.workerPid !== undefined && r.workerPid > 0
      ? [{ ms: ms(r.time), pid: r.workerPid, record: r }]
      : [],
  );
}

// Small readers of one backend's evidence that analyseBackend asks: who supervises it, how it ended, what
// the kernel or its own log said last.

/** The supervisor a parent process's command line names, or "". */
export function supervisorOf(args: string): string {
  if (/\bsupervisord\b/.test(args)) return "supervisord";
  if (/^PM2 v[\d.]+: God Daemon|\bpm2\b.*\bDaemon\b|^PM2 v/.test(args)) return "pm2";
  if (/containerd-shim|docker-containerd|\bconmon\b/.test(args)) return "docker";
  if (/(^|\/)systemd( |$)/.test(args)) return "systemd";
  return "";
}

/** Evidence of absence: the command ran and its output lacks what was looked for. */
export function absence(
  parsed: { host: HostBundle; command: CommandOutput } | undefined,
  what: string,
): EvidenceRef {
  return {
    host: parsed?.host.name ?? "",
    source: parsed?.command.source ?? "",
    line: 0,
    text: `(${what}, per \`${parsed?.command.source ?? "?"}\`)`,
  };
}

/** The signal that ended a process, from a journal exit line (`code=killed, status=9/KILL` -> KILL). */
export function exitSignal(e: SystemdRecord): string {
  if (e.entry !== "journal" || (e.code !== "killed" && e.code !== "dumped")) return "";
  return e.signal ?? e.statusName ?? "";
}

/**
 * Whether a kernel event at `time` explains how the backend's process ended: it fell within a few seconds of
 * an exit by `signal` (an exit with another status was not this), or, with no exit recorded at all, of the
 * start of the process running now.
 */
export function explainsExit(
  time: string | undefined,
  exits: { ms: number; signal: string }[],
  signal: string,
  out: BackendFacts,
): boolean {
  const t = ms(time);
  if (Number.isNaN(t)) return false;
  // Exits and starts are stamped in whole seconds: the event falls in that second, give or take clock error.
  const sameSecond = (stamp: number) =>
    t >= stamp - EXIT_CLOCK_ERROR_MS && t <= stamp + 1000 + EXIT_CLOCK_ERROR_MS;
  if (exits.length > 0) return exits.some((e) => e.signal === signal && sameSecond(e.ms));
  const started = ms(out.startedAt);
  return out.restarted && !Number.isNaN(started) && sameSecond(started);
}

/**
 * The kernel OOM kill that ended this backend's process: one naming the pid it runs as, else one that explains
 * a SIGKILL exit of it, else one of a worker its server says died of signal 9 at that moment. A kill of
 * another process on the host, or next to an exit with another status, is not.
 */
export function pickOomVictim(
  kills: KernelRecord[],
  out: BackendFacts,
  exits: { ms: number; signal: string; pid?: number }[],
  workers: WorkerKill[] = [],
): { kill: KernelRecord; worker?: WorkerKill } | undefined {
  // The pid it runs as, or the pid of a life a supervisor saw end by SIGKILL (supervisord names each life's pid).
  const pids = new Set([out.pid, ...exits.filter((e) => e.signal === "KILL").map((e) => e.pid ?? 0)]);
  const byPid = kills.find((k) => k.pid !== undefined && k.pid !== 0 && pids.has(k.pid));
  if (byPid) return { kill: byPid };
  // A worker's pid is its own, and pids are reused: the kill must also fall when the server saw the death.
  for (const kill of [...kills].reverse()) {
    const t = ms(kill.time);
    const worker = workers.find(
      (w) => w.pid === kill.pid && !Number.isNaN(t) && Math.abs(t - w.ms) <= WORKER_NOTICE_MS + 1000,
    );
    if (worker) return { kill, worker };
  }
  const byTime = [...kills].reverse().find((k) => explainsExit(k.time, exits, "KILL", out));
  return byTime ? { kill: byTime } : undefined;
}

export function topFrames(r: AppRecord): string[] {
  return (r.frames ?? []).slice(0, 5).map((f) => {
    if (f.raw !== undefined) return f.raw;
    const where = f.file ? ` (${f.file}${f.line !== undefined ? `:${f.line}` : ""})` : "";
    return `${f.fn ?? "?"}${where}`;
  });
}

/**
 * The program's own last words before the exit (the "hidden exit" message): the last line flagged as a fatal
 * candidate within a minute before the exit, else the last stamped line. Log order decides, because stamps
 * often have only second precision.
 */
export function lastLineBefore(app: AppRecord[], exitMs: number): AppRecord | undefined {
  if (Number.isNaN(exitMs)) return undefined;
  const before = app.filter((r) => {
    if (r.signature !== "log_line" && r.signature !== "logrus") return false;
    const t = ms(r.time);
    return !Number.isNaN(t) && t <= exitMs + 1000 && exitMs - t <= 60_000;
  });
  const fatal = before.filter((r) => r.fatalCandidate === true || r.cause === "log_fatal");
  return (fatal.length > 0 ? fatal : before).at(-1);
}
