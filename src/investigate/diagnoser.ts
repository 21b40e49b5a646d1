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
export function workerDiagnoser(playbookPath: string, redact: readonly string[] = []): WorkerDiagnoser {
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
    const w = new Worker(workerFile, { workerData: { playbookPath, redact: [...redact] } });
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
    w.on("error", (e) => failAll(e));
    w.on("exit", (code) => {
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
        waiting.set(id, { resolve, reject });
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
