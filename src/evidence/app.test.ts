import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type AppRecord, AppRecord as AppRecordSchema, appParser } from "./app.js";
import { parseText } from "./run.js";
import type { ParseContext } from "./types.js";

const fixture = (name: string): string =>
  readFileSync(new URL(`./__fixtures__/app/${name}`, import.meta.url), "utf8");

const parse = (text: string, over: Partial<ParseContext> = {}) =>
  parseText(appParser, text, {
    host: "backend-1",
    source: "/var/log/app.log",
    utcOffsetMinutes: 0,
    now: "2026-11-25T13:00:00.000Z",
    ...over,
  });

const crashes = (records: AppRecord[]) => records.filter((r) => r.signature !== "log_line");
const CRASHERS = "/work/main/scripts/capture/crashers";

describe("appParser on captured crashes", () => {
  it.each([
    ["go-panic.txt", "go_panic", "go_panic", "panic: runtime error: index out of range [1] with length 1"],
    [
      "go-nilptr.txt",
      "go_panic",
      "go_panic",
      "panic: runtime error: invalid memory address or nil pointer dereference",
    ],
    ["go-fatal.txt", "go_fatal", "go_fatal", "fatal error: concurrent map writes"],
    [
      "java-uncaught.txt",
      "java_exception",
      "other",
      "java.lang.IllegalStateException: invalid server.port in application.properties",
    ],
    ["java-oom.txt", "java_oom", "java_oom", "java.lang.OutOfMemoryError: Java heap space"],
    ["java-oom-worker.txt", "java_oom", "java_oom", "java.lang.OutOfMemoryError: Java heap space"],
    ["java-oom-exit.txt", "java_oom", "java_oom", "java.lang.OutOfMemoryError: Java heap space"],
    ["java-oom-crash.txt", "java_oom", "java_oom", "java.lang.OutOfMemoryError: Java heap space"],
    [
      "node-uncaught.txt",
      "node_uncaught",
      "other",
      "TypeError: Cannot read properties of undefined (reading 'id')",
    ],
    ["node-uncaught-cjs.txt", "node_uncaught", "other", "ReferenceError: metricsClient is not defined"],
    [
      "node-heap-oom.txt",
      "node_heap_oom",
      "node_heap_oom",
      "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
    ],
    ["python-traceback.txt", "python_traceback", "python_traceback", "IndexError: list index out of range"],
    [
      "python-chained.txt",
      "python_traceback",
      "python_traceback",
      "RuntimeError: database_url is not configured",
    ],
  ])("%s: one %s record (cause %s)", (name, signature, cause, summary) => {
    const { records, unreadable } = parse(fixture(name));
    expect(unreadable).toEqual([]);
    for (const r of records) expect(AppRecordSchema.safeParse(r).success).toBe(true);
    const found = crashes(records);
    expect(found.map((r) => [r.signature, r.cause, r.summary])).toEqual([[signature, cause, summary]]);
  });

  it("Go panic: goroutine, frames with file and line, time of the log line before it", () => {
    const { records } = parse(fixture("go-panic.txt"));
    expect(records[0]).toMatchObject({ signature: "log_line", time: "2026-11-25T12:28:57.000Z" });
    expect(records[0]?.fatalCandidate).toBeUndefined();
    const panic = records[1];
    expect(panic).toMatchObject({
      line: 2,
      goroutine: 18,
      time: "2026-11-25T12:28:57.000Z",
      timeInherited: true,
      frames: [
        { fn: "main.process(...)", file: `${CRASHERS}/go/panic.go`, line: 9 },
        { fn: "main.main.func1()", file: `${CRASHERS}/go/panic.go`, line: 15 },
      ],
    });
    expect(panic?.text.split("\n")).toHaveLength(9);
    expect(panic?.text.endsWith("panic.go:15 +0x98")).toBe(true);
  });

  it("Go nil dereference: the [signal SIGSEGV ...] line gives signal 11", () => {
    const panic = crashes(parse(fixture("go-nilptr.txt")).records)[0];
    expect(panic).toMatchObject({ signal: 11, goroutine: 1 });
    expect(panic?.frames?.[0]).toEqual({ fn: "main.dsn(...)", file: `${CRASHERS}/go/nilptr.go`, line: 11 });
  });

  it("Go fatal error: every goroutine's dump is one record, frames from the first goroutine", () => {
    const text = fixture("go-fatal.txt");
    const fatal = crashes(parse(text).records)[0];
    expect(fatal?.goroutine).toBe(19);
    expect(fatal?.frames).toEqual([
      { fn: "main.main.func1(0x1)", file: `${CRASHERS}/go/fatal.go`, line: 12 },
    ]);
    expect(fatal?.text).toBe(text.trimEnd().split("\n").slice(1).join("\n"));
  });

  it("Go log.Fatal: the last line is a fatal candidate with a guessed level, in local time", () => {
    const { records } = parse(fixture("go-log-fatal.txt"), { utcOffsetMinutes: -300 });
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({
      signature: "log_line",
      message: "starting checkout on 127.0.0.1:18500",
    });
    expect(records[0]?.fatalCandidate).toBeUndefined();
    expect(records[1]).toMatchObject({
      signature: "log_line",
      level: "error",
      fatalCandidate: true,
      message: "listen tcp 127.0.0.1:18500: bind: address already in use",
      time: "2026-11-25T12:28:57.000Z",
    });
    expect(records[1]?.cause).toBeUndefined();
  });

  it.each(["go-logrus-fatal.txt", "go-logrus-json.txt"])("%s: level=fatal is log_fatal", (name) => {
    const { records } = parse(fixture(name));
    expect(records.map((r) => [r.signature, r.level, r.cause])).toEqual([
      ["logrus", "info", undefined],
      ["logrus", "fatal", "log_fatal"],
    ]);
    expect(records[1]).toMatchObject({
      summary: "cannot connect to database: dial tcp 127.0.0.1:18501: connect: connection refused",
      time: "2026-11-25T12:28:57.000Z",
    });
  });

  it("Java: thread, Caused by chain, frames of the top exception, logback time in local time", () => {
    const text = fixture("java-uncaught.txt");
    const ex = crashes(parse(text, { utcOffsetMinutes: 60 }).records)[0];
    expect(ex).toMatchObject({
      line: 2,
      thread: "main",
      errorType: "java.lang.IllegalStateException",
      causedBy: ['java.lang.NumberFormatException: For input string: "80x"'],
      frames: [
        { fn: "JavaUncaught.parsePort", file: "JavaUncaught.java", line: 15 },
        { fn: "JavaUncaught.main", file: "JavaUncaught.java", line: 21 },
      ],
      time: "2026-11-25T12:28:56.141Z",
    });
    expect(ex?.text.split("\n").at(-1)).toBe("\t... 1 more");
  });

  it("Java OOM in a worker thread names the thread (the JVM kept running)", () => {
    const { records } = parse(fixture("java-oom-worker.txt"));
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ thread: "report-worker-1", errorType: "java.lang.OutOfMemoryError" });
    expect(records[0]?.frames?.[1]).toEqual({
      fn: expect.stringMatching(/^JavaOom\$\$Lambda/),
      file: "Unknown Source",
    });
  });

  it("JVM CrashOnOutOfMemoryError: the abort line and its # banner are one record with the pid", () => {
    const [r] = parse(fixture("java-oom-crash.txt")).records;
    expect(r).toMatchObject({ line: 2, pid: 19149, errorType: "java.lang.OutOfMemoryError" });
    expect(r?.text.split("\n")).toHaveLength(13);
    expect(r?.text).toMatch(
      /# An error report file with more information is saved as:\n# \/tmp\/.*hs_err_pid19149\.log$/,
    );
  });

  it("Node uncaught (ESM and CommonJS): location, source, caret, error, frames, trailer", () => {
    const esm = crashes(parse(fixture("node-uncaught.txt")).records)[0];
    expect(esm).toMatchObject({ line: 3, errorType: "TypeError", time: "2026-11-25T12:28:55.276Z" });
    expect(esm?.frames?.slice(0, 2)).toEqual([
      { fn: "handler", file: `file://${CRASHERS}/node-uncaught.js`, line: 10 },
      { file: `file://${CRASHERS}/node-uncaught.js`, line: 15 },
    ]);
    expect(esm?.text.split("\n").at(-1)).toBe("Node.js v20.20.2");
    const cjs = crashes(parse(fixture("node-uncaught-cjs.txt")).records)[0];
    expect(cjs?.frames?.[0]).toEqual({
      fn: "Timeout.flushMetrics [as _onTimeout]",
      file: `${CRASHERS}/node-uncaught.cjs`,
      line: 6,
    });
  });

  it("Node heap OOM: the GC block, FATAL ERROR and native stack are one record", () => {
    const text = fixture("node-heap-oom.txt");
    const oom = crashes(parse(text).records)[0];
    expect(oom).toMatchObject({ line: 3, pid: 19015, timeInherited: true });
    expect(oom?.frames).toHaveLength(9);
    expect(oom?.frames?.[0]).toEqual({
      fn: "node::OOMErrorHandler(char const*, v8::OOMDetails const&)",
      file: "node",
    });
    expect(oom?.frames?.[3]).toEqual({ raw: "4: 0x10fb205  [node]" });
    expect(oom?.text).toBe(text.trimEnd().split("\n").slice(2).join("\n"));
  });

  it("Python 3.11: frames innermost first, the ~~~^^^ lines kept in the text, logging time is local", () => {
    const tb = crashes(parse(fixture("python-traceback.txt"), { utcOffsetMinutes: 330 }).records)[0];
    expect(tb).toMatchObject({ line: 2, errorType: "IndexError", time: "2026-11-25T12:28:56.386Z" });
    expect(tb?.frames?.map((f) => [f.fn, f.line])).toEqual([
      ["first_item", 12],
      ["handle", 16],
      ["<module>", 30],
    ]);
    expect(tb?.text).toContain("           ~~~~~^^^\nIndexError: list index out of range");
  });

  it("Python chained exceptions are one record: the last exception, with the earlier one as its cause", () => {
    const text = fixture("python-chained.txt");
    const tb = crashes(parse(text).records)[0];
    expect(tb).toMatchObject({ errorType: "RuntimeError", causedBy: ["KeyError: 'database_url'"] });
    expect(tb?.frames?.map((f) => f.fn)).toEqual(["load_config", "<module>"]);
    expect(tb?.text).toBe(text.trimEnd().split("\n").slice(1).join("\n"));
  });
});

describe("appParser on worker servers", () => {
  it("gunicorn 20.1: timeout, SIGKILLed worker, reboots, each line with its zoned time and pids", () => {
    const { records } = parse(fixture("gunicorn.txt"));
    expect(records.map((r) => [r.cause, r.pid, r.workerPid])).toEqual([
      ["restart", 19482, undefined],
      [undefined, 19482, undefined],
      [undefined, 19482, undefined],
      ["restart", 19489, 19489],
      ["worker_timeout", 19482, 19489],
      [undefined, 19489, 19489],
      ["restart", 19512, 19512],
      ["service_killed", 19482, 19512],
      ["restart", 19517, 19517],
      [undefined, 19482, undefined],
      [undefined, 19517, 19517],
      [undefined, 19482, undefined],
    ]);
    expect(records[4]).toMatchObject({ level: "critical", time: "2026-11-25T12:28:59.000Z" });
    expect(records[7]).toMatchObject({ signal: 9, level: "warn" });
  });

  it("uWSGI: banner lines are skipped, HARAKIRI takes its dated prefix, DAMN lines inherit it", () => {
    const { records, unreadable } = parse(fixture("uwsgi.txt"));
    expect(unreadable).toEqual([]);
    expect(records.map((r) => [r.line, r.cause])).toEqual([
      [1, "restart"],
      [36, undefined],
      [37, undefined],
      [38, "worker_timeout"],
      [39, undefined],
      [40, undefined],
      [41, undefined],
      [42, "service_killed"],
      [43, "restart"],
      [44, "service_killed"],
      [45, "restart"],
      [46, undefined],
      [47, undefined],
      [48, undefined],
    ]);
    expect(records[0]?.time).toBe("2026-11-25T12:29:00.000Z");
    expect(records[3]).toMatchObject({ workerId: 1, workerPid: 19525, time: "2026-11-25T12:29:03.000Z" });
    expect(records[3]?.timeInherited).toBeUndefined();
    expect(records[7]).toMatchObject({ workerPid: 19525, signal: 9, timeInherited: true });
    expect(records[8]).toMatchObject({ workerPid: 19616, time: "2026-11-25T12:29:03.000Z" });
  });

  it("php-fpm: a child's SIGSEGV and pm.max_children, in the host's local time", () => {
    const { records } = parse(fixture("php-fpm.txt"), { utcOffsetMinutes: 60 });
    const [segv, exhausted] = records.filter((r) => r.cause === "segfault" || r.cause === "pool_exhausted");
    expect(segv).toMatchObject({
      line: 4,
      pool: "www",
      workerPid: 19665,
      signal: 11,
      level: "warn",
      time: "2026-11-25T12:29:05.000Z",
    });
    expect(exhausted).toMatchObject({ line: 6, pool: "www", time: "2026-11-25T12:29:07.000Z" });
    expect(records[0]).toMatchObject({ cause: "restart", pid: 19660 });
  });
});

describe("appParser on journald output of the app", () => {
  it.each(["journalctl-short.txt", "journalctl-short-iso.txt"])(
    "%s: the journal's time, blank lines gone",
    (name) => {
      const { records, unreadable } = parse(fixture(name));
      expect(unreadable).toEqual([]);
      expect(records.map((r) => [r.line, r.signature, r.time, r.timeInherited])).toEqual([
        [1, "log_line", "2026-11-25T12:29:12.000Z", undefined],
        [2, "go_panic", "2026-11-25T12:29:12.000Z", undefined],
        [10, "log_line", "2026-11-25T12:29:12.000Z", undefined],
        [11, "python_traceback", "2026-11-25T12:29:12.000Z", undefined],
      ]);
      expect(records[1]?.frames?.[0]).toEqual({
        fn: "main.process(...)",
        file: `${CRASHERS}/go/panic.go`,
        line: 9,
      });
      expect(records[3]?.summary).toBe("IndexError: list index out of range");
    },
  );
});

describe("appParser on lines from the reference", () => {
  it("Go: `go run`'s exit status line stays in the panic; fatal error without a blank line; log.Fatal", () => {
    const { records } = parse(fixture("reference-go.txt"));
    expect(records.map((r) => [r.line, r.signature])).toEqual([
      [1, "go_panic"],
      [7, "go_fatal"],
      [9, "log_line"],
    ]);
    expect(records[0]?.frames).toEqual([{ fn: "main.main()", file: "/path/main.go", line: 92 }]);
    expect(records[0]?.text.split("\n").at(-1)).toBe("exit status 2");
    expect(records[1]?.goroutine).toBe(86);
    expect(records[2]).toMatchObject({ fatalCandidate: true, time: "2014-02-25T21:05:15.000Z" });
  });

  it("gunicorn fragments without a stamp are recognised and inherit the time", () => {
    const { records } = parse(fixture("reference-gunicorn.txt"));
    expect(records.map((r) => [r.cause, r.workerPid, r.signal])).toEqual([
      ["worker_timeout", 7214, undefined],
      ["worker_timeout", 7214, 6],
      ["restart", 7310, undefined],
      ["service_killed", 17, 9],
    ]);
    expect(records[3]).toMatchObject({
      level: "error",
      time: "2024-01-09T13:24:39.000Z",
      timeInherited: true,
    });
  });

  it("uWSGI and php-fpm reference lines", () => {
    const uwsgi = parse(fixture("reference-uwsgi.txt")).records;
    expect(uwsgi.map((r) => [r.cause, r.workerId, r.workerPid])).toEqual([
      ["service_killed", 1, 108],
      ["restart", 1, 149],
      ["worker_timeout", 9, 18949],
      [undefined, 1, undefined],
    ]);
    expect(uwsgi[0]?.time).toBeUndefined();
    const fpm = parse(fixture("reference-php-fpm.txt")).records;
    expect(fpm.map((r) => [r.cause, r.pool])).toEqual([
      ["segfault", "X"],
      ["pool_exhausted", "www"],
      ["pool_exhausted", undefined],
    ]);
    expect(fpm[0]?.time).toBe("2018-12-30T15:09:04.000Z");
  });
});

describe("appParser on malformed input", () => {
  it("only binary lines are unreadable; free text is skipped; nothing throws", () => {
    const input = [
      "some free text the app printed",
      "\u0000\u0000\u0001\u0002",
      "caf\uFFFD au lait",
      "2026/13/45 99:99:99 not a real time",
      "[25-Nov-2026 13:29:05] NOTICE",
      "   ",
    ].join("\n");
    const { records, unreadable } = parse(input);
    expect(records).toEqual([]);
    expect(unreadable.map((u) => [u.line, u.reason])).toEqual([
      [2, "binary data (NUL bytes or invalid UTF-8)"],
      [3, "binary data (NUL bytes or invalid UTF-8)"],
    ]);
  });

  it("a report cut off at the end of the input is still a record", () => {
    const lines = fixture("python-traceback.txt").split("\n");
    const { records } = parse(lines.slice(0, 5).join("\n"));
    const tb = crashes(records)[0];
    expect(tb).toMatchObject({
      signature: "python_traceback",
      line: 2,
    });
    expect(tb?.frames?.map((f) => [f.fn, f.line])).toEqual([
      ["handle", 16],
      ["<module>", 30],
    ]);
    expect(tb?.summary).toBeUndefined();
  });

  it("binary garbage inside a report ends it and is reported", () => {
    const lines = fixture("go-panic.txt").split("\n");
    lines.splice(5, 0, "\u0000\u0000garbage");
    const { records, unreadable } = parse(lines.join("\n"));
    expect(unreadable.map((u) => u.line)).toEqual([6]);
    expect(crashes(records)[0]?.text.split("\n")).toHaveLength(4);
  });

  it("a dropped block's lines are read again, also at the end of the input", () => {
    const { records } = parse("/srv/app.js:3\npanic: boom");
    expect(records.map((r) => [r.line, r.signature, r.summary])).toEqual([[2, "go_panic", "panic: boom"]]);
  });

  it("a Java trace without `Exception in thread` (as a logger prints it) has no cause unless it is an OOM", () => {
    const lines = fixture("java-uncaught.txt").trimEnd().split("\n").slice(1);
    lines[0] = (lines[0] ?? "").replace('Exception in thread "main" ', "");
    const [r] = parse(lines.join("\n")).records;
    expect(r).toMatchObject({ signature: "java_exception", errorType: "java.lang.IllegalStateException" });
    expect(r?.cause).toBeUndefined();
    expect(r?.thread).toBeUndefined();
    expect(r?.frames).toHaveLength(2);
  });

  it("a lone location line or exception name is not a crash; the lines after it are read again", () => {
    const input = [
      "/etc/app/config.yml:12",
      "2026/11/25 12:00:00 loaded config",
      "java.lang.IllegalStateException: mentioned in a message",
      "2026/11/25 12:00:01 still running",
    ].join("\n");
    const { records } = parse(input);
    expect(records.map((r) => [r.line, r.signature, r.message])).toEqual([
      [2, "log_line", "loaded config"],
      [4, "log_line", "still running"],
    ]);
  });

  it("takes the pid from a `name[pid]:` tag, so lines of a restarted process can be told apart", () => {
    // Real lines of the lab backend's log (test/lab/backend/app.mjs), from playbooks/cases/lab-crash.
    const input = [
      "2026-11-25T12:44:43.192Z INFO checkout-1[22017]: order cache full after 8 requests, evicting",
      "2026-11-25T12:44:43.560Z INFO checkout-1[22043]: GET /checkout?order=1001 200 0.1ms",
    ].join("\n");
    expect(parse(input).records.map((r) => [r.pid, r.time])).toEqual([
      [22017, "2026-11-25T12:44:43.192Z"],
      [22043, "2026-11-25T12:44:43.560Z"],
    ]);
  });
});
