import { spawn } from "node:child_process";
import { OutputCap } from "./output-cap.js";
import { shellInput } from "./shell-input.js";
import { type ExecOptions, type ExecResult, type Transport, TransportError } from "./transport.js";

export interface LocalTransportOptions {
  /** name used in results and messages; default "local" */
  name?: string;
  /** shell to run; default /bin/sh */
  shell?: string;
  /** clock for durations, in ms */
  now?: () => number;
}

/**
 * Runs scripts on this machine exactly as the SSH transport does on a host: `sh -s` reading
 * `shellInput()` from stdin, under the same timeout and byte cap. Each script runs in its own process
 * group, so a timeout or the cap kills everything it started.
 */
export class LocalTransport implements Transport {
  readonly host: string;
  private readonly shell: string;
  private readonly now: () => number;
  private readonly running = new Set<number>();
  private closed = false;

  constructor(opts: LocalTransportOptions = {}) {
    this.host = opts.name ?? "local";
    this.shell = opts.shell ?? "/bin/sh";
    this.now = opts.now ?? Date.now;
  }

  exec(script: string, opts: ExecOptions): Promise<ExecResult> {
    if (this.closed) {
      return Promise.reject(
        new TransportError("error", this.host, `The local transport ${this.host} is closed.`),
      );
    }
    const started = this.now();
    const cap = new OutputCap(opts.maxBytes);
    return new Promise((resolve, reject) => {
      const child = spawn(this.shell, ["-s"], { detached: true, stdio: ["pipe", "pipe", "pipe"] });
      const pid = child.pid;
      if (pid !== undefined) this.running.add(pid);
      let settled = false;
      const result = (exitCode: number | null, signal: string | null): ExecResult => {
        const r: ExecResult = {
          ...cap.text(),
          exitCode,
          durationMs: this.now() - started,
          truncated: cap.truncated,
        };
        if (signal) r.signal = signal;
        return r;
      };
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn();
      };
      const kill = () => {
        if (pid !== undefined) killGroup(pid);
        child.stdin.destroy();
      };
      const timer = setTimeout(
        () =>
          settle(() => {
            kill();
            const msg = `The command on ${this.host} did not finish within ${opts.timeoutMs} ms and was killed (${cap.byteCount} bytes read).`;
            reject(new TransportError("timeout", this.host, msg, { partial: result(null, null) }));
          }),
        opts.timeoutMs,
      );
      const onData = (stream: "stdout" | "stderr") => (chunk: Buffer) => {
        if (settled || cap.add(stream, chunk)) return;
        settle(() => {
          kill();
          resolve(result(null, null));
        });
      };
      child.stdout.on("data", onData("stdout"));
      child.stderr.on("data", onData("stderr"));
      child.stdin.on("error", () => {});
      child.once("error", (e) =>
        settle(() =>
          reject(new TransportError("error", this.host, `Could not run ${this.shell}: ${e.message}.`)),
        ),
      );
      // As sshd does when the shell exits: close its stdin, so the watchdog ends anything left behind.
      child.once("exit", () => child.stdin.destroy());
      child.once("close", (code, signal) => {
        if (pid !== undefined) this.running.delete(pid);
        settle(() => resolve(result(code, signal)));
      });
      // stdin stays open while the script runs: its EOF makes the watchdog kill the script.
      child.stdin.write(shellInput(script, opts.stdin));
    });
  }

  /** Kills whatever is still running. */
  async close(): Promise<void> {
    this.closed = true;
    for (const pid of this.running) killGroup(pid);
    this.running.clear();
  }
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // already gone
  }
}
