import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { commOf, etimeSeconds, lstartToUtc, type PsRecord, psParser } from "./ps.js";
import { parseText } from "./run.js";
import type { ParseContext } from "./types.js";

const fixture = (name: string) => readFileSync(new URL(`./__fixtures__/ps/${name}`, import.meta.url), "utf8");
const ctx = (extra: Partial<ParseContext> = {}): ParseContext => ({
  host: "backend-1",
  source: "ps",
  utcOffsetMinutes: 0,
  ...extra,
});
const parse = (name: string, extra: Partial<ParseContext> = {}) =>
  parseText(psParser, fixture(name), ctx(extra));
const byPid = (records: PsRecord[], pid: number) => records.find((r) => r.pid === pid);

// Pids and start time of the processes scripts/capture/ps-ss.sh started for this capture.
const MASTER = 30269;
const WORKERS = [30275, 30276];
const NODE = 30270;
const PYTHON = 30271;
const SHELL = 30262;
const REAPER = 30322;
const ZOMBIE = 30324;
const STARTED = "2026-11-25T13:08:03.000Z";
/** kthreadd: the machine's boot, and its etime when captured. */
const BOOTED = "2026-11-25T12:07:22.000Z";
const KTHREADD_ETIME = "01:00:43";
const ALL = [MASTER, NODE, PYTHON, ...WORKERS];

describe("psParser on real procps-ng 4.0.2 output", () => {
  it("reads `ps -o pid,lstart,etimes,args` with its header", () => {
    const { records, unreadable } = parse("lstart-etimes-args.txt");
    expect(unreadable).toEqual([]);
    expect(records.map((r) => r.pid)).toEqual(ALL);
    const master = byPid(records, MASTER);
    expect(master).toMatchObject({
      host: "backend-1",
      source: "ps",
      line: 2,
      startTime: STARTED,
      time: STARTED,
      elapsedSeconds: 2,
      comm: "nginx",
    });
    expect(master?.args).toMatch(
      /^nginx: master process nginx -p \/tmp\/\S+ -c \S+\/nginx\.conf -g daemon off;$/,
    );
    expect(master?.cause).toBeUndefined();
    expect(byPid(records, NODE)?.args).toBe(
      'node -e require("http").createServer((q, s) => s.end("ok\\n")).listen(18402, "::1")',
    );
    expect(byPid(records, NODE)?.comm).toBe("node");
    expect(byPid(records, PYTHON)?.comm).toBe("python3");
    expect(byPid(records, WORKERS[0] ?? 0)).toMatchObject({ args: "nginx: worker process", comm: "nginx" });
    for (const r of records) expect(psParser.schema.safeParse(r).success).toBe(true);
  });

  it("reads `-o pid,ppid,user,lstart,etimes,cmd -C nginx` (CMD header, user and parent)", () => {
    const { records, unreadable } = parse("nginx-by-name.txt");
    expect(unreadable).toEqual([]);
    expect(records.map((r) => [r.pid, r.ppid, r.user])).toEqual([
      [MASTER, SHELL, "root"],
      [WORKERS[0], MASTER, "www-data"],
      [WORKERS[1], MASTER, "www-data"],
    ]);
    expect(records.every((r) => r.startTime === STARTED && r.elapsedSeconds === 2)).toBe(true);
  });

  it("reads headerless `pid=,lstart=,etimes=,args=` with the default columns", () => {
    const { records, unreadable } = parse("headerless.txt");
    expect(unreadable).toEqual([]);
    expect(records.map((r) => r.pid)).toEqual(ALL);
    expect(records[0]).toMatchObject({ line: 1, startTime: STARTED, elapsedSeconds: 2, comm: "nginx" });
  });

  it("reads headerless output with the columns named in ctx.options.columns", () => {
    const columns = "pid=,ppid=,user=,lstart=,etime=,comm=";
    const { records, unreadable } = parse("headerless-custom-columns.txt", { options: { columns } });
    expect(unreadable).toEqual([]);
    expect(records.map((r) => [r.pid, r.ppid, r.user, r.comm, r.args])).toEqual([
      [MASTER, SHELL, "root", "nginx", "nginx"],
      [NODE, SHELL, "root", "node", "node"],
      [PYTHON, SHELL, "root", "python3", "python3"],
      [WORKERS[0], MASTER, "www-data", "nginx", "nginx"],
      [WORKERS[1], MASTER, "www-data", "nginx", "nginx"],
    ]);
    expect(records.every((r) => r.elapsedSeconds === 2 && r.startTime === STARTED)).toBe(true);
  });

  it("reports those rows as unreadable when the columns are not given", () => {
    const { records, unreadable } = parse("headerless-custom-columns.txt");
    expect(records).toEqual([]);
    expect(unreadable).toHaveLength(5);
    expect(unreadable[0]).toMatchObject({ line: 1, reason: "bad start time" });
  });

  it("reads `etime` ([[dd-]hh:]mm:ss) under the shared ELAPSED header", () => {
    const { records, unreadable } = parse("etime.txt");
    expect(unreadable).toEqual([]);
    expect(records.map((r) => r.elapsedSeconds)).toEqual([2, 2, 2, 2, 2]);
  });

  it("reads the `comm` column (header COMMAND), told apart from args by ctx.options.columns", () => {
    const plain = parse("comm.txt");
    const told = parse("comm.txt", { options: { columns: "pid,ppid,user,lstart,etimes,comm" } });
    expect(plain.unreadable).toEqual([]);
    expect(told.records).toEqual(plain.records);
    expect(told.records.map((r) => r.comm)).toEqual(["nginx", "node", "python3", "nginx", "nginx"]);
  });

  it("reads a kernel thread running since boot: `[kthreadd]`, pid 2, parent 0", () => {
    const { records, unreadable } = parse("kernel-thread-since-boot.txt");
    expect(unreadable).toEqual([]);
    expect(records).toHaveLength(1);
    expect(records[0]?.text).toContain(` ${KTHREADD_ETIME} [kthreadd]`);
    expect(records[0]).toMatchObject({
      pid: 2,
      ppid: 0,
      user: "root",
      args: "[kthreadd]",
      comm: "kthreadd",
      startTime: BOOTED,
      elapsedSeconds: etimeSeconds(KTHREADD_ETIME),
    });
  });

  it("gives the same UTC start for a capture in UTC and one in America/New_York with its offset", () => {
    const utc = parse("tz-utc.txt").records;
    const ny = parse("tz-new-york.txt", { utcOffsetMinutes: -300 }).records;
    expect(ny.map((r) => r.startTime)).toEqual(utc.map((r) => r.startTime));
    expect(ny[0]?.startTime).toBe(STARTED);
    const local = new Date(Date.parse(STARTED) - 5 * 3600_000);
    expect(ny[0]?.text).toContain(local.toUTCString().slice(17, 25));
    const wrongOffset = parse("tz-new-york.txt").records;
    expect(wrongOffset[0]?.startTime).toBe(local.toISOString());
  });

  it("reads output under LC_ALL=de_DE.UTF-8 the same way: lstart stays in C-locale English", () => {
    const { records, unreadable } = parse("locale-de.txt");
    expect(unreadable).toEqual([]);
    expect(records.map((r) => [r.pid, r.user, r.startTime, r.elapsedSeconds])).toEqual(
      ALL.map((pid) => [pid, WORKERS.includes(pid) ? "www-data" : "root", STARTED, 2]),
    );
  });

  it("reads a zombie, `[sleep] <defunct>`, and the parent that does not reap it", () => {
    const { records, unreadable } = parse("zombie.txt");
    expect(unreadable).toEqual([]);
    expect(records.map((r) => [r.pid, r.ppid, r.args, r.comm])).toEqual([
      [REAPER, SHELL, "sleep 600", "sleep"],
      [ZOMBIE, REAPER, "[sleep] <defunct>", "sleep"],
    ]);
  });

  it("derives the start from ctx.now minus etimes when lstart is not asked for", () => {
    const now = new Date(Date.parse(STARTED) + 2000).toISOString();
    const { records, unreadable } = parse("no-lstart.txt", { now });
    expect(unreadable).toEqual([]);
    expect(records.map((r) => r.startTime)).toEqual(ALL.map(() => STARTED));
    const withoutNow = parse("no-lstart.txt");
    expect(withoutNow.records).toEqual([]);
    expect(withoutNow.unreadable[0]?.reason).toMatch(/^no start time/);
  });

  it("reports cut rows, ps's own errors and binary bytes without throwing", () => {
    const text = fixture("malformed.txt");
    const { records, unreadable } = parseText(psParser, text, ctx());
    expect(unreadable[0]).toMatchObject({ line: 2, reason: "truncated start time" });
    // A row cut inside the command still has every column: it is read, with the command it has.
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ line: 3, pid: NODE, args: 'node -e require("', comm: "node" });
    expect(unreadable.find((u) => u.text === "error: process ID list syntax error")?.reason).toBe(
      "pid is not a number",
    );
    expect(unreadable.some((u) => u.text.startsWith("\u007fELF"))).toBe(true);
    const nonBlank = text.split("\n").filter((l) => l.trim() !== "").length;
    expect(records.length + unreadable.length).toBe(nonBlank - 1);
  });
});

describe("ps helpers", () => {
  it("converts lstart, with a space-padded day, from host local time to UTC", () => {
    // The ctime layout as quoted in the reference (`dmesg -T`): `Thu Dec  7 00:05:15 2017`.
    const words = "Thu Dec  7 00:05:15 2017".split(/\s+/);
    expect(lstartToUtc(words, 60)).toBe("2017-12-06T23:05:15.000Z");
    expect(lstartToUtc(["Thu", "Dec", "32", "00:05:15", "2017"], 0)).toBeUndefined();
    expect(lstartToUtc(["Thu", "Dec", "7", "00:05"], 0)).toBeUndefined();
  });

  it("reads each etime layout", () => {
    expect(etimeSeconds("00:02")).toBe(2);
    expect(etimeSeconds("11:50")).toBe(710);
    expect(etimeSeconds("01:02:03")).toBe(3723);
    expect(etimeSeconds("2-01:02:03")).toBe(2 * 86400 + 3723);
    expect(etimeSeconds("1:75")).toBeUndefined();
    expect(etimeSeconds("12")).toBeUndefined();
  });

  it("names the command from its command line", () => {
    expect(commOf("/usr/bin/python3 -m http.server 18403")).toBe("python3");
    expect(commOf("nginx: worker process")).toBe("nginx");
    expect(commOf("[kthreadd]")).toBe("kthreadd");
    expect(commOf("[sleep] <defunct>")).toBe("sleep");
    expect(commOf("kworker/0:0-cgroup_pidlist_destroy")).toBe("kworker/0:0-cgroup_pidlist_destroy");
  });
});
