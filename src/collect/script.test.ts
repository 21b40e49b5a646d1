import { spawn, spawnSync } from "node:child_process";
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
import { buildScript, type SectionSpec } from "./script.js";
import { parseClock, type SectionResult, splitSections } from "./sections.js";
import { shellInput } from "./shell-input.js";
import { shQuote } from "./shell-quote.js";
import { AWK_TIME } from "./window.sh.js";

const NONCE = "T3stN0nce0123456789";

interface Run {
  stdout: string;
  stderr: string;
  code: number | null;
}

/**
 * Runs a script the way the transports do: `sh -s` with the script on stdin, in its own process
 * group. With `holdStdin`, stdin stays open until the shell exits, as a transport keeps the channel
 * open (shellInput()'s watchdog kills the group when its stdin ends).
 */
function sh(
  script: string,
  opts: { env?: Record<string, string>; asNobody?: boolean; holdStdin?: boolean } = {},
): Promise<Run> {
  const argv = opts.asNobody
    ? ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "sh", "-s"]
    : ["sh", "-s"];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0] ?? "sh", argv.slice(1), {
      env: { ...process.env, ...opts.env },
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("exit", () => child.stdin.end());
    child.on("close", (code) =>
      resolve({
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        code,
      }),
    );
    if (opts.holdStdin) child.stdin.write(script);
    else child.stdin.end(script);
  });
}

async function collect(
  sections: SectionSpec[],
  since: number,
  opts: { env?: Record<string, string>; asNobody?: boolean } = {},
): Promise<{ run: Run; get: (id: string) => SectionResult; incomplete: string[] }> {
  const run = await sh(buildScript(sections, { sinceEpochSeconds: since, nonce: NONCE }), opts);
  const { sections: map, incomplete } = splitSections(run.stdout, run.stderr, NONCE);
  return {
    run,
    incomplete,
    get: (id) => {
      const s = map.get(id);
      if (!s) throw new Error(`no section ${id}`);
      return s;
    },
  };
}

const cmd = (id: string, shell: string, maxBytes = 65536, timeoutSeconds = 5): SectionSpec => ({
  id,
  type: "command",
  shell,
  maxBytes,
  timeoutSeconds,
});

const logWin = (id: string, path: string, maxBytes = 4 << 20, rotated = true): SectionSpec => ({
  id,
  type: "log-window",
  path,
  maxBytes,
  rotated,
});

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "why502-script-"));
  chmodSync(dir, 0o755);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `YYYY/MM/DD HH:MM:SS` of an epoch second as wall time `offsetMin` east of UTC. */
function wall(epoch: number, offsetMin: number, sep = "/"): string {
  const d = new Date((epoch + offsetMin * 60) * 1000).toISOString();
  return `${d.slice(0, 10).replaceAll("-", sep)} ${d.slice(11, 19)}`;
}

/** A real nginx error-log line (reference section 1), at a given wall time and connection number. */
const nginxLine = (stamp: string, conn: number) =>
  `${stamp} [error] 6#6: *${conn} connect() failed (111: Connection refused) while connecting to upstream, client: 172.21.0.1, server: , request: "GET / HTTP/1.1", upstream: "http://172.21.0.19:9000/", host: "0.0.0.0:9000"\n`;

/** Lines without a timestamp: a Go panic's stack (reference section 7). */
const TRACE = "goroutine 1 [running]:\nmain.main()\n\t/path/main.go:92 +0x153\n";

describe("buildScript: framing, caps and statuses", () => {
  it("frames every section on stdout and stderr, and ends with done", async () => {
    const { run, get, incomplete } = await collect(
      [
        cmd("out", "printf 'one\\ntwo\\n'; echo to-stderr >&2"),
        cmd("empty", "true"),
        cmd("nonl", "printf abc"),
      ],
      0,
    );
    expect(run.code).toBe(0);
    expect(incomplete).toEqual([]);
    expect(run.stdout.endsWith(`@@why502:${NONCE} done\n`)).toBe(true);
    expect(run.stderr.endsWith(`@@why502:${NONCE} done\n`)).toBe(true);
    expect(get("out")).toMatchObject({ stdout: "one\ntwo\n", stderr: "to-stderr\n", exitCode: 0, bytes: 8 });
    expect(get("empty")).toMatchObject({ stdout: "", stderr: "", exitCode: 0, bytes: 0, truncated: false });
    // awk passes lines through: a last line without a newline gets one, and it is counted
    expect(get("nonl")).toMatchObject({ stdout: "abc\n", bytes: 4 });
    expect(get("out").durationMs).toEqual(expect.any(Number));
  });

  it("keeps hostile output inside its section: wrong-nonce markers are just text", async () => {
    const hostile = [
      "@@why502:AAAAAAAAAAAAAAAAAAA end out rc=0 bytes=0 truncated=0 ms=0",
      "@@why502:AAAAAAAAAAAAAAAAAAA done",
      `@@why502:${NONCE}x begin forged`,
      "",
    ].join("\n");
    const print = `printf '%s\\n' ${hostile.trimEnd().split("\n").map(shQuote).join(" ")}`;
    const log = join(dir, "hostile.log");
    writeFileSync(log, `2026/11/25 12:00:00 [error] 1#1: ${hostile.split("\n")[0]}\n${hostile}`);
    const { get, incomplete } = await collect(
      [cmd("out", `${print}; ${print} >&2`), logWin("log", log)],
      0,
    );
    expect(incomplete).toEqual([]);
    expect(get("out").stdout).toBe(hostile);
    expect(get("out").stderr).toBe(hostile);
    expect(get("log").stdout).toBe(readFileSync(log, "utf8"));
    expect(() => get("forged")).toThrow();
  });

  it("caps output on the host and keeps the status of a failing command", async () => {
    const { get } = await collect(
      [cmd("big", "seq 1 100000", 1000), cmd("fits", "seq 1 3", 6), cmd("fail", "echo partial; exit 3")],
      0,
    );
    const big = get("big");
    expect(big.truncated).toBe(true);
    expect(big.bytes).toBe(1000);
    expect(Buffer.byteLength(big.stdout)).toBe(1000);
    expect(big.stdout.startsWith("1\n2\n3\n")).toBe(true);
    expect(get("fits")).toMatchObject({ stdout: "1\n2\n3\n", bytes: 6, truncated: false, exitCode: 0 });
    expect(get("fail")).toMatchObject({ stdout: "partial\n", exitCode: 3, truncated: false });
  });

  it("reports missing commands and timeouts, and goes on with the next sections", async () => {
    const { get, run } = await collect(
      [
        cmd("missing", "why502-no-such-command --x"),
        cmd("slow", "echo started; sleep 30", 1000, 1),
        cmd("after", "echo still here"),
      ],
      0,
    );
    expect(get("missing")).toMatchObject({ exitCode: 127, missing: true, denied: false });
    expect(get("missing").stderr).toMatch(/why502-no-such-command: not found/);
    expect(get("slow")).toMatchObject({ exitCode: 124, timedOut: true, stdout: "started\n" });
    expect(get("after")).toMatchObject({ stdout: "still here\n", exitCode: 0 });
    expect(run.stdout).toMatch(/ end slow rc=124 bytes=8 truncated=0 ms=\d+ timeout=1\n/);
  });

  it("reports permission denied for commands and log files read as another user", async () => {
    const secret = join(dir, "secret.log");
    writeFileSync(secret, "2026/11/25 12:00:00 [error] 1#1: secret\n", { mode: 0o600 });
    chmodSync(secret, 0o600);
    const { get } = await collect(
      [
        cmd("cat", `cat ${shQuote(secret)}`),
        logWin("log", secret),
        logWin("gone", join(dir, "no-such.log")),
        cmd("who", "id -un"),
      ],
      0,
      { asNobody: true },
    );
    expect(get("who").stdout).toBe("nobody\n");
    expect(get("cat")).toMatchObject({ exitCode: 1, denied: true, stdout: "" });
    expect(get("log")).toMatchObject({ exitCode: 1, denied: true, stdout: "" });
    expect(get("log").stderr).toBe(`why502: ${secret}: Permission denied\n`);
    expect(get("gone")).toMatchObject({ exitCode: 2, denied: false, stdout: "" });
    expect(get("gone").stderr).toBe(`why502: ${join(dir, "no-such.log")}: No such file or directory\n`);
  });

  it("runs the same inside the transports' shellInput() wrapper", async () => {
    const script = buildScript([cmd("a", "echo a; cat"), { id: "clock", type: "clock" }], {
      sinceEpochSeconds: 0,
      nonce: NONCE,
    });
    const run = await sh(shellInput(script), { holdStdin: true });
    const { sections, incomplete } = splitSections(run.stdout, run.stderr, NONCE);
    expect(incomplete).toEqual([]);
    // `cat` reads /dev/null, not the rest of the script
    expect(sections.get("a")?.stdout).toBe("a\n");
    expect(sections.get("clock")?.exitCode).toBe(0);
  });

  it("refuses bad specs and nonces", () => {
    const ok = { sinceEpochSeconds: 0, nonce: NONCE };
    expect(() => buildScript([cmd("Bad Id", "true")], ok)).toThrow(/not \[a-z0-9._-\]\+/);
    expect(() => buildScript([cmd("a", "true"), cmd("a", "true")], ok)).toThrow(/duplicate/);
    expect(() => buildScript([cmd("a", "echo a\nreboot")], ok)).toThrow(/newline/);
    expect(() => buildScript([cmd("a", "true", 0)], ok)).toThrow(/maxBytes/);
    expect(() => buildScript([cmd("a", "true", 10, 0)], ok)).toThrow(/timeoutSeconds/);
    expect(() => buildScript([logWin("a", "relative.log")], ok)).toThrow(/absolute/);
    expect(() => buildScript([], { sinceEpochSeconds: 0, nonce: "short" })).toThrow(/nonce/);
    expect(() => buildScript([], { sinceEpochSeconds: 0, nonce: "has space 0123456789" })).toThrow(/nonce/);
    expect(() => buildScript([], { sinceEpochSeconds: 1.5, nonce: NONCE })).toThrow(/sinceEpochSeconds/);
  });

  it("never passes the nonce to a program, so `ps` cannot show it", () => {
    const script = buildScript([cmd("ps", "ps -ef"), logWin("log", "/var/log/x.log")], {
      sinceEpochSeconds: 0,
      nonce: NONCE,
    });
    const uses = script.split("\n").filter((l) => l.includes(NONCE) || l.includes("$W_N"));
    expect(uses).toEqual([
      `W_N=${NONCE}`,
      ...Array(4).fill(expect.stringMatching(/^ {2}printf '(\\n)?@@why502:%s (begin|end) %s.*' "\$W_N"/)),
      `printf '@@why502:%s done\\n' "$W_N"`,
      `printf '@@why502:%s done\\n' "$W_N" >&5`,
    ]);
  });

  it("stays small for a typical host of 8 sections", () => {
    const script = buildScript(
      [
        { id: "clock", type: "clock" },
        cmd("addresses", "ip -o addr show 2>/dev/null || hostname -I"),
        cmd("ps", `pid=$(cat ${shQuote("/run/app.pid")}) && LC_ALL=C ps -o pid,lstart,etimes,args -p "$pid"`),
        cmd("ss", `ss -ltnpH ${shQuote("sport = :8080")}`),
        cmd("systemd-show", `systemctl show -p Id,MainPID,NRestarts ${shQuote("app.service")}`),
        cmd("systemd-journal", "journalctl -u 'app.service' --since @1795600000 -o short-iso --no-pager -q"),
        { id: "kernel", type: "dmesg-window", shell: "dmesg", maxBytes: 1 << 20, timeoutSeconds: 5 },
        logWin("app-log-1", "/var/log/app/app.log"),
      ],
      { sinceEpochSeconds: 1795600000, nonce: NONCE },
    );
    expect(script.length).toBeLessThan(16 * 1024);
  });
});

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

/** Wall-clock key `YYYYMMDDHHMMSS` of an epoch second at `offsetMin`. */
const keyOf = (epoch: number, offsetMin: number) => wall(epoch, offsetMin).replace(/\D/g, "");

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
});

describe("log-window: rotated files", () => {
  const T0 = Date.UTC(2026, 10, 24, 0, 0, 0) / 1000;
  const env = { TZ: "UTC" };
  let base: string;
  const block = (from: number, n: number) =>
    Array.from(
      { length: n },
      (_, i) => nginxLine(wall(T0 + from + i, 0), from + i) + (i % 97 === 0 ? TRACE : ""),
    ).join("");
  const part = (from: number, n: number, since: number) => {
    const lines = block(from, n);
    const at = lines.indexOf(wall(T0 + since, 0));
    return at < 0 ? (since < from ? lines : "") : lines.slice(at);
  };

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
  });

  it("reads .1 when the current file was just rotated (empty), and nothing older when rotated is false", async () => {
    const fresh = join(dir, "rot", "fresh.log");
    writeFileSync(fresh, "");
    writeFileSync(`${fresh}.1`, block(2000, 1000));
    const rotated = await collect([logWin("log", fresh)], T0 + 2500, { env });
    expect(rotated.get("log").stdout === part(2000, 1000, 2500)).toBe(true);
    const plain = await collect([logWin("log", base, 1 << 20, false)], T0 + 1500, { env });
    expect(plain.get("log").stdout === block(3000, 1000)).toBe(true);
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
      const { get } = await collect([logWin("log", path, 4 << 20)], T0 + windowSecond, {
        env: { TZ: "UTC" },
      });
      const got = get("log");
      expect(got).toMatchObject({ exitCode: 0, truncated: false, bytes: size - start });
      expect(got.bytes).toBeGreaterThan(1.9 * 1024 * 1024);
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

describe("dmesg-window and clock", () => {
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

  it("reads the host clock, zone and boot time", async () => {
    const before = Date.now();
    const { get } = await collect([{ id: "clock", type: "clock" }], 0, { env: { TZ: "Asia/Kolkata" } });
    const clock = parseClock(get("clock"));
    if ("error" in clock) throw new Error(clock.error);
    expect(clock.utcOffsetMinutes).toBe(330);
    expect(clock.zoneAbbrev).toBe("IST");
    expect(clock.timezone).toBe("Asia/Kolkata");
    expect(Math.abs(clock.nowMs - before)).toBeLessThan(5000);
    const uptime = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
    expect(Math.abs(clock.uptimeSeconds - uptime)).toBeLessThan(5);
    expect(Math.abs(Date.parse(clock.bootTimeIso) - (before - uptime * 1000))).toBeLessThan(5000);
  });
});
