import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { KernelRecord, kernelParser } from "./kernel.js";
import { parseText } from "./run.js";
import type { ParseContext } from "./types.js";

const fixture = (name: string): string =>
  readFileSync(new URL(`./__fixtures__/kernel/${name}`, import.meta.url), "utf8");

/** Boot time of the capture run (capture-info.txt; dmesg's -T and iso stamps agree with it). */
const BOOT = "2026-11-25T12:07:22.000Z";

const ctx = (over: Partial<ParseContext> = {}): ParseContext => ({
  host: "backend-1",
  source: "dmesg",
  utcOffsetMinutes: 0,
  bootTime: BOOT,
  now: "2026-11-25T13:00:00.000Z",
  ...over,
});

const parse = (text: string, over: Partial<ParseContext> = {}) => parseText(kernelParser, text, ctx(over));
const notOther = (text: string, over: Partial<ParseContext> = {}) =>
  parse(text, over).records.filter((r) => r.event !== "other");

const CAPTURED = [
  "dmesg-raw-memcg-oom.txt",
  "dmesg-T-memcg-oom.txt",
  "dmesg-T-new-york.txt",
  "dmesg-iso-memcg-oom.txt",
  "dmesg-iso-kolkata.txt",
  "journalctl-k-short.txt",
  "journalctl-k-short-precise.txt",
  "journalctl-k-short-iso.txt",
  "journalctl-k-short-iso-precise.txt",
  "journalctl-k-iso-paris.txt",
  "journalctl-k-short-monotonic.txt",
];

describe("kernelParser on the captured memcg OOM run", () => {
  it.each(CAPTURED)("%s: every line is a valid record and the events are the same", (name) => {
    const { records, unreadable } = parse(fixture(name));
    expect(unreadable).toEqual([]);
    expect(records).toHaveLength(249);
    for (const r of records) expect(KernelRecord.safeParse(r).success).toBe(true);
    const events = records
      .filter((r) => r.event !== "other")
      .map((r) => [r.event, r.cause, r.pid ?? r.invoker, r.comm]);
    expect(events).toEqual([
      ["oom_invoked", "oom_kill", "python3", undefined],
      ["oom_summary", "oom_kill", 10258, "python3"],
      ["oom_kill", "oom_kill", 10258, "python3"],
      ["oom_invoked", "oom_kill", "node", undefined],
      ["oom_summary", "oom_kill", 10299, "node"],
      ["oom_kill", "oom_kill", 10299, "node"],
      ["oom_invoked", "oom_kill", "CPU 0/KVM", undefined],
      ["oom_summary", "oom_kill", 10466, "((resolved))"],
      ["oom_kill", "oom_kill", 10466, "((resolved))"],
      ["segfault", "segfault", 10469, "python3"],
      ["segfault", "segfault", 10510, "CPU 0/KVM"],
      ["segfault", "segfault", 10551, "python3"],
      ["segfault", "segfault", 10592, "python3"],
    ]);
  });

  it("raw dmesg: kill fields, and time = boot time + uptime", () => {
    const { records } = parse(fixture("dmesg-raw-memcg-oom.txt"));
    const kill = records.find((r) => r.event === "oom_kill" && r.pid === 10466);
    expect(kill).toEqual({
      host: "backend-1",
      source: "dmesg",
      line: 241,
      text: "[  504.157332] Memory cgroup out of memory: Killed process 10466 (((resolved))) total-vm:60860kB, anon-rss:47744kB, file-rss:6452kB, shmem-rss:0kB, UID:0 pgtables:156kB oom_score_adj:0",
      time: "2026-11-25T12:15:46.157Z",
      event: "oom_kill",
      cause: "oom_kill",
      message:
        "Memory cgroup out of memory: Killed process 10466 (((resolved))) total-vm:60860kB, anon-rss:47744kB, file-rss:6452kB, shmem-rss:0kB, UID:0 pgtables:156kB oom_score_adj:0",
      uptimeSeconds: 504.157332,
      constraint: "CONSTRAINT_MEMCG",
      pid: 10466,
      comm: "((resolved))",
      uid: 0,
      totalVmKb: 60860,
      anonRssKb: 47744,
      fileRssKb: 6452,
      shmemRssKb: 0,
      pgtablesKb: 156,
      oomScoreAdj: 0,
    });
  });

  it("the invoker's header starts an OOM kill, whose victim (not the invoker) the next lines name", () => {
    const invoked = notOther(fixture("dmesg-raw-memcg-oom.txt")).find((r) => r.invoker === "CPU 0/KVM");
    expect(invoked).toMatchObject({ event: "oom_invoked", gfpMask: "0xcc0", order: 0, oomScoreAdj: 0 });
    expect(invoked?.cause).toBe("oom_kill");
    expect(invoked?.comm).toBeUndefined();
    expect(invoked?.pid).toBeUndefined();
  });

  it("oom-kill summary: constraint, memcgs, task and pid", () => {
    const summary = notOther(fixture("dmesg-raw-memcg-oom.txt")).find(
      (r) => r.event === "oom_summary" && r.pid === 10299,
    );
    expect(summary).toMatchObject({
      constraint: "CONSTRAINT_MEMCG",
      memcg: "/why502-cap-10246",
      oomMemcg: "/why502-cap-10246",
      comm: "node",
      uid: 0,
      time: "2026-11-25T12:15:45.998Z",
    });
  });

  it("segfaults: with object and CPU, without object (ip in no mapping), and a general protection fault", () => {
    const segv = notOther(fixture("dmesg-raw-memcg-oom.txt")).filter((r) => r.event === "segfault");
    expect(segv[1]).toMatchObject({
      comm: "CPU 0/KVM",
      pid: 10510,
      faultAddr: "0",
      ip: "00007f8054385ad8",
      sp: "00007fff740e3458",
      errorCode: 4,
      object: "libc.so.6",
      cpu: 1,
    });
    expect(segv[2]).toMatchObject({ pid: 10551, ip: "0000000000000000", errorCode: 0x14, cpu: 0 });
    expect(segv[2]?.object).toBeUndefined();
    expect(segv[3]).toMatchObject({ comm: "python3", pid: 10592, errorCode: 0, object: "libc.so.6" });
    expect(segv[3]?.faultAddr).toBeUndefined();
  });

  it("raw dmesg without a boot time keeps the uptime and has no time", () => {
    const kill = parse(fixture("dmesg-raw-memcg-oom.txt"), { bootTime: undefined }).records.find(
      (r) => r.event === "oom_kill",
    );
    expect(kill?.time).toBeUndefined();
    expect(kill?.uptimeSeconds).toBe(495.871927);
  });

  it("dmesg -T is local time: New York and UTC captures give the same UTC", () => {
    const utc = notOther(fixture("dmesg-T-memcg-oom.txt"));
    const ny = notOther(fixture("dmesg-T-new-york.txt"), { utcOffsetMinutes: -300 });
    expect(ny.map((r) => r.time)).toEqual(utc.map((r) => r.time));
    expect(utc.find((r) => r.pid === 10466)?.time).toBe("2026-11-25T12:15:46.000Z");
    expect(utc[0]?.uptimeSeconds).toBeUndefined();
  });

  it("dmesg --time-format iso carries its own zone", () => {
    const utc = notOther(fixture("dmesg-iso-memcg-oom.txt"), { utcOffsetMinutes: 600 });
    const kolkata = notOther(fixture("dmesg-iso-kolkata.txt"), { utcOffsetMinutes: 600 });
    expect(kolkata.map((r) => r.time)).toEqual(utc.map((r) => r.time));
    expect(kolkata.find((r) => r.event === "oom_kill" && r.pid === 10466)?.time).toBe(
      "2026-11-25T12:15:46.157Z",
    );
  });

  it("journalctl -k: syslog shape takes the year from now, ISO shapes carry the zone", () => {
    const victim = (name: string, over: Partial<ParseContext> = {}) =>
      notOther(fixture(name), over).find((r) => r.event === "oom_kill" && r.pid === 10466);
    expect(victim("journalctl-k-short.txt")?.time).toBe("2026-11-25T12:15:46.000Z");
    expect(victim("journalctl-k-short-precise.txt")?.time).toBe("2026-11-25T12:15:46.333Z");
    expect(victim("journalctl-k-short-precise.txt", { utcOffsetMinutes: 60 })?.time).toBe(
      "2026-11-25T11:15:46.333Z",
    );
    expect(victim("journalctl-k-short-iso.txt", { utcOffsetMinutes: 60 })?.time).toBe(
      "2026-11-25T12:15:46.000Z",
    );
    expect(victim("journalctl-k-iso-paris.txt")?.time).toBe("2026-11-25T12:15:46.333Z");
    expect(victim("journalctl-k-short-iso-precise.txt")?.message).toMatch(/^Memory cgroup out of memory: /);
  });

  it("a year-less stamp after now belongs to the year before", () => {
    const kill = notOther(fixture("journalctl-k-short.txt"), { now: "2027-01-02T00:00:00Z" }).find(
      (r) => r.event === "oom_kill",
    );
    expect(kill?.time).toBe("2026-11-25T12:15:38.000Z");
  });

  it("journalctl -o short-monotonic: uptime stamp, host and identifier stripped", () => {
    const { records } = parse(fixture("journalctl-k-short-monotonic.txt"));
    const kill = records.find((r) => r.event === "oom_kill" && r.pid === 10299);
    expect(kill).toMatchObject({ uptimeSeconds: 503.99766, time: "2026-11-25T12:15:45.998Z", comm: "node" });
    expect(kill?.message).toMatch(/^Memory cgroup out of memory: Killed process 10299 \(node\)/);
    expect(records[0]).toMatchObject({ event: "other", message: "vm unknown: why502 capture 10246" });
  });

  it("ordinary kernel lines are `other` records without a cause", () => {
    const { records } = parse(fixture("dmesg-raw-memcg-oom.txt"));
    const stats = records.find((r) => r.message === "Memory cgroup stats for /why502-cap-10246:");
    expect(stats).toMatchObject({ event: "other", line: 34, uptimeSeconds: 495.871755 });
    expect(stats?.cause).toBeUndefined();
  });
});

describe("kernelParser on older formats (verbatim from the reference)", () => {
  it("2.6.32: header with oom_adj, selection, kill of a child with `, UID 0, (comm)`", () => {
    const { records, unreadable } = parse(fixture("reference-rhel6-2.6.32.txt"));
    expect(unreadable).toEqual([]);
    expect(records.map((r) => r.time)).toEqual([undefined, undefined, undefined]);
    expect(records[0]).toMatchObject({ event: "oom_invoked", invoker: "rsyslogd", gfpMask: "0x201da" });
    expect(records[1]).toMatchObject({
      event: "oom_select",
      cause: "oom_kill",
      pid: 16929,
      comm: "beam.smp",
      score: 580,
    });
    expect(records[1]?.constraint).toBeUndefined();
    expect(records[2]).toMatchObject({
      event: "oom_kill",
      cause: "oom_kill",
      pid: 28364,
      comm: "sh",
      uid: 0,
      totalVmKb: 106064,
      anonRssKb: 180,
      fileRssKb: 4,
    });
    expect(records[2]?.shmemRssKb).toBeUndefined();
  });

  it("3.10: memcg `Task in`, memcg selection and `(comm), UID 0,` kill", () => {
    const { records, unreadable } = parse(fixture("reference-rhel7-3.10.txt"));
    expect(unreadable).toEqual([]);
    expect(records[0]).toMatchObject({
      event: "oom_invoked",
      invoker: "java",
      gfpMask: "0xd0",
      oomScoreAdj: -998,
    });
    expect(records[1]).toMatchObject({
      event: "memcg_task",
      cause: "oom_kill",
      memcg: "/13",
      oomMemcg: "/13",
    });
    expect(records[2]).toMatchObject({
      event: "oom_select",
      constraint: "CONSTRAINT_MEMCG",
      pid: 42453,
      comm: "memcg_test_1",
      score: 0,
    });
    expect(records[3]).toMatchObject({
      event: "oom_kill",
      pid: 42452,
      comm: "memcg_test_1",
      uid: 0,
      totalVmKb: 7296,
      anonRssKb: 96,
      fileRssKb: 164,
      shmemRssKb: 0,
    });
  });

  it("4.x/5.x: nodemask header, summary, kill without the UID tail, oom_reaper", () => {
    const { records, unreadable } = parse(fixture("reference-4x-5x.txt"));
    expect(unreadable).toEqual([]);
    expect(records[0]).toMatchObject({ invoker: "cp", gfpMask: "0x14000c0", order: 0, oomScoreAdj: -998 });
    expect(records[1]).toMatchObject({ event: "oom_select", pid: 27438, comm: "R", score: 31 });
    expect(records[3]).toMatchObject({ event: "oom_summary", memcg: "/oomtest", pid: 4368, comm: "node" });
    expect(records[4]).toMatchObject({ event: "oom_kill", pid: 15784, comm: "python3", shmemRssKb: 0 });
    expect(records[4]?.uid).toBeUndefined();
    expect(records[4]?.constraint).toBeUndefined();
    expect(records[5]).toMatchObject({ event: "oom_reaped", cause: "oom_kill", pid: 15784, comm: "python3" });
  });

  it("classic and 6.x segfault lines", () => {
    const { records } = parse(fixture("reference-segfault.txt"));
    expect(records[0]).toMatchObject({
      comm: "systemd-logind",
      pid: 1639,
      object: "libc-2.23.so",
      errorCode: 4,
    });
    expect(records[0]?.cpu).toBeUndefined();
    expect(records[1]).toMatchObject({ comm: "python3", pid: 7654, ip: "00007f8a74f74219", cpu: 1 });
  });

  it("syslog carrying the raw stamp too: the syslog wall time wins, the uptime is kept", () => {
    const line = "May 15 23:09:30 host kernel: [  518.050606] ...";
    const [r] = parse(line, { utcOffsetMinutes: 120 }).records;
    expect(r).toMatchObject({
      event: "other",
      time: "2026-05-15T21:09:30.000Z",
      uptimeSeconds: 518.050606,
      message: "...",
    });
  });
});

describe("kernelParser on malformed input", () => {
  const lines = fixture("dmesg-raw-memcg-oom.txt").split("\n");
  const killLine = lines[240] ?? "";

  it("truncated prefixes, unknown bare text and binary are unreadable; nothing throws", () => {
    const input = [
      "[  495.6533",
      "",
      "[Wed Nov 25 07:15",
      "2026-11-25T17:45:37,653",
      "Nov 25 12:15:37",
      "[Wed Xyz 25 12:15:37 2026] why502 capture 10246",
      "hello world",
      "\u0000\u0001\u0002ELF",
      "python3 \uFFFD\uFFFD segfault",
      killLine.slice("[  504.157332] ".length, 64),
    ].join("\n");
    const { records, unreadable } = parse(input);
    expect(records).toEqual([]);
    expect(unreadable.map((u) => u.line)).toEqual([1, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(unreadable[6]?.reason).toBe("binary data");
    expect(unreadable[0]?.reason).toMatch(/no dmesg\/syslog\/journald prefix/);
  });

  it("a kill line cut inside the victim's name is an `other` line, not a kill", () => {
    const { records, unreadable } = parse(killLine.slice(0, 75));
    expect(unreadable).toEqual([]);
    expect(records[0]).toMatchObject({ event: "other", uptimeSeconds: 504.157332 });
    expect(records[0]?.cause).toBeUndefined();
  });

  it("a kill line cut after the victim's name is the kill, without its memory figures", () => {
    const { records } = parse(killLine.slice(0, 90));
    expect(records[0]).toMatchObject({
      event: "oom_kill",
      cause: "oom_kill",
      pid: 10466,
      comm: "((resolved))",
    });
    expect(records[0]?.totalVmKb).toBeUndefined();
    expect(records[0]?.anonRssKb).toBeUndefined();
  });

  it("cut lines keep the segfaulting task and the invoker: what they still say", () => {
    const segfault =
      fixture("dmesg-raw-memcg-oom.txt")
        .split("\n")
        .find((l) => l.includes("]: segfault at")) ?? "";
    const [cut] = parse(segfault.slice(0, segfault.indexOf(" ip "))).records;
    expect(cut).toMatchObject({ event: "segfault", cause: "segfault", pid: 10469, comm: "python3" });
    expect(cut?.ip).toBeUndefined();
    const invoked = lines.find((l) => l.includes(" invoked oom-killer: ")) ?? "";
    const [header] = parse(invoked.slice(0, invoked.indexOf(" gfp_mask"))).records;
    expect(header).toMatchObject({ event: "oom_invoked", cause: "oom_kill", invoker: "python3" });
  });

  it("a bare known message without a carrier is read, without a time", () => {
    const bare = killLine.slice("[  504.157332] ".length);
    const [r] = parse(bare).records;
    expect(r).toMatchObject({ event: "oom_kill", pid: 10466, comm: "((resolved))" });
    expect(r?.time).toBeUndefined();
  });
});
