import { parentPort, workerData } from "node:worker_threads";
import type { Bundle } from "../bundle/schema.js";
import { diagnoseBundle } from "../diagnosis/diagnose.js";
import { loadPlaybook } from "../playbook/loader.js";

// The worker thread of workerDiagnoser: the pure pipeline, away from the server's event loop.
const playbook = loadPlaybook((workerData as { playbookPath: string }).playbookPath);
parentPort?.on("message", (m: { id: number; bundle: Bundle }) => {
  try {
    parentPort?.postMessage({ id: m.id, diagnosis: diagnoseBundle(m.bundle, playbook) });
  } catch (e) {
    parentPort?.postMessage({ id: m.id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  }
});
