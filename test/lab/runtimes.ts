// How the lab starts a backend that is not the Node app: the command line its supervisor runs, as an operator
// would write it in a unit file. The limits are on the command line, where `ps` shows them.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { LabRuntime } from "./lab-info.js";
import { SLOW_HANDLER_MS } from "./scenario-plan.js";

const BACKEND_DIR = join(dirname(fileURLToPath(import.meta.url)), "backend");

/** gunicorn's worker timeout (s): shorter than the lab's slow handler (SLOW_HANDLER_MS). */
export const GUNICORN_TIMEOUT_S = 2;
/** The JVM's heap (its process needs about 80 MiB more: scenario-plan.ts gives it a bigger cgroup). */
export const JVM_HEAP = "32m";

export interface RuntimeCommand {
  argv: string[];
  env: Record<string, string>;
}

export interface RuntimeOptions {
  name: string;
  address: string;
  port: number;
  /** the Java program's own arguments (`--fail-after N`: the Nth request exhausts its heap) */
  appArgs: string[];
}

export function runtimeCommand(runtime: Exclude<LabRuntime, "node">, o: RuntimeOptions): RuntimeCommand {
  if (runtime === "gunicorn") {
    return {
      argv: [
        "gunicorn",
        ...["--bind", `${o.address}:${o.port}`, "--workers", "1", "--timeout", String(GUNICORN_TIMEOUT_S)],
        // A stop must not wait 30 s for a worker stuck in a slow request.
        ...["--graceful-timeout", "1", "--chdir", BACKEND_DIR, "lab_wsgi:app"],
      ],
      // No __pycache__ in the repo.
      env: { PYTHONDONTWRITEBYTECODE: "1", WHY502_LAB_HANDLER_MS: String(SLOW_HANDLER_MS) },
    };
  }
  return {
    argv: [
      "java",
      `-Xmx${JVM_HEAP}`,
      "-XX:+ExitOnOutOfMemoryError",
      // Starts faster: the lab's program needs no optimising compiler.
      "-XX:TieredStopAtLevel=1",
      join(BACKEND_DIR, "HeapApp.java"),
      ...["--name", o.name, "--address", o.address, "--port", String(o.port)],
      ...o.appArgs,
    ],
    env: {},
  };
}
