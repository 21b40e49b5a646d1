import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cmd, collect, logWin, NONCE, nginxLine, sh, TRACE } from "../../test/support/run-script.js";
import { buildScript } from "./script.js";
import { parseClock, splitSections } from "./sections.js";
import { shellInput } from "./shell-input.js";
import { shQuote } from "./shell-quote.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "why502-script-"));
  chmodSync(dir, 0o755);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

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
    const { get, incomplete } = await collect([cmd("out", `${print}; ${print} >&2`), logWin("log", log)], 0);
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
    const closed = join(dir, "closed");
    mkdirSync(closed, { mode: 0o700 });
    writeFileSync(join(closed, "error.log"), "2026/11/25 12:00:00 [error] 1#1: hidden\n");
    const { get } = await collect(
      [
        cmd("cat", `cat ${shQuote(secret)}`),
        logWin("log", secret),
        logWin("in-closed-dir", join(closed, "error.log")),
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
    expect(get("in-closed-dir")).toMatchObject({ exitCode: 1, denied: true, stdout: "" });
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
      // a builtin too: the part markers of a log window read across rotated files (window.sh.ts)
      `  [ -n "$W_PT" ] && printf '@@why502:%s part %s\\n' "$W_N" "$2"`,
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

describe("portability", () => {
  it("gives the same sections under dash and bash (the /bin/sh of Debian and of RHEL)", async () => {
    const log = join(dir, "same.log");
    writeFileSync(
      log,
      `${nginxLine("2026/11/25 11:59:59", 1)}${TRACE}${nginxLine("2026/11/25 12:00:00", 2)}`,
    );
    const script = buildScript(
      [
        cmd("cmd", "printf 'x\\ny'; echo e >&2; exit 4"),
        cmd("big", "seq 1 100000", 100),
        logWin("log", log),
        {
          id: "kernel",
          type: "dmesg-window",
          shell: "printf '[ 1.5] a\\nb\\n'",
          maxBytes: 100,
          timeoutSeconds: 5,
        },
      ],
      { sinceEpochSeconds: Date.UTC(2026, 10, 25, 12, 0, 0) / 1000, nonce: NONCE },
    );
    const results = [];
    for (const shell of ["dash", "bash"]) {
      const child = spawnSync(shell, ["-s"], {
        input: script,
        encoding: "utf8",
        env: { ...process.env, TZ: "UTC" },
      });
      const { sections } = splitSections(child.stdout, child.stderr, NONCE);
      results.push([...sections.values()].map((r) => ({ ...r, durationMs: 0 })));
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[0]?.map((r) => [r.id, r.stdout, r.exitCode])).toEqual([
      ["cmd", "x\ny\n", 4],
      [
        "big",
        Array.from({ length: 100 }, (_, n) => `${n + 1}\n`)
          .join("")
          .slice(0, 100),
        141,
      ],
      ["log", nginxLine("2026/11/25 12:00:00", 2), 0],
      ["kernel", "[ 1.5] a\nb\n", 0],
    ]);
  });
});

describe("clock", () => {
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
