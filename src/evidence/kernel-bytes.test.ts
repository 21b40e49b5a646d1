import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type KernelRecord, kernelParser } from "./kernel.js";
import { parseText } from "./run.js";
import type { ParseContext } from "./types.js";

/**
 * One byte that is not text (NUL, or invalid UTF-8 decoded as U+FFFD) in a kernel line must not lose the OOM
 * kill or the segfault it reports: the captured run (__fixtures__/kernel) with bytes injected.
 */

const fixture = (name: string): string =>
  readFileSync(new URL(`./__fixtures__/kernel/${name}`, import.meta.url), "utf8");

const ctx: ParseContext = {
  host: "backend-1",
  source: "dmesg",
  utcOffsetMinutes: 0,
  bootTime: "2026-11-25T12:07:22.000Z",
  now: "2026-11-25T13:00:00.000Z",
};
const parse = (text: string) => parseText(kernelParser, text, ctx);
const events = (records: KernelRecord[]) =>
  records
    .filter((r) => r.event !== "other")
    .map((r) => [r.line, r.event, r.pid ?? r.invoker, r.comm, r.time]);

const raw = fixture("dmesg-raw-memcg-oom.txt").split("\n");
/** `[  495.871927] Memory cgroup out of memory: Killed process 10258 (python3) total-vm:85460kB, ...` */
const kill = raw[80] ?? "";

describe("kernelParser: bytes that are not text do not hide a kill", () => {
  it("an invalid byte in the victim's name: the kill is read, the byte shown as U+FFFD", () => {
    const [r] = parse(kill.replace("(python3)", "(pyth\uFFFDn3)")).records;
    expect(r).toMatchObject({ event: "oom_kill", pid: 10258, comm: "pyth\uFFFDn3", anonRssKb: 65152 });
    expect(r?.time).toBe("2026-11-25T12:15:37.872Z");
  });

  it("a NUL in the victim's name: the same, and no NUL is kept", () => {
    const [r] = parse(kill.replace("(python3)", "(pyth\u0000n3)")).records;
    expect(r).toMatchObject({ event: "oom_kill", pid: 10258, comm: "pyth\uFFFDn3" });
    expect(r?.text).toBe(kill.replace("(python3)", "(pyth\uFFFDn3)"));
  });

  it("NUL padding before the line (a log file after a crash) and a cut character after it", () => {
    const lines = fixture("journalctl-k-short.txt").split("\n");
    const padded = [`${"\u0000".repeat(4096)}${lines[79]}`, `${lines[80]}\uFFFD`].join("\n");
    const { records, unreadable } = parse(padded);
    expect(unreadable).toEqual([]);
    expect(records.map((r) => [r.event, r.pid, r.comm, r.time])).toEqual([
      ["oom_summary", 10258, "python3", "2026-11-25T12:15:38.000Z"],
      ["oom_kill", 10258, "python3", "2026-11-25T12:15:38.000Z"],
    ]);
    expect(records[0]?.text.startsWith("\uFFFD".repeat(4096))).toBe(true);
  });

  it.each([
    "dmesg-raw-memcg-oom.txt",
    "dmesg-T-memcg-oom.txt",
    "dmesg-iso-memcg-oom.txt",
    "journalctl-k-short-precise.txt",
    "journalctl-k-short-iso.txt",
    "journalctl-k-short-monotonic.txt",
  ])("%s: every event survives a NUL before and an invalid byte after each line", (name) => {
    const text = fixture(name);
    const damaged = text
      .split("\n")
      .map((l) => (l === "" ? l : `\u0000${l}\uFFFD`))
      .join("\n");
    const clean = events(parse(text).records);
    expect(clean).toHaveLength(13);
    expect(events(parse(damaged).records)).toEqual(clean);
  });

  it("a line that says nothing known is still binary data", () => {
    const { records, unreadable } = parse(raw[3]?.replace(" ", " \u0000") ?? "");
    expect(records).toEqual([]);
    expect(unreadable.map((u) => u.reason)).toEqual(["binary data"]);
  });
});
