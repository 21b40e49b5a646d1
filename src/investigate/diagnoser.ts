import { Worker } from "node:worker_threads";
import type { Bundle } from "../bundle/schema.js";
import { diagnoseBundle } from "../diagnosis/diagnose.js";
import { redactPatterns } from "../diagnosis/mask.js";
import type { Diagnosis } from "../diagnosis/types.js";
import { loadPlaybook } from "../playbook/loader.js";
import type { Diagnoser } from "./investigate.js";

/** Diagnose on the calling thread: right for the CLI, which has nothing else to do meanwhile. */
export function inProcessDiagnoser(playbookPath: string, redact: readonly string[] = []): Diagnoser {
  const playbook = loadPlaybook(playbookPath);
  const patterns = redactPatterns({ redact: { patterns: redact } });
  return async (bundle: Bundle) => diagnoseBundle(bundle, playbook, { redact: patterns });
}

/** What one diagnosis on the worker may cost before the worker is stopped (a costly playbook or bundle). */
export interface DiagnosisBudget {
  /** wall time per diagnosis; default 60 s */
  ms: number;
  /** the worker's JavaScript heap; default 1,536 MB */
  heapMb: number;
}
const DEFAULT_BUDGET: DiagnosisBudget = { ms: 60_000, heapMb: 1536 };

export interface WorkerDiagnoser {
  diagnose: Diagnoser;
  close(): Promise<void>;
}

type Reply = { id: number; diagnosis: Diagnosis; archive: Uint8Array } | { id: number; error: string };
type Diagnosed = { diagnosis: Diagnosis; archive: Buffer };

/**
 * Diagnose on a worker thread, so that parsing a large bundle never stalls the server's event loop (the
 * slash-command ack must not wait for it). One long-lived worker; requests are answered by id. Running
 * from TypeScript sources (tests), there is no compiled worker file: diagnose in process instead.
 */
export function workerDiagnoser(
  playbookPath: string,
  redact: readonly string[] = [],
  budget: Partial<DiagnosisBudget> = {},
): WorkerDiagnoser {
  const limit = { ...DEFAULT_BUDGET, ...budget };
  const workerFile = new URL("./diagnose-worker.js", import.meta.url);
  if (import.meta.url.endsWith(".ts")) {
    const local = inProcessDiagnoser(playbookPath, redact);
    return { diagnose: local, close: async () => {} };
  }
  // Load once on this thread too: a bad playbook fails at start-up, not at the first diagnosis.
  loadPlaybook(playbookPath);
  let worker: Worker | undefined;
  let next = 1;
  const waiting = new Map<number, { resolve: (d: Diagnosed) => void; reject: (e: Error) => void }>();
  const failAll = (e: Error) => {
    for (const w of waiting.values()) w.reject(e);
    waiting.clear();
    worker = undefined;
  };
  const start = (): Worker => {
    const w = new Worker(workerFile, {
      workerData: { playbookPath, redact: [...redact] },
      resourceLimits: { maxOldGenerationSizeMb: limit.heapMb },
    });
    w.unref();
    w.on("message", (m: Reply) => {
      const p = waiting.get(m.id);
      if (!p) return;
      waiting.delete(m.id);
      if ("error" in m) p.reject(new Error(m.error));
      else
        p.resolve({
          diagnosis: m.diagnosis,
          archive: Buffer.from(m.archive.buffer, m.archive.byteOffset, m.archive.byteLength),
        });
    });
    w.on("error", (e) => {
      if (worker !== w) return;
      failAll(
        (e as NodeJS.ErrnoException).code === "ERR_WORKER_OUT_OF_MEMORY"
          ? new Error(
              `the diagnosis needed more than ${limit.heapMb} MB and was stopped (a playbook expression or the evidence is too costly)`,
            )
          : e,
      );
    });
    w.on("exit", (code) => {
      // A worker stopped over its budget has already failed its requests; a new one may be running.
      if (worker !== w) return;
      if (waiting.size > 0) failAll(new Error(`the diagnosis worker exited with code ${code}`));
      worker = undefined;
    });
    return w;
  };
  return {
    diagnose(bundle) {
      worker ??= start();
      const id = next++;
      const w = worker;
      return new Promise<Diagnosed>((resolve, reject) => {
        // Over its time budget the worker is stopped (CEL cannot be interrupted otherwise); the next
        // diagnosis starts a new one.
        const timer = setTimeout(() => {
          if (!waiting.has(id)) return;
          failAll(
            new Error(
              `the diagnosis took longer than ${limit.ms < 1000 ? `${limit.ms} ms` : `${Math.round(limit.ms / 1000)} s`} and was stopped (a playbook expression or the evidence is too costly)`,
            ),
          );
          void w.terminate();
        }, limit.ms);
        timer.unref();
        const done = () => clearTimeout(timer);
        waiting.set(id, {
          resolve: (d) => {
            done();
            resolve(d);
          },
          reject: (e) => {
            done();
            reject(e);
          },
        });
        w.postMessage({ id, bundle });
      });
    },
    async close() {
      const w = worker;
      worker = undefined;
      await w?.terminate();
    },
  };
}
