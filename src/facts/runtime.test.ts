import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { oneBackendBundle } from "../../test/support/backend-bundle.js";
import type { EvidenceKind } from "../evidence/types.js";
import { emptyCitations } from "./derive.js";
import { parseBundle, recordsOf } from "./evidence-set.js";
import { analyseRuntime, NO_RUNTIME } from "./runtime.js";

const fixture = (dir: string, name: string) =>
  readFileSync(new URL(`../evidence/__fixtures__/${dir}/${name}`, import.meta.url), "utf8");

/** One backend host whose app log and ps are real captured outputs (scripts/capture/runtime-limits.sh). */
function analyse(app: string, ps?: string) {
  const commands: [string, EvidenceKind, string][] = [["app-log", "app", fixture("app", app)]];
  if (ps) commands.push(["ps", "ps", fixture("ps", ps)]);
  const bundle = oneBackendBundle(commands, {
    since: "2026-12-01T10:00:00.000Z",
    until: "2026-12-01T10:12:00.000Z",
  });
  const set = parseBundle(bundle);
  const cite = emptyCitations();
  const facts = analyseRuntime(set, "app-1", recordsOf(set, "app", "app-1"), cite);
  return { facts, cite };
}

describe("analyseRuntime on real runtime output", () => {
  it("gunicorn: three timed-out workers and the --timeout its command line names", () => {
    const { facts, cite } = analyse("gunicorn-timeout-queued.txt", "gunicorn-args.txt");
    expect(facts).toEqual({
      runtime: "gunicorn",
      runtimeSetting: "--timeout 2",
      runtimeLimit: 2,
      workerTimeouts: 3,
      heapExhausted: false,
    });
    expect(cite.limit.map((r) => r.text)).toEqual([expect.stringMatching(/^29666 .*--timeout 2 /)]);
  });

  it("gunicorn without its ps: the timeouts, no value", () => {
    expect(analyse("gunicorn-timeout-queued.txt").facts).toMatchObject({
      runtime: "gunicorn",
      runtimeSetting: "",
      runtimeLimit: 0,
      workerTimeouts: 3,
    });
  });

  it("uWSGI: HARAKIRI, and --harakiri from a uWSGI command line (two captures)", () => {
    const { facts } = analyse("uwsgi.txt", "uwsgi-args.txt");
    expect(facts).toEqual({
      ...NO_RUNTIME,
      runtime: "uWSGI",
      runtimeSetting: "--harakiri 2",
      runtimeLimit: 2,
      workerTimeouts: 1,
    });
  });

  it("a worker killed by the kernel is no timeout", () => {
    expect(analyse("gunicorn-oom.txt").facts).toEqual(NO_RUNTIME);
  });

  it("php-fpm: request_terminate_timeout, whose value is in the pool's config", () => {
    expect(analyse("php-fpm-limits.txt").facts).toEqual({
      ...NO_RUNTIME,
      runtime: "php-fpm",
      runtimeSetting: "request_terminate_timeout",
      workerTimeouts: 1,
    });
  });

  it("the JVM's heap: -Xmx from its command line; the OOM line cited first", () => {
    const { facts, cite } = analyse("java-heap-exit.txt", "java-args.txt");
    expect(facts).toEqual({
      ...NO_RUNTIME,
      runtime: "JVM",
      runtimeSetting: "-Xmx32m",
      runtimeLimit: 32,
      heapExhausted: true,
    });
    expect(cite.limit.map((r) => r.text)).toEqual([
      "Terminating due to java.lang.OutOfMemoryError: Java heap space",
      expect.stringMatching(/ java -Xmx32m /),
    ]);
  });

  it("a JVM command line read for a heap names no gunicorn timeout, and the reverse", () => {
    expect(analyse("java-heap-dump.txt", "gunicorn-args.txt").facts).toMatchObject({
      runtime: "JVM",
      runtimeSetting: "",
      heapExhausted: true,
    });
    expect(analyse("gunicorn-timeout-queued.txt", "java-args.txt").facts.runtimeSetting).toBe("");
  });

  it("Node's heap at --max-old-space-size", () => {
    expect(analyse("node-heap-server.txt", "node-args.txt").facts).toEqual({
      ...NO_RUNTIME,
      runtime: "Node.js",
      runtimeSetting: "--max-old-space-size=24",
      runtimeLimit: 24,
      heapExhausted: true,
    });
  });

  it("a crash that is no runtime limit: nothing", () => {
    expect(analyse("go-panic.txt").facts).toEqual(NO_RUNTIME);
  });
});
