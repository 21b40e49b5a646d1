import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type AppRecord, appParser } from "./app.js";
import { parseText } from "./run.js";

/**
 * One byte that is not text (NUL, or invalid UTF-8 decoded as U+FFFD) in an app's log must not lose the crash
 * report it is part of: the captured crashes (__fixtures__/app) with bytes injected.
 */

const fixture = (name: string): string =>
  readFileSync(new URL(`./__fixtures__/app/${name}`, import.meta.url), "utf8");

const parse = (text: string) =>
  parseText(appParser, text, {
    host: "backend-1",
    source: "/var/log/app.log",
    utcOffsetMinutes: 0,
    now: "2026-11-25T13:00:00.000Z",
  });

/** What a crash record says, without its text (which shows the bad bytes). */
const crashes = (records: AppRecord[]) =>
  records
    .filter((r) => r.signature !== "log_line")
    .map(({ text: _text, ...facts }) => facts)
    .map((f) => ({ ...f, frames: f.frames?.length }));

const lines = (name: string): string[] => fixture(name).split("\n");

describe("appParser: bytes that are not text do not hide a crash report", () => {
  it("an invalid byte in a Go frame's function name keeps the whole trace, shown as U+FFFD", () => {
    const panic = lines("go-panic.txt");
    const clean = parse(panic.join("\n")).records;
    panic[4] = (panic[4] ?? "").replace("main.process", "main.pro\uFFFDess");
    const [r] = parse(panic.join("\n")).records.filter((x) => x.signature === "go_panic");
    const [c] = clean.filter((x) => x.signature === "go_panic");
    expect(r?.frames?.[0]?.fn).toBe("main.pro\uFFFDess(...)");
    expect(r?.frames?.length).toBe(c?.frames?.length);
    expect(r?.text.split("\n")).toHaveLength(c?.text.split("\n").length ?? 0);
  });

  it("a NUL in the panic message: the report is read, the NUL shown as U+FFFD", () => {
    const panic = lines("go-panic.txt");
    panic[1] = (panic[1] ?? "").replace(" with length", " with\u0000length");
    const [r] = parse(panic.join("\n")).records.filter((x) => x.signature === "go_panic");
    expect(r?.summary).toBe("panic: runtime error: index out of range [1] with\uFFFDlength 1");
    expect(r?.frames?.length).toBeGreaterThan(0);
    expect(r?.text).not.toContain("\u0000");
  });

  it("NUL padding before a report (a log file after a crash) and in a Python frame's path", () => {
    const tb = lines("python-traceback.txt");
    tb[1] = `${"\u0000".repeat(512)}${tb[1]}`;
    tb[2] = (tb[2] ?? "").replace("crashers/", "crash\uFFFDrs/");
    const [r] = parse(tb.join("\n")).records.filter((x) => x.signature === "python_traceback");
    expect(r).toMatchObject({
      line: 2,
      summary: "IndexError: list index out of range",
      errorType: "IndexError",
    });
    expect(r?.frames?.map((f) => f.line)).toEqual([12, 16, 30]);
    expect(r?.frames?.[2]?.file).toContain("crash\uFFFDrs/");
  });

  it.each([
    "go-panic.txt",
    "go-fatal.txt",
    "java-uncaught.txt",
    "java-oom.txt",
    "node-heap-oom.txt",
    "node-uncaught.txt",
    "python-chained.txt",
  ])("%s: every report survives a NUL before and an invalid byte after each line", (name) => {
    const text = fixture(name);
    const damaged = text
      .split("\n")
      .map((l) => (l === "" ? l : `\u0000${l}\uFFFD`))
      .join("\n");
    const clean = crashes(parse(text).records);
    expect(clean.length).toBeGreaterThan(0);
    expect(crashes(parse(damaged).records)).toEqual(clean);
  });

  it("a bad line that reads as nothing still ends a report and is binary data", () => {
    const panic = lines("go-panic.txt");
    panic.splice(5, 0, "\u0000\u0000garbage");
    const { records, unreadable } = parse(panic.join("\n"));
    expect(unreadable.map((u) => [u.line, u.text, u.reason])).toEqual([
      [6, "\uFFFD\uFFFDgarbage", "binary data (NUL bytes or invalid UTF-8)"],
    ]);
    expect(records.find((r) => r.signature === "go_panic")?.text.split("\n")).toHaveLength(4);
  });
});
