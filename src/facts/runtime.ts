import type { AppRecord } from "../evidence/app.js";
import { type RuntimeSetting, runtimeSettings } from "../evidence/runtime-args.js";
import type { Citations } from "./derive.js";
import { type EvidenceSet, refOf } from "./evidence-set.js";
import type { TargetFacts } from "./schema.js";

export type RuntimeFacts = Pick<
  TargetFacts,
  "runtime" | "runtimeSetting" | "runtimeLimit" | "workerTimeouts" | "heapExhausted"
>;

export const NO_RUNTIME: RuntimeFacts = {
  runtime: "",
  runtimeSetting: "",
  runtimeLimit: 0,
  workerTimeouts: 0,
  heapExhausted: false,
};

/** Who writes which worker and heap lines, as the verdicts name it. */
const RUNTIME_OF: Partial<Record<AppRecord["signature"], RuntimeSetting["runtime"] | "php-fpm">> = {
  gunicorn: "gunicorn",
  uwsgi: "uWSGI",
  php_fpm: "php-fpm",
  java_oom: "JVM",
  node_heap_oom: "Node.js",
};

/** An OutOfMemoryError of the Java heap itself (not metaspace, native threads or direct buffers). */
const JAVA_HEAP = /Java heap space|GC overhead limit exceeded/;

/** The runtime or worker server that wrote a record, as the verdicts name it. */
export function runtimeOf(r: AppRecord): string | undefined {
  return RUNTIME_OF[r.signature];
}

function isHeapExhaustion(r: AppRecord): boolean {
  if (r.signature === "node_heap_oom") return true;
  return r.signature === "java_oom" && JAVA_HEAP.test(r.summary ?? r.text);
}

/**
 * What the backend's runtime says about ending its own processes: workers it killed for their timeout (gunicorn,
 * uWSGI, php-fpm), a heap it ran out of (JVM, Node), and the limit its command line names for either. Those
 * lines name the cause that nginx's durations only hint at: requests queued behind a busy worker fail long
 * after the worker's own timeout. `app` is the host's app records in the window. Pure.
 */
export function analyseRuntime(
  set: EvidenceSet,
  hostName: string,
  app: AppRecord[],
  cite: Citations,
): RuntimeFacts {
  const out: RuntimeFacts = { ...NO_RUNTIME };
  const timeouts = app.filter((r) => r.cause === "worker_timeout");
  // gunicorn writes WORKER TIMEOUT, and newer versions also the SIGABRT that follows it, for one worker.
  const workers = new Set(timeouts.map((r, i) => (r.workerPid === undefined ? `#${i}` : `${r.workerPid}`)));
  out.workerTimeouts = workers.size;
  const heap = app.filter(isHeapExhaustion).at(-1);
  out.heapExhausted = heap !== undefined;
  if (heap) cite.limit.push(refOf(heap));

  const about = heap ?? timeouts.at(-1);
  const runtime = about === undefined ? undefined : RUNTIME_OF[about.signature];
  if (runtime === undefined) return out;
  out.runtime = runtime;
  const kind: RuntimeSetting["kind"] = heap ? "heap" : "worker_timeout";
  if (runtime === "php-fpm") {
    // The pool's request_terminate_timeout is in its config file, not on a command line.
    out.runtimeSetting = "request_terminate_timeout";
    return out;
  }
  const procs = set.byKind.ps
    .filter((p) => p.host.name === hostName && p.command.id !== "ps-parent")
    .flatMap((p) => p.records);
  for (const proc of procs) {
    const setting = runtimeSettings(proc.args).find((s) => s.runtime === runtime && s.kind === kind);
    if (!setting) continue;
    out.runtimeSetting = setting.setting;
    out.runtimeLimit = setting.value;
    cite.limit.push(refOf(proc));
    break;
  }
  return out;
}
