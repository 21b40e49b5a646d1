import { z } from "zod";
import type { CauseId } from "./types.js";

/**
 * What a process supervisor says about the lives of the process it runs, whichever supervisor it is
 * (supervisord, PM2, Docker): the fields its records share, so the facts layer reads them the same way.
 */
export const LifecycleEvent = z.enum([
  /** A process was started (supervisord `spawned:`, PM2 `starting in -fork mode-`). */
  "spawned",
  /** It came up and stayed up (supervisord `success: ... RUNNING`, PM2 `online`). */
  "running",
  /** It ended, with an exit code or a signal. */
  "exited",
  /** It was stopped on purpose (supervisorctl stop, shutdown). */
  "stopped",
  /** The supervisor stopped restarting it (supervisord FATAL, PM2 `errored`). */
  "gave_up",
  /** The supervisor could not even start it (supervisord `spawnerr:`). */
  "spawn_error",
  /** A snapshot of the program now: state, pid, last start and exit, restart count. */
  "status",
  "other",
]);
export type LifecycleEvent = z.infer<typeof LifecycleEvent>;

export const LifecycleFields = {
  event: LifecycleEvent,
  /** The supervisor's name for the program: supervisord program, PM2 app, container name. */
  program: z.string().optional(),
  pid: z.number().int().nonnegative().optional(),
  exitCode: z.number().int().optional(),
  /** Signal name without `SIG` (`KILL`, `SEGV`) when the process died of one. */
  signal: z.string().optional(),
  /** The kernel wrote a core for it. */
  coreDumped: z.boolean().optional(),
  /** The supervisor expected the exit (supervisord `expected`, an exit code in its list). */
  expected: z.boolean().optional(),
  oomKilled: z.boolean().optional(),
  /** The supervisor's state word: RUNNING, BACKOFF, FATAL, online, errored, restarting, exited... */
  state: z.string().optional(),
  /** Restarts the supervisor counted (PM2 `restart_time`, Docker `RestartCount`). */
  restarts: z.number().int().nonnegative().optional(),
  /** Start of the current (or last) life, UTC ISO. */
  startedAt: z.string().optional(),
  /** End of the last life, UTC ISO. */
  finishedAt: z.string().optional(),
  /** The supervisor's own words after its prefix. */
  message: z.string().optional(),
};

/** Signals of a crash in native code (a bad address, a bus error, an illegal instruction, arithmetic). */
export const CRASH_SIGNALS: ReadonlySet<string> = new Set(["SEGV", "BUS", "ILL", "FPE"]);

/** Linux's signal names by number, without `SIG` (index 0: none), up to TERM. */
export const SIGNALS: readonly string[] = [
  "",
  "HUP",
  "INT",
  "QUIT",
  "ILL",
  "TRAP",
  "ABRT",
  "BUS",
  "FPE",
  "KILL",
  "USR1",
  "SEGV",
  "USR2",
  "PIPE",
  "ALRM",
  "TERM",
];

/** The signal a process died of, from the exit code 128+N that Docker (and a shell) reports for it. */
export function signalOfExitCode(code: number): string | undefined {
  return code > 128 && code < 160 ? SIGNALS[code - 128] || undefined : undefined;
}

/** What an exit or a give-up points to, as the systemd parser says it. */
export function lifecycleCause(f: {
  event: LifecycleEvent;
  exitCode?: number | undefined;
  signal?: string | undefined;
  oomKilled?: boolean | undefined;
  expected?: boolean | undefined;
}): CauseId | undefined {
  if (f.oomKilled) return "oom_kill";
  if (f.event === "gave_up" || f.event === "spawn_error") return "service_exit";
  if (f.event === "spawned") return "restart";
  if (f.event !== "exited") return undefined;
  if (f.signal !== undefined) return CRASH_SIGNALS.has(f.signal) ? "segfault" : "service_killed";
  if (f.expected === true) return undefined;
  return f.exitCode !== undefined && f.exitCode !== 0 ? "service_exit" : undefined;
}
