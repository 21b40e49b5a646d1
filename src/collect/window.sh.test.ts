import { spawnSync } from "node:child_process";
import {
  chmodSync,
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rotatedLog } from "../../test/support/rotated-log.js";
import { collect, keyOf, logWin, nginxLine, TRACE, wall } from "../../test/support/run-script.js";
import { shQuote } from "./shell-quote.js";
import { AWK_TIME } from "./window.sh.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "why502-window-"));
  chmodSync(dir, 0o755);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("timestamp shapes (AWK_TIME under the system awk)", () => {
  /** Keys as the host at +05:30 (Asia/Kolkata) sees them, on 2026-11-25. */
  function keys(lines: string[]): string[] {
    const program = `${AWK_TIME}\nBEGIN { w_init() }\n{ print w_ts($0) }\n`;
    const r = spawnSync("awk", ["-v", "hz=+0530", "-v", "cy=2026", "-v", "cm=11", program], {
      input: `${lines.join("\n")}\n`,
      encoding: "utf8",
      env: { ...process.env, LC_ALL: "C" },
    });
    return r.stdout.split("\n").slice(0, lines.length);
  }

  it("reads every shape, zoned ones moved to host local time", () => {
    // real lines: the reference's nginx, gunicorn, Go log.Fatal, php-fpm, docker, rsyslog and journald
    // examples, and the nginx-access fixtures (combined, json, iso_msec)
    const cases: [string, string][] = [
      [
        '2020/05/07 03:15:12 [error] 6#6: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 172.21.0.1, server: , request: "GET / HTTP/1.1", upstream: "http://172.21.0.19:9000/", host: "0.0.0.0:9000"',
        "20200507031512",
      ],
      [
        '127.0.0.1 - - [25/Nov/2026:17:45:37 +0530] "GET / HTTP/1.1" 200 19 "-" "curl/7.88.1"',
        "20261125174537",
      ],
      [
        '172.21.0.1 - - [07/May/2020:03:15:12 +0000] "GET / HTTP/1.1" 502 157 "-" "Mozilla/5.0 ..."',
        "20200507084512",
      ],
      [
        '{"time_local":"25/Nov/2026:17:45:37 +0530","remote_addr":"127.0.0.1","remote_user":""}',
        "20261125174537",
      ],
      ['2026-11-25T17:45:37+05:30 1795608937.416 127.0.0.1 "GET / HTTP/1.1" 200 19', "20261125174537"],
      ["[2024-01-09 13:24:39 +0000] [1637] [CRITICAL] WORKER TIMEOUT (pid:7214)", "20240109185439"],
      ["2014/02/25 21:05:15 listen tcp :80: bind: permission denied", "20140225210515"],
      [
        "[30-Dec-2018 15:09:04] WARNING: [pool X] child 22612 exited on signal 11 (SIGSEGV) after 7.109208 seconds from start",
        "20181230150904",
      ],
      ["2017-05-10T06:50:00.434167704Z 2017/05/10 06:50:00 [error] 1#1: x", "20170510122000"],
      ["2026-02-08T00:40:07.136582+00:00 host systemd[1]: Started x.", "20260208061007"],
      ["Nov 05 15:28:00 app nginx[30523]: nginx: [emerg] host not found", "20261105152800"],
      ["Dec 31 23:59:59 app kernel: last year's December", "20251231235959"],
      ["2026-01-01T00:30:00-05:00 negative offset", "20260101110000"],
      ["goroutine 1 [running]:", ""],
      ["\t/path/main.go:92 +0x153", ""],
      ["Traceback (most recent call last):", ""],
    ];
    expect(keys(cases.map((c) => c[0]))).toEqual(cases.map((c) => c[1]));
  });
});

describe("log-window: binary search over a real-shaped error log", () => {
  const OFFSET = 330; // Asia/Kolkata, no DST
  const env = { TZ: "Asia/Kolkata" };
  const T0 = Date.UTC(2026, 10, 25, 0, 0, 0) / 1000;
  let path: string;
  let buf: Buffer;
  const stamped: { at: number; epoch: number }[] = [];

  beforeAll(() => {
    path = join(dir, "window.log");
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const parts: string[] = [];
    let at = 0;
    let t = T0;
    for (let i = 0; i < 300_000; i++) {
      if (rand() < 0.3) t += Math.floor(rand() * 4) + (rand() < 0.01 ? 600 : 0);
      const line = nginxLine(wall(t, OFFSET), i + 1);
      stamped.push({ at, epoch: t });
      parts.push(line);
      at += Buffer.byteLength(line);
      if (rand() < 0.02) {
        parts.push(TRACE);
        at += TRACE.length;
      }
    }
    buf = Buffer.from(parts.join(""));
    writeFileSync(path, buf);
  });

  /** What the window must be: from the first stamped line at or after `since` to the end. */
  function expected(since: number): string {
    const first = stamped.find((s) => s.epoch >= since);
    return first ? buf.subarray(first.at).toString("utf8") : "";
  }

  it("starts exactly at the first line at or after the window start and ends at the file end", async () => {
    const last = stamped.at(-1)?.epoch ?? 0;
    const mid = stamped[150_000]?.epoch ?? 0;
    const gap = stamped.findIndex((s, i) => (stamped[i + 1]?.epoch ?? 0) - s.epoch > 100);
    const sinces = [
      T0 - 3600,
      T0,
      T0 + 1,
      mid,
      mid + 1,
      (stamped[gap]?.epoch ?? 0) + 50,
      stamped[299_000]?.epoch ?? 0,
      last,
      last + 1,
    ];
    for (const since of sinces) {
      const { get } = await collect([logWin("log", path, 128 << 20)], since, { env });
      const want = expected(since);
      const got = get("log");
      expect(got.exitCode).toBe(0);
      expect(got.truncated).toBe(false);
      expect(got.bytes).toBe(Buffer.byteLength(want));
      expect(got.stdout.slice(0, 300), `since ${keyOf(since, OFFSET)}`).toBe(want.slice(0, 300));
      expect(got.stdout === want).toBe(true);
    }
  });

  it("sends only the newest maxBytes, from a line start, when the window is larger", async () => {
    const since = stamped[100_000]?.epoch ?? 0;
    const want = expected(since);
    const { get } = await collect([logWin("log", path, 100_000)], since, { env });
    const got = get("log");
    expect(got.truncated).toBe(true);
    expect(got.bytes).toBeLessThanOrEqual(100_000);
    expect(got.bytes).toBeGreaterThan(100_000 - 400);
    expect(want.endsWith(got.stdout)).toBe(true);
    expect(want[want.length - got.stdout.length - 1]).toBe("\n");
  });

  it("finds the window in an access log whose $time_local is UTC on a +05:30 host", async () => {
    const access = join(dir, "access.log");
    const lines: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const d = new Date((T0 + i) * 1000);
      const mon = d.toLocaleString("en-US", { month: "short", timeZone: "UTC" });
      const tl = `${String(d.getUTCDate()).padStart(2, "0")}/${mon}/${d.getUTCFullYear()}:${d.toISOString().slice(11, 19)} +0000`;
      lines.push(`172.21.0.1 - - [${tl}] "GET / HTTP/1.1" 502 157 "-" "Mozilla/5.0 ..."\n`);
    }
    writeFileSync(access, lines.join(""));
    const { get } = await collect([logWin("log", access)], T0 + 12_345, { env });
    expect(get("log").stdout).toBe(lines.slice(12_345).join(""));
  });

  it("computes the window start's local time itself where `date` has no `-d @SECONDS`", async () => {
    const bin = join(dir, "bin-no-date-d");
    mkdirSync(bin);
    writeFileSync(
      join(bin, "date"),
      '#!/bin/sh\ncase "$1" in -d) echo "date: invalid option -- d" >&2; exit 1 ;; esac\nexec /bin/date "$@"\n',
      { mode: 0o755 },
    );
    const since = stamped[200_000]?.epoch ?? 0;
    const { get } = await collect([logWin("log", path, 128 << 20)], since, {
      env: { ...env, PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}` },
    });
    expect(get("log").stdout === expected(since)).toBe(true);
  });
});

describe("log-window: rotated files", () => {
  const T0 = Date.UTC(2026, 10, 24, 0, 0, 0) / 1000;
  const env = { TZ: "UTC" };
  let base: string;
  const { block, part } = rotatedLog(T0);

  beforeAll(() => {
    base = join(dir, "rot", "error.log");
    mkdirSync(join(dir, "rot"));
    writeFileSync(`${base}.3.gz`, Buffer.from("this is not gzip: reading it would show an error"));
    writeFileSync(`${base}.2.gz`, gzipSync(block(1000, 1000)));
    writeFileSync(`${base}.1`, block(2000, 1000));
    writeFileSync(base, block(3000, 1000));
  });

  it("reads .1 and .2.gz, oldest first, when the window starts before the current file", async () => {
    const { get } = await collect([logWin("log", base)], T0 + 1500, { env });
    const want = part(1000, 1000, 1500) + block(2000, 1000) + block(3000, 1000);
    expect(get("log").stderr).toBe("");
    expect(get("log")).toMatchObject({ exitCode: 0, truncated: false, bytes: Buffer.byteLength(want) });
    expect(get("log").stdout === want).toBe(true);
  });

  it("stops at the current file when the window starts inside it, and at .1 when it starts there", async () => {
    const cur = await collect([logWin("log", base)], T0 + 3500, { env });
    expect(cur.get("log").stdout === part(3000, 1000, 3500)).toBe(true);
    const one = await collect([logWin("log", base)], T0 + 2000, { env });
    expect(one.get("log").stdout === block(2000, 1000) + block(3000, 1000)).toBe(true);
  });

  it("shares the byte cap across files, newest bytes first", async () => {
    const newer = block(2000, 1000) + block(3000, 1000);
    const cap = Buffer.byteLength(newer) + 5000;
    const { get } = await collect([logWin("log", base, cap)], T0 + 1200, { env });
    const got = get("log");
    expect(got.truncated).toBe(true);
    expect(got.stdout.endsWith(newer)).toBe(true);
    const older = got.stdout.slice(0, got.stdout.length - newer.length);
    expect(Buffer.byteLength(older)).toBeGreaterThan(5000 - 400);
    expect(Buffer.byteLength(older)).toBeLessThanOrEqual(5000);
    expect(part(1000, 1000, 1200).endsWith(older)).toBe(true);
    expect(older.startsWith("2026/11/24")).toBe(true);

    const current = block(3000, 1000);
    const inOne = await collect([logWin("log", base, Buffer.byteLength(current) + 5000)], T0 + 1200, { env });
    const fromOne = inOne.get("log").stdout.slice(0, -current.length);
    expect(inOne.get("log").truncated).toBe(true);
    expect(inOne.get("log").stdout.endsWith(current)).toBe(true);
    expect(block(2000, 1000).endsWith(fromOne)).toBe(true);
    expect(Buffer.byteLength(fromOne)).toBeGreaterThan(5000 - 400);
    expect(fromOne.startsWith("2026/11/24")).toBe(true);
  });

  it("reads .1 when the current file was just rotated (empty), and nothing older when rotated is false", async () => {
    const fresh = join(dir, "rot", "fresh.log");
    writeFileSync(fresh, "");
    writeFileSync(`${fresh}.1`, block(2000, 1000));
    const rotated = await collect([logWin("log", fresh)], T0 + 2500, { env });
    expect(rotated.get("log").stdout === part(2000, 1000, 2500)).toBe(true);
    // without delaycompress the newest rotated file is already .1.gz
    const compressed = join(dir, "rot", "compressed.log");
    writeFileSync(compressed, block(3000, 10));
    writeFileSync(`${compressed}.1.gz`, gzipSync(block(2000, 1000)));
    const gz = await collect([logWin("log", compressed)], T0 + 2500, { env });
    expect(gz.get("log").stdout === part(2000, 1000, 2500) + block(3000, 10)).toBe(true);
    const plain = await collect([logWin("log", base, 1 << 20, false)], T0 + 1500, { env });
    expect(plain.get("log").stdout === block(3000, 1000)).toBe(true);
  });
});

describe("log-window: rotated files with date suffixes (logrotate dateext)", () => {
  const T0 = Date.UTC(2026, 10, 22, 0, 0, 0) / 1000;
  const env = { TZ: "UTC" };
  const { block, part } = rotatedLog(T0);
  const folder = (name: string) => {
    const d = join(dir, name);
    mkdirSync(d);
    return join(d, "error.log");
  };

  it("reads -YYYYMMDD and -YYYYMMDD.gz newest date first, output oldest first, when the window reaches them", async () => {
    const base = folder("dated");
    // listed by name these come oldest first; a bare `ls` order would read them backwards
    writeFileSync(`${base}-20261121.gz`, Buffer.from("not gzip, and before the window: never read"));
    writeFileSync(`${base}-20261122.gz`, gzipSync(block(1000, 1000)));
    writeFileSync(`${base}-20261123`, block(2000, 1000));
    writeFileSync(base, block(3000, 1000));
    // not rotations of error.log: another log, a name that is no date, an impossible date, a directory
    writeFileSync(`${base}.bak-20261124`, "other\n");
    writeFileSync(`${base}-old`, "old\n");
    writeFileSync(`${base}-20261399`, "no such date\n");
    mkdirSync(`${base}-20261124`);
    const { get } = await collect([logWin("log", base)], T0 + 1500, { env });
    const want = part(1000, 1000, 1500) + block(2000, 1000) + block(3000, 1000);
    expect(get("log").stderr).toBe("");
    expect(get("log")).toMatchObject({ exitCode: 0, truncated: false, bytes: Buffer.byteLength(want) });
    expect(get("log").stdout === want).toBe(true);

    const inCurrent = await collect([logWin("log", base)], T0 + 3500, { env });
    expect(inCurrent.get("log").stdout === part(3000, 1000, 3500)).toBe(true);
    const inNewest = await collect([logWin("log", base)], T0 + 2500, { env });
    expect(inNewest.get("log").stdout === part(2000, 1000, 2500) + block(3000, 1000)).toBe(true);
    const plain = await collect([logWin("log", base, 1 << 20, false)], T0 + 1500, { env });
    expect(plain.get("log").stdout === block(3000, 1000)).toBe(true);
  });

  it("orders hourly names (dateformat -%Y%m%d%H) by hour, the newest already compressed", async () => {
    const base = folder("hourly");
    writeFileSync(`${base}-2026112209.gz`, gzipSync(block(1000, 600)));
    writeFileSync(`${base}-2026112210.gz`, gzipSync(block(1600, 600)));
    writeFileSync(`${base}-2026112211.gz`, gzipSync(block(2200, 600)));
    writeFileSync(base, block(2800, 600));
    const { get } = await collect([logWin("log", base)], T0 + 1700, { env });
    const want = part(1600, 600, 1700) + block(2200, 600) + block(2800, 600);
    expect(get("log").stderr).toBe("");
    expect(get("log").stdout === want).toBe(true);
  });

  it("reads -%Y-%m-%d names, prefers the plain file while logrotate compresses its twin, then old numbered files", async () => {
    const base = folder("dashed");
    writeFileSync(`${base}.1`, block(500, 500));
    writeFileSync(`${base}-2026-11-22`, block(1000, 1000));
    writeFileSync(`${base}-2026-11-22.gz`, gzipSync(block(1000, 1000)));
    writeFileSync(`${base}-2026-11-23`, block(2000, 1000));
    writeFileSync(base, block(3000, 1000));
    const { get } = await collect([logWin("log", base)], T0 + 700, { env });
    const want = part(500, 500, 700) + block(1000, 1000) + block(2000, 1000) + block(3000, 1000);
    expect(get("log").stderr).toBe("");
    expect(get("log").stdout === want).toBe(true);
  });

  it("shares the byte cap across dated files, newest bytes first, and says it cut", async () => {
    const base = folder("dated-cap");
    writeFileSync(`${base}-20261122.gz`, gzipSync(block(1000, 1000)));
    writeFileSync(`${base}-20261123`, block(2000, 1000));
    writeFileSync(base, block(3000, 1000));
    const newer = block(2000, 1000) + block(3000, 1000);
    const { get } = await collect([logWin("log", base, Buffer.byteLength(newer) + 5000)], T0 + 1200, { env });
    const got = get("log");
    expect(got.truncated).toBe(true);
    expect(got.stdout.endsWith(newer)).toBe(true);
    const older = got.stdout.slice(0, got.stdout.length - newer.length);
    expect(Buffer.byteLength(older)).toBeGreaterThan(5000 - 400);
    expect(Buffer.byteLength(older)).toBeLessThanOrEqual(5000);
    expect(part(1000, 1000, 1200).endsWith(older)).toBe(true);

    const exact = await collect([logWin("log", base, Buffer.byteLength(newer))], T0 + 1200, { env });
    expect(exact.get("log").truncated).toBe(true);
    expect(exact.get("log").stdout === newer).toBe(true);
  });
});

describe("log-window: 1 GB file", () => {
  it("finds a 2 MB window at the end of a 1 GB log by seeking, not reading", async () => {
    const path = join(dir, "huge.log");
    const T0 = Date.UTC(2026, 10, 25, 0, 0, 0) / 1000;
    const fd = openSync(path, "w");
    const secondAt: number[] = [];
    let size = 0;
    try {
      for (let sec = 0; size < 1_000_000_000; sec++) {
        const stamp = wall(T0 + sec, 0);
        let chunk = "";
        for (let k = 0; k < 100; k++) chunk += nginxLine(stamp, sec * 100 + k);
        secondAt.push(size);
        size += writeSync(fd, chunk);
      }
    } finally {
      closeSync(fd);
    }
    try {
      const windowSecond = secondAt.findIndex((at) => size - at <= 2 * 1024 * 1024);
      const start = secondAt[windowSecond] ?? 0;
      const { get, run } = await collect([logWin("log", path, 4 << 20)], T0 + windowSecond, {
        env: { TZ: "UTC" },
      });
      const got = get("log");
      expect(got).toMatchObject({ exitCode: 0, truncated: false, bytes: size - start });
      expect(got.bytes).toBeGreaterThan(1.9 * 1024 * 1024);
      // the search itself read a few blocks, not the gigabyte before the window
      const probed = Number(/ end log .* probed=(\d+)/.exec(run.stdout)?.[1]);
      expect(probed).toBeGreaterThan(0);
      expect(probed).toBeLessThan(64 * 8192);
      expect(got.stdout.startsWith(nginxLine(wall(T0 + windowSecond, 0), windowSecond * 100))).toBe(true);
      const tail = Buffer.alloc(4096);
      const rfd = openSync(path, "r");
      readSync(rfd, tail, 0, tail.length, size - tail.length);
      closeSync(rfd);
      expect(got.stdout.endsWith(tail.toString("utf8"))).toBe(true);
    } finally {
      rmSync(path, { force: true });
    }
  }, 120_000);
});

describe("dmesg-window", () => {
  it("keeps dmesg lines at or after the window start, with their continuations", async () => {
    const uptime = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
    const now = Math.floor(Date.now() / 1000);
    const stamp = (up: number) => `[${up.toFixed(6).padStart(12)}]`;
    const lines = [
      `${stamp(Math.max(0, uptime - 200))} old: Out of memory: Killed process 1 (a)`,
      "  continuation of old",
      `${stamp(uptime - 50)} new: Out of memory: Killed process 2 (b)`,
      "  continuation of new",
      `${stamp(uptime)} last`,
    ];
    const shell = `printf '%s\\n' ${lines.map(shQuote).join(" ")}`;
    const { get } = await collect(
      [{ id: "kernel", type: "dmesg-window", shell, maxBytes: 65536, timeoutSeconds: 5 }],
      now - 100,
    );
    expect(get("kernel")).toMatchObject({ exitCode: 0, truncated: false });
    expect(get("kernel").stdout).toBe(`${lines.slice(2).join("\n")}\n`);
  });

  it("keeps the newest dmesg lines when over the cap", async () => {
    const shell = "i=0; while [ $i -lt 500 ]; do printf '[%6d.000000] line %d\\n' $i $i; i=$((i + 1)); done";
    const { get } = await collect(
      [{ id: "kernel", type: "dmesg-window", shell, maxBytes: 1000, timeoutSeconds: 5 }],
      0,
    );
    expect(get("kernel").truncated).toBe(true);
    expect(get("kernel").bytes).toBeLessThanOrEqual(1000);
    expect(get("kernel").stdout.endsWith("[   499.000000] line 499\n")).toBe(true);
    expect(get("kernel").stdout.startsWith("[")).toBe(true);
  });
});
