import { parentPort, workerData } from "node:worker_threads";
import { gzipSync } from "node:zlib";
import type { Bundle } from "../bundle/schema.js";
import { diagnoseBundle } from "../diagnosis/diagnose.js";
import { redactPatterns } from "../diagnosis/mask.js";
import { maskBundle } from "../diagnosis/mask-bundle.js";
import { loadPlaybook } from "../playbook/loader.js";

// The worker thread of workerDiagnoser: the pure pipeline, and the masking and compression of the bundle
// for the store, away from the server's event loop (a 7 MB bundle costs a few hundred ms of CPU).
const data = workerData as { playbookPath: string; redact?: string[] };
const playbook = loadPlaybook(data.playbookPath);
const redact = redactPatterns({ redact: { patterns: data.redact ?? [] } });
parentPort?.on("message", (m: { id: number; bundle: Bundle }) => {
  try {
    const diagnosis = diagnoseBundle(m.bundle, playbook, { redact });
    const archive = gzipSync(JSON.stringify(maskBundle(m.bundle, redact).bundle));
    const bytes = new Uint8Array(archive.buffer, archive.byteOffset, archive.byteLength);
    parentPort?.postMessage({ id: m.id, diagnosis, archive: bytes }, [bytes.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort?.postMessage({ id: m.id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  }
});
