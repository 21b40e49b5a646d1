import type { BackendMode, LabRuntime, LabSupervisor, ScenarioName } from "./lab-info.js";

/** The Nth request to the failing backend triggers its failure (crash, oom). */
export const FAIL_AFTER = 8;
export const WRITE_TIMEOUT_MS = 2000;
export const SLOW_HANDLER_MS = 5000;
export const BACKEND_PORT = 18080;
export const GATEWAY_ADDRESS = "127.0.0.10";
export const GATEWAY_PORT = 18000;
export const SSH_PORT = 2222;
export const UPSTREAM = "checkout";
/** A JVM with a 32m heap needs about 110 MiB in all: its memory cgroup leaves the heap to run out first. */
export const JVM_MEMORY_LIMIT = "256M";

export interface BackendPlan {
  mode: BackendMode;
  appArgs: string[];
  /** default: the systemd stand-in */
  supervisor?: LabSupervisor;
  /** default: the Node app (runtimes.ts) */
  runtime?: LabRuntime;
  /** instead of the lab's memory limit (when it sets one) */
  memoryLimit?: string;
  /** listens on a unix socket in its unit dir, not on the port (socket.ts) */
  socket?: boolean;
  /** the systemd stand-in's Restart=; default "always" */
  restart?: "always" | "no";
}

/** Up to 9 backends live on 127.0.0.11..19; the bench variant (more) on 127.0.0.41..99. */
export function backendAddresses(count: number): string[] {
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`backends must be a positive integer, got ${count}`);
  if (count > 59) throw new Error(`at most 59 backends (127.0.0.41..99), got ${count}`);
  const first = count <= 9 ? 11 : 41;
  return Array.from({ length: count }, (_, i) => `127.0.0.${first + i}`);
}

/** An address in 127.0.0.11..19 where no backend lives: where a stale upstream points. */
export function staleAddress(addresses: string[]): string {
  for (let i = 13; i <= 19; i++) if (!addresses.includes(`127.0.0.${i}`)) return `127.0.0.${i}`;
  for (let i = 11; i < 13; i++) if (!addresses.includes(`127.0.0.${i}`)) return `127.0.0.${i}`;
  throw new Error("no free address in 127.0.0.11..19 for a stale upstream target");
}

/** Backend 1 carries the scenario's failure; the others are healthy replicas. */
export function planBackends(scenario: ScenarioName | undefined, count: number): BackendPlan[] {
  const ok: BackendPlan = { mode: "ok", appArgs: [] };
  const first = ((): BackendPlan => {
    switch (scenario) {
      case "crash":
        return { mode: "crash", appArgs: ["--fail-after", String(FAIL_AFTER)] };
      case "oom":
      case "two-causes":
        return { mode: "oom", appArgs: ["--fail-after", String(FAIL_AFTER)] };
      case "fatal":
        return { mode: "fatal", appArgs: [] };
      case "fatal-supervisord":
        return { mode: "fatal", appArgs: [], supervisor: "supervisord" };
      case "oom-supervisord":
        return { mode: "oom", appArgs: ["--fail-after", String(FAIL_AFTER)], supervisor: "supervisord" };
      // It reads its config at every start: once the config is gone, every start fails.
      case "crash-loop-supervisord":
        return { mode: "fatal", appArgs: ["--config-required"], supervisor: "supervisord" };
      case "crash-loop-pm2":
        return { mode: "fatal", appArgs: ["--config-required"], supervisor: "pm2" };
      case "crash-loop-pidfile":
        return { mode: "fatal", appArgs: ["--config-required"], supervisor: "none" };
      case "write-timeout":
        return {
          mode: "write-timeout",
          appArgs: ["--write-timeout-ms", String(WRITE_TIMEOUT_MS), "--handler-ms", String(SLOW_HANDLER_MS)],
        };
      case "stale-upstream":
      case "healthy":
      case "killed":
      case "segv":
      case "down":
      case "host-down":
      case "abort-core":
      case undefined:
        return ok;
      // One sync worker whose --timeout is shorter than /slow: requests queue behind it and fail one by one.
      case "worker-timeout":
        return { mode: "worker-timeout", appArgs: [], runtime: "gunicorn" };
      // The same gunicorn in the lab's memory cgroup: /leak grows its worker until the kernel kills it.
      case "gunicorn-oom":
        return { mode: "gunicorn-oom", appArgs: [], runtime: "gunicorn" };
      // On a unix socket; the exit is the `fatal` one, and nothing starts it again.
      case "socket-exit":
        return { mode: "fatal", appArgs: [], socket: true, restart: "no" };
      case "socket-crash-restart":
        return { mode: "crash", appArgs: ["--fail-after", String(FAIL_AFTER)], socket: true };
      case "heap-exhausted":
        return {
          mode: "heap",
          appArgs: ["--fail-after", String(FAIL_AFTER)],
          runtime: "jvm",
          memoryLimit: JVM_MEMORY_LIMIT,
        };
    }
  })();
  const rest: BackendPlan =
    scenario === "write-timeout" ? { mode: "ok", appArgs: ["--handler-ms", String(SLOW_HANDLER_MS)] } : ok;
  return Array.from({ length: count }, (_, i) => (i === 0 ? first : rest));
}
