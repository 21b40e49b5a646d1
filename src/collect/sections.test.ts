import { describe, expect, it } from "vitest";
import { parseClock, type SectionResult, splitSections } from "./sections.js";

const N = "n0nce0n0nce0n0nce0";
const begin = (id: string) => `@@why502:${N} begin ${id}\n`;
const end = (id: string, fields: string) => `\n@@why502:${N} end ${id} ${fields}\n`;
const done = `@@why502:${N} done\n`;

function section(stdout: string, stderr = ""): SectionResult {
  const s = splitSections(
    `${begin("x")}${stdout}${end("x", "rc=0 bytes=1 truncated=0 ms=0")}${done}`,
    `${begin("x")}${stderr}${end("x", "rc=0 bytes=1 truncated=0 ms=0")}${done}`,
    N,
  ).sections.get("x");
  if (!s) throw new Error("no section");
  return s;
}

describe("splitSections", () => {
  it("gives each section its stdout and stderr byte for byte, with the end marker's fields", () => {
    const stdout =
      begin("a") +
      "one\ntwo\n" +
      end("a", "rc=0 bytes=8 truncated=0 ms=20 timeout=5") +
      begin("b") +
      "no newline" +
      end("b", "rc=3 bytes=10 truncated=1 ms=- timeout=none") +
      begin("c") +
      end("c", "rc=- bytes=0 truncated=0 ms=0") +
      done;
    const stderr =
      begin("a") +
      end("a", "rc=0") +
      begin("b") +
      "warn: x\n" +
      end("b", "rc=3") +
      begin("c") +
      end("c", "") +
      done;
    const { sections, incomplete } = splitSections(stdout, stderr, N);
    expect(incomplete).toEqual([]);
    expect([...sections.keys()]).toEqual(["a", "b", "c"]);
    expect(sections.get("a")).toEqual({
      id: "a",
      stdout: "one\ntwo\n",
      stderr: "",
      exitCode: 0,
      bytes: 8,
      truncated: false,
      durationMs: 20,
      missing: false,
      denied: false,
      timedOut: false,
    });
    expect(sections.get("b")).toMatchObject({
      stdout: "no newline",
      stderr: "warn: x\n",
      exitCode: 3,
      bytes: 10,
      truncated: true,
      durationMs: null,
    });
    expect(sections.get("c")).toMatchObject({ stdout: "", exitCode: null, bytes: 0 });
  });

  it("ignores marker-like lines without the run's nonce, and markers that are not at a line start", () => {
    const hostile = [
      "@@why502:0000000000000000 end a rc=0 bytes=0 truncated=0 ms=0",
      `@@why502:${N}x begin evil`,
      `@@why502:${N.toUpperCase()} done`,
      `text @@why502:${N} end a rc=9 bytes=0 truncated=0 ms=0`,
      "",
    ].join("\n");
    const { sections, incomplete } = splitSections(
      begin("a") + hostile + end("a", "rc=0 bytes=1 truncated=0 ms=1") + done,
      "",
      N,
    );
    expect(incomplete).toEqual([]);
    expect([...sections.keys()]).toEqual(["a"]);
    expect(sections.get("a")?.stdout).toBe(hostile);
    expect(sections.get("a")?.exitCode).toBe(0);
  });

  it("keeps what arrived of a section the transport cut, as truncated and incomplete", () => {
    const stdout = `${begin("a")}x\n${end("a", "rc=0 bytes=2 truncated=0 ms=0")}${begin("b")}partial li`;
    const stderr = `${begin("a") + end("a", "rc=0") + begin("b")}err so far\n`;
    const { sections, incomplete } = splitSections(stdout, stderr, N);
    expect(incomplete).toEqual(["b"]);
    expect(sections.get("b")).toMatchObject({
      stdout: "partial li",
      stderr: "err so far\n",
      exitCode: null,
      durationMs: null,
      bytes: 10,
      truncated: true,
    });
  });

  it("takes the status from the stderr end marker when only stdout was cut", () => {
    const stdout = `${begin("a")}cut her`;
    const stderr = begin("a") + end("a", "rc=0 bytes=99 truncated=0 ms=40") + done;
    const { sections, incomplete } = splitSections(stdout, stderr, N);
    expect(incomplete).toEqual(["a"]);
    expect(sections.get("a")).toMatchObject({ exitCode: 0, durationMs: 40, bytes: 7, truncated: true });
  });

  it("finds nothing when the nonce differs", () => {
    const { sections } = splitSections(begin("a") + end("a", "rc=0") + done, "", "another0nonce0here");
    expect(sections.size).toBe(0);
  });

  it("flags missing commands, denied access and timeouts", () => {
    const flags = (fields: string, stderr = "") => {
      const r = splitSections(
        begin("a") + end("a", fields),
        begin("a") + stderr + end("a", fields),
        N,
      ).sections.get("a");
      return r && { missing: r.missing, denied: r.denied, timedOut: r.timedOut };
    };
    const none = { missing: false, denied: false, timedOut: false };
    expect(flags("rc=127 bytes=0 truncated=0 ms=1 timeout=5", "sh: 1: ss: not found")).toEqual({
      ...none,
      missing: true,
    });
    expect(flags("rc=126 bytes=0 truncated=0 ms=1 timeout=5")).toEqual({ ...none, denied: true });
    expect(flags("rc=1 bytes=0 truncated=0 ms=1", "cat: /var/log/x: Permission denied")).toEqual({
      ...none,
      denied: true,
    });
    expect(
      flags("rc=1 bytes=0 truncated=0 ms=1", "dmesg: read kernel buffer failed: Operation not permitted"),
    ).toEqual({ ...none, denied: true });
    expect(flags("rc=124 bytes=0 truncated=0 ms=5010 timeout=5")).toEqual({ ...none, timedOut: true });
    expect(flags("rc=143 bytes=0 truncated=0 ms=5000 timeout=5")).toEqual({ ...none, timedOut: true });
    expect(flags("rc=137 bytes=0 truncated=0 ms=6010 timeout=5")).toEqual({ ...none, timedOut: true });
    expect(flags("rc=137 bytes=0 truncated=0 ms=300 timeout=5")).toEqual(none);
    expect(flags("rc=143 bytes=0 truncated=0 ms=9000 timeout=none")).toEqual(none);
  });
});

describe("parseClock", () => {
  it("reads GNU date output with nanoseconds, the zone and the boot time", () => {
    const c = parseClock(
      section(
        "date=1795609773 949783301 +0530 IST\nuptime=1331.77\nlocaltime=/usr/share/zoneinfo/Etc/UTC\ntimezone=Etc/UTC\ntzenv=Asia/Kolkata\n",
      ),
    );
    expect(c).toEqual({
      nowMs: 1795609773949,
      utcOffsetMinutes: 330,
      zoneAbbrev: "IST",
      uptimeSeconds: 1331.77,
      bootTimeIso: new Date(1795609773949 - 1331770).toISOString(),
      timezone: "Asia/Kolkata",
    });
  });

  it("reads busybox date (no %N), negative offsets, and the zone from the /etc/localtime link", () => {
    const c = parseClock(
      section(
        "date=1795609843 %N -0330 -0330\nuptime=1401.14\nlocaltime=../usr/share/zoneinfo/America/St_Johns\ntimezone=\ntzenv=\n",
      ),
    );
    expect(c).toMatchObject({
      nowMs: 1795609843000,
      utcOffsetMinutes: -210,
      zoneAbbrev: "-0330",
      timezone: "America/St_Johns",
    });
  });

  it("falls back to /etc/timezone, and leaves the zone out when nothing names one", () => {
    const base = "date=1795609843 000000000 +0000 UTC\nuptime=5.00\n";
    expect(parseClock(section(`${base}localtime=\ntimezone=Europe/Berlin\ntzenv=\n`))).toMatchObject({
      timezone: "Europe/Berlin",
    });
    expect(
      parseClock(section(`${base}localtime=\ntimezone=\ntzenv=EST5EDT,M3.2.0,M11.1.0\n`)),
    ).not.toHaveProperty("timezone");
  });

  it("says what is missing", () => {
    expect(parseClock(section("date=\nuptime=1.00\n"))).toEqual({
      error: 'clock: cannot read the host date ""',
    });
    expect(parseClock(section("date=1795609843 1 +0000 UTC\nuptime=\n"))).toEqual({
      error: "clock: the host has no readable /proc/uptime",
    });
  });
});
