import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type AppRecord, AppRecord as AppRecordSchema, appParser } from "./app.js";
import { parseText } from "./run.js";

const fixture = (name: string): string =>
  readFileSync(new URL(`./__fixtures__/app/${name}`, import.meta.url), "utf8");

const parse = (name: string) => {
  const result = parseText(appParser, fixture(name), {
    host: "backend-1",
    source: "/var/log/app.log",
    utcOffsetMinutes: 0,
    now: "2026-12-01T12:00:00.000Z",
  });
  for (const r of result.records) expect(AppRecordSchema.safeParse(r).success).toBe(true);
  expect(result.unreadable).toEqual([]);
  return result.records;
};

const withCause = (records: AppRecord[]) => records.filter((r) => r.cause !== undefined);

describe("runtimes that end their own processes (scripts/capture/runtime-limits.sh)", () => {
  it("gunicorn 20.1: three requests queued behind one sync worker, each killed at the 2 s timeout", () => {
    const records = parse("gunicorn-timeout-queued.txt");
    const timeouts = records.filter((r) => r.cause === "worker_timeout");
    expect(timeouts.map((r) => [r.line, r.pid, r.workerPid, r.level, r.time])).toEqual([
      [5, 29666, 29678, "critical", "2026-12-01T10:10:37.000Z"],
      [8, 29666, 29756, "critical", "2026-12-01T10:10:40.000Z"],
      [11, 29666, 29817, "critical", "2026-12-01T10:10:42.000Z"],
    ]);
    // Each timed-out worker is replaced; the master (29666) lives on.
    expect(records.filter((r) => /^Booting worker/.test(r.message ?? "")).map((r) => r.workerPid)).toEqual([
      29678, 29756, 29817, 29943,
    ]);
  });

  it("gunicorn 20.1: a worker OOM-killed by the kernel is `terminated due to signal 9`", () => {
    const killed = withCause(parse("gunicorn-oom.txt")).filter((r) => r.cause !== "restart");
    expect(killed).toEqual([
      expect.objectContaining({ line: 5, cause: "service_killed", pid: 29961, workerPid: 30350, signal: 9 }),
    ]);
  });

  it("php-fpm 8.2: request_terminate_timeout names the request's run time; then SIGTERM, and a SIGKILL", () => {
    const records = parse("php-fpm-limits.txt");
    expect(records[3]).toMatchObject({
      cause: "worker_timeout",
      pool: "www",
      workerPid: 30582,
      elapsedSeconds: 2.560309,
      level: "warn",
      time: "2026-12-01T10:10:49.000Z",
    });
    expect(records[4]).toMatchObject({ workerPid: 30582, signal: 15 });
    expect(records[6]).toMatchObject({ cause: "service_killed", workerPid: 30583, signal: 9 });
  });

  it("JVM -XX:+ExitOnOutOfMemoryError: one record with HotSpot's exit code 3", () => {
    expect(withCause(parse("java-heap-exit.txt"))).toEqual([
      expect.objectContaining({
        line: 2,
        signature: "java_oom",
        summary: "java.lang.OutOfMemoryError: Java heap space",
        exitCode: 3,
      }),
    ]);
  });

  it("JVM -XX:+HeapDumpOnOutOfMemoryError: the JVM's own OOM line, no exit (it kept running)", () => {
    const [oom, ...rest] = withCause(parse("java-heap-dump.txt"));
    expect(rest).toEqual([]);
    expect(oom).toMatchObject({ line: 2, signature: "java_oom", errorType: "java.lang.OutOfMemoryError" });
    expect(oom?.exitCode).toBeUndefined();
  });

  it("JVM with neither flag: an OutOfMemoryError in an HTTP handler can leave no line at all", () => {
    expect(withCause(parse("java-heap-silent.txt"))).toEqual([]);
  });

  it("Node 20 at --max-old-space-size: the heap OOM report with V8's abort (SIGABRT)", () => {
    const oom = withCause(parse("node-heap-server.txt"));
    expect(oom).toEqual([
      expect.objectContaining({
        signature: "node_heap_oom",
        summary: "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
        pid: 31794,
        signal: 6,
      }),
    ]);
  });
});
