import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseText } from "../run.js";
import type { ParseContext } from "../types.js";
import { type SupervisordRecord, supervisordParser } from "./supervisord.js";

const fixture = (name: string) => readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), "utf8");
const ctx: ParseContext = {
  host: "app-1",
  source: "/var/log/supervisor/supervisord.log",
  utcOffsetMinutes: 0,
  now: "2026-12-01T09:00:00.000Z",
};
const parse = (name: string, extra: Partial<ParseContext> = {}) =>
  parseText(supervisordParser, fixture(name), { ...ctx, ...extra });
const of = (records: SupervisordRecord[], program: string) => records.filter((r) => r.program === program);

describe("supervisordParser on supervisord 4.2.5's real log (scripts/capture/supervisord.sh)", () => {
  const { records, unreadable } = parse("supervisord.log");

  it("reads every line, and each life of the program that cannot start", () => {
    expect(unreadable).toEqual([]);
    expect(records).toHaveLength(37);
    const checkout = of(records, "checkout").map((r) => [r.event, r.pid ?? r.exitCode ?? r.state, r.time]);
    expect(checkout).toEqual([
      ["spawned", 11695, "2026-12-01T08:59:25.160Z"],
      ["exited", 1, "2026-12-01T08:59:25.350Z"],
      ["spawned", 11784, "2026-12-01T08:59:26.468Z"],
      ["exited", 1, "2026-12-01T08:59:26.614Z"],
      ["spawned", 11831, "2026-12-01T08:59:28.689Z"],
      ["exited", 1, "2026-12-01T08:59:28.936Z"],
      ["spawned", 11994, "2026-12-01T08:59:32.078Z"],
      ["exited", 1, "2026-12-01T08:59:32.195Z"],
      ["gave_up", "FATAL", "2026-12-01T08:59:32.381Z"],
    ]);
    expect(of(records, "checkout").filter((r) => r.event === "exited")[0]).toMatchObject({
      expected: false,
      cause: "service_exit",
    });
  });

  it("tells exit statuses from signals, a core dump, a stop and a give-up", () => {
    const pick = (r: SupervisordRecord | undefined) =>
      r && [r.event, r.exitCode, r.signal, r.coreDumped, r.expected, r.cause];
    expect(pick(of(records, "batch").find((r) => r.event === "exited"))).toEqual([
      "exited",
      3,
      undefined,
      undefined,
      false,
      "service_exit",
    ]);
    expect(pick(of(records, "worker").find((r) => r.event === "exited"))).toEqual([
      "exited",
      undefined,
      "KILL",
      undefined,
      false,
      "service_killed",
    ]);
    expect(pick(of(records, "native").find((r) => r.event === "exited"))).toEqual([
      "exited",
      undefined,
      "SEGV",
      true,
      false,
      "segfault",
    ]);
    expect(pick(of(records, "cron").find((r) => r.event === "stopped"))).toEqual([
      "stopped",
      undefined,
      "TERM",
      undefined,
      undefined,
      undefined,
    ]);
    expect(of(records, "typo").map((r) => r.event)).toEqual(["gave_up"]);
    expect(records.filter((r) => r.event === "spawn_error")).toHaveLength(2);
    expect(of(records, "worker").find((r) => r.event === "running")?.startSeconds).toBe(1);
  });

  it("reads the stamps as host local time", () => {
    const cet = parse("supervisord.log", { utcOffsetMinutes: 60 }).records;
    expect(cet[4]?.time).toBe("2026-12-01T07:59:25.158Z");
  });
});

describe("supervisordParser on supervisorctl status", () => {
  it("reads every state, a running program's pid and the start its uptime implies", () => {
    const { records, unreadable } = parse("status-all.txt", { now: "2026-12-01T09:00:00.000Z" });
    expect(unreadable).toEqual([]);
    expect(records.map((r) => [r.program, r.state])).toEqual([
      ["batch", "EXITED"],
      ["checkout", "FATAL"],
      ["cron", "STOPPED"],
      ["native", "RUNNING"],
      ["typo", "FATAL"],
      ["worker", "RUNNING"],
    ]);
    expect(of(records, "worker")[0]).toMatchObject({
      entry: "status",
      pid: 11806,
      uptimeSeconds: 6,
      startedAt: "2026-12-01T08:59:54.000Z",
    });
    expect(of(records, "checkout")[0]).toMatchObject({
      message: "Exited too quickly (process log may have details)",
      cause: "service_exit",
    });
    expect(of(records, "batch")[0]?.finishedAt).toBe("2026-12-01T08:59:00.000Z");
  });

  it("reads STARTING and BACKOFF", () => {
    const starting = parse("status-starting.txt").records;
    expect(starting.map((r) => r.state)).toEqual([
      "STARTING",
      "BACKOFF",
      "STARTING",
      "STARTING",
      "BACKOFF",
      "STARTING",
    ]);
    expect(parse("status-backoff.txt").records[0]?.state).toBe("BACKOFF");
    expect(parse("status-fatal.txt").records[0]?.state).toBe("FATAL");
  });

  it("reports what is neither a log line nor a status line (supervisorctl pid's bare number)", () => {
    const { records, unreadable } = parse("pid-running.txt");
    expect(records).toEqual([]);
    expect(unreadable).toEqual([
      { line: 1, text: "11699", reason: "not a supervisord log or supervisorctl status line" },
    ]);
  });
});
