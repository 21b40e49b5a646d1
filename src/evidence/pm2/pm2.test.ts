import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseText } from "../run.js";
import type { ParseContext } from "../types.js";
import { type Pm2Record, pm2Parser } from "./pm2.js";

const fixture = (name: string) => readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), "utf8");
const ctx: ParseContext = {
  host: "app-1",
  source: "pm2",
  utcOffsetMinutes: 0,
  now: "2026-12-01T09:02:00.000Z",
};
const parse = (name: string, extra: Partial<ParseContext> = {}) =>
  parseText(pm2Parser, fixture(name), { ...ctx, ...extra });
const of = (records: Pm2Record[], program: string) => records.filter((r) => r.program === program);

describe("pm2Parser on PM2 7.0.4's real daemon log (scripts/capture/pm2.sh)", () => {
  const { records, unreadable } = parse("pm2.log");

  it("reads every line: the banner as other lines, each start and exit of the app that cannot start", () => {
    expect(unreadable).toEqual([]);
    const checkout = of(records, "checkout");
    expect(checkout.filter((r) => r.event === "spawned")).toHaveLength(16);
    const exits = checkout.filter((r) => r.event === "exited");
    expect(exits).toHaveLength(16);
    expect(exits.every((r) => r.exitCode === 1 && r.signal === undefined && r.cause === "service_exit")).toBe(
      true,
    );
    expect(records.find((r) => r.event === "gave_up")).toMatchObject({
      execPath: "/work/main/scripts/capture/crashers/start-fatal.js",
      restarts: 16,
      state: "errored",
      cause: "service_exit",
      time: "2026-12-01T09:01:13.000Z",
    });
  });

  it("reads a code-0 exit with another signal as a death by that signal, and SIGINT as PM2's label", () => {
    const exit = (p: string) => of(records, p).find((r) => r.event === "exited");
    expect(exit("worker")).toMatchObject({ signal: "KILL", cause: "service_killed" });
    expect(exit("native")).toMatchObject({ signal: "SEGV", cause: "segfault" });
    expect(exit("cron")).toMatchObject({ exitCode: 0 });
    expect(exit("cron")?.cause).toBeUndefined();
    expect(of(records, "cron").map((r) => r.event)).toEqual(["spawned", "running", "stopped", "exited"]);
  });

  it("reads the stamps as host local time", () => {
    const ist = parse("pm2.log", { utcOffsetMinutes: 330 }).records;
    expect(ist[0]?.time).toBe("2026-12-01T03:31:10.000Z");
  });
});

describe("pm2Parser on pm2 jlist", () => {
  it("reads why502's reduced lines: state, restarts, exit code and the current life's start", () => {
    const errored = parse("jlist-fields-errored.txt");
    expect(errored.unreadable).toEqual([]);
    expect(errored.records).toEqual([
      expect.objectContaining({
        entry: "status",
        program: "checkout",
        state: "errored",
        pmId: 0,
        restarts: 15,
        exitCode: 1,
        startedAt: "2026-12-01T09:01:13.282Z",
        cause: "service_exit",
      }),
    ]);
    expect(errored.records[0]?.pid).toBeUndefined();
    expect(parse("jlist-fields-online.txt").records[0]).toMatchObject({
      state: "online",
      pid: 14392,
      restarts: 1,
    });
    expect(parse("jlist-fields-stopped.txt").records[0]).toMatchObject({ state: "stopped", restarts: 0 });
  });

  it("reads PM2's own pretty-printed jlist the same way, one record per app", () => {
    const { records, unreadable } = parse("jlist.json");
    expect(unreadable).toEqual([]);
    expect(records.map((r) => [r.program, r.state, r.restarts])).toEqual([
      ["checkout", "errored", 15],
      ["worker", "online", 1],
      ["native", "online", 1],
      ["cron", "stopped", 0],
    ]);
    const { text: _t, ...reduced } = parse("jlist-fields-errored.txt").records[0] as Pm2Record;
    expect(records[0]).toMatchObject({ ...reduced, text: "pm2 jlist: checkout" });
  });

  it("reports the app's own output as unreadable: it is the app's log, not PM2's", () => {
    const { records, unreadable } = parse("checkout-error.log");
    expect(records).toEqual([]);
    expect(unreadable.length).toBeGreaterThan(10);
  });
});
