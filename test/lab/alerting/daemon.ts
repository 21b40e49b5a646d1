import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { alive, signal, terminate } from "../procs.js";
import { waitUntil } from "../wait.js";

export interface DaemonOptions {
  /** for messages, e.g. "prometheus" */
  name: string;
  binary: string;
  args: string[];
  /** the daemon's stdout and stderr are appended here */
  logPath: string;
  cwd: string;
  /** resolves to true once the daemon answers as ready (its own API); undefined: not yet */
  ready: () => Promise<true | undefined>;
  readyTimeoutMs?: number;
}

export interface Daemon {
  name: string;
  pid: number;
  logPath: string;
  /** SIGTERM, SIGKILL after a grace period; resolves once the process has exited. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL at once, for a synchronous exit handler */
  killNow(): void;
}

/** The last lines of a daemon's log, for an error message. */
export function logTail(path: string, lines = 15): string {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/** Spawns a long-running program as our child and resolves once its own API says it is ready. */
export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  const out = openSync(opts.logPath, "a");
  let child: ChildProcess;
  try {
    child = spawn(opts.binary, opts.args, { cwd: opts.cwd, stdio: ["ignore", out, out] });
  } finally {
    closeSync(out);
  }
  const pid = child.pid;
  if (pid === undefined) {
    await new Promise((resolve) => child.once("error", resolve));
    throw new Error(`could not spawn ${opts.binary}`);
  }
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });

  let stopping: Promise<void> | undefined;
  const daemon: Daemon = {
    name: opts.name,
    pid,
    logPath: opts.logPath,
    stop: () => {
      stopping ??= (async () => {
        if (alive(pid)) await terminate([pid], "SIGTERM", 5000);
        await exited;
      })();
      return stopping;
    },
    killNow: () => signal(pid, "SIGKILL"),
  };

  try {
    await waitUntil(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(
            `${opts.name} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${logTail(opts.logPath)}`,
          );
        }
        return opts.ready();
      },
      { what: `${opts.name} ready (log: ${opts.logPath})`, timeoutMs: opts.readyTimeoutMs ?? 20_000 },
    );
  } catch (err) {
    await daemon.stop();
    if (err instanceof Error && err.message.startsWith("timed out")) {
      throw new Error(`${err.message}\n${logTail(opts.logPath)}`, { cause: err });
    }
    throw err;
  }
  return daemon;
}
