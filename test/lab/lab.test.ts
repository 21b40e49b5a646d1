import { execFile } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { type AccessEntry, accessEntries, dmesg, ERROR_KINDS, errorLines } from "./evidence.js";
import { type Lab, startLab } from "./lab.js";
import { labConfig } from "./lab-config.js";
import { LabInfo, type ScenarioName } from "./lab-info.js";
import { SUDOERS_DROP_IN } from "./lab-user.js";
import { accepts } from "./ports.js";
import { alive } from "./procs.js";
import { runScenario, type ScenarioSummary } from "./scenarios.js";

const execFileAsync = promisify(execFile);

let lab: Lab | undefined;

afterEach(async () => {
  const l = lab;
  lab = undefined;
  await l?.stop();
});

async function run(scenario: ScenarioName): Promise<{ lab: Lab; summary: ScenarioSummary }> {
  lab = await startLab({ scenario });
  const summary = await runScenario(lab, scenario);
  return { lab, summary };
}

const failedAt = (entries: AccessEntry[], target: string) =>
  entries.filter((e) => e.status === 502 && e.upstream === target);

function lineKinds(lines: string[]): string[] {
  return Object.entries(ERROR_KINDS)
    .filter(([, re]) => lines.some((l) => re.test(l)))
    .map(([k]) => k)
    .sort();
}

const read = (path: string | undefined) => readFileSync(path ?? "", "utf8");

/** The memory cgroup's count of OOM kills so far. */
const oomKillCount = (l: Lab) =>
  /^oom_kill (\d+)$/m.exec(read(`${l.backends[0]?.info.cgroup}/memory.oom_control`))?.[1];

/** Whether the kernel would write a core for this process's children (fs/coredump.c, as the supervisor decides). */
function coresDumped(): boolean {
  const pattern = read("/proc/sys/kernel/core_pattern").trim();
  const limit = /^Max core file size\s+(\S+)/m.exec(read("/proc/self/limits"))?.[1] ?? "0";
  const bytes = limit === "unlimited" ? Number.POSITIVE_INFINITY : Number(limit);
  return pattern.startsWith("|") ? bytes !== 1 : bytes >= 4096;
}

/** Backend 1 answered before the failure, failed (502) after it, and answered again once restarted. */
function expectServedFailedServed(entries: AccessEntry[], target: string): void {
  const at = entries.map((e, i) => ({ ...e, i })).filter((e) => e.upstream === target);
  const firstFail = at.find((e) => e.status === 502)?.i ?? -1;
  expect(firstFail).toBeGreaterThan(-1);
  expect(at.some((e) => e.status === 200 && e.i < firstFail)).toBe(true);
  expect(at.some((e) => e.status === 200 && e.i > firstFail)).toBe(true);
}

async function stopAndCheckClean(l: Lab): Promise<void> {
  const pids = [
    l.nginx.pid,
    ...l.backends.map((b) => b.info.supervisorPid),
    ...l.backends.flatMap((b) => b.events.flatMap((e) => ("pid" in e ? [e.pid] : []))),
  ];
  await l.stop();
  for (const cg of l.info.cgroups) expect(existsSync(cg), cg).toBe(false);
  expect(pids.filter(alive)).toEqual([]);
  expect(existsSync(SUDOERS_DROP_IN)).toBe(false);
  expect(existsSync(l.dir)).toBe(false);
}

describe("lab scenarios", () => {
  it("healthy: only 200s, an empty error log, lab.json that parses, a clean stop (twice)", async () => {
    const { lab: l, summary } = await run("healthy");
    expect(summary.expected).toEqual([{ target: "checkout", verdict: "healthy" }]);
    const entries = await accessEntries(l);
    expect(entries).toHaveLength(40);
    expect(entries.filter((e) => e.status !== 200)).toEqual([]);
    expect(new Set(entries.map((e) => e.upstream))).toEqual(
      new Set(["127.0.0.11:18080", "127.0.0.12:18080"]),
    );
    expect(await errorLines(l)).toEqual([]);

    const info = LabInfo.parse(JSON.parse(readFileSync(l.jsonPath, "utf8")));
    expect(info.gateway.host).toBe("127.0.0.10");
    expect(info.gateway.nginx.testCommand).toBe(
      `/usr/sbin/nginx -T -p ${l.nginx.dir} -c ${l.nginx.confPath}`,
    );
    expect(info.backends.map((b) => [b.target, b.unit, b.mode])).toEqual([
      ["127.0.0.11:18080", "checkout-1.service", "ok"],
      ["127.0.0.12:18080", "checkout-2.service", "ok"],
    ]);
    expect(info.cgroups).toEqual([
      "/sys/fs/cgroup/memory/why502-lab-checkout-1",
      "/sys/fs/cgroup/memory/why502-lab-checkout-2",
    ]);
    for (const b of l.backends) {
      const pid = b.currentPid();
      expect(pid).toBeDefined();
      expect(readFileSync(`${b.info.cgroup}/cgroup.procs`, "utf8").trim()).toBe(String(pid));
      expect(readFileSync(`${b.info.cgroup}/memory.limit_in_bytes`, "utf8").trim()).toBe(String(64 << 20));
    }
    await stopAndCheckClean(l);
    await l.stop();
  });

  it("crash: an uncaught TypeError, 502s (premature close, then 111), a restart", async () => {
    const { lab: l, summary } = await run("crash");
    const target = "127.0.0.11:18080";
    expect(summary.expected).toEqual([{ target, verdict: "crashed" }]);
    expect(failedAt(await accessEntries(l), target).length).toBeGreaterThan(0);
    const kinds = lineKinds(await errorLines(l, target));
    expect(kinds).toContain("prematureClose");
    expect(kinds).toContain("refused");
    const [b1] = summary.backends;
    expect(b1?.exit).toEqual({ code: 1, signal: null, result: "exit-code" });
    expect(b1?.pidAfter).not.toBe(b1?.pidBefore);
    expect(b1?.restarts).toBe(1);
    const b = l.backends[0];
    const log = readFileSync(b?.info.logPath ?? "", "utf8");
    expect(log).toMatch(
      /\nTypeError: Cannot read properties of undefined \(reading 'id'\)\n {4}at priceOrder \(/,
    );
    expect(log).toMatch(/\nNode\.js v\d+\.\d+\.\d+\n/);
    const journal = readFileSync(b?.info.journalPath ?? "", "utf8");
    expect(journal).toMatch(
      /^\w{3} \d\d \d\d:\d\d:\d\d \S+ systemd\[1\]: checkout-1\.service: Main process exited, code=exited, status=1\/FAILURE$/m,
    );
    expect(journal).toContain("checkout-1.service: Failed with result 'exit-code'.");
    expect(journal).toContain("checkout-1.service: Scheduled restart job, restart counter is at 1.");
    expect(summary.backends[1]?.restarts).toBe(0);
    await stopAndCheckClean(l);
  });

  it("oom: the kernel kills the old pid in its memory cgroup, 502s, a restart", async () => {
    const { lab: l, summary } = await run("oom");
    const target = "127.0.0.11:18080";
    expect(summary.expected).toEqual([{ target, verdict: "oom_killed" }]);
    const [b1] = summary.backends;
    expect(b1?.exit).toEqual({ code: null, signal: "SIGKILL", result: "oom-kill" });
    expect(b1?.pidAfter).not.toBe(b1?.pidBefore);
    expect(await dmesg()).toMatch(
      new RegExp(`Memory cgroup out of memory: Killed process ${b1?.pidBefore} \\(node\\)`),
    );
    expect(await dmesg()).toMatch(
      new RegExp(
        `oom-kill:constraint=CONSTRAINT_MEMCG,.*oom_memcg=/why502-lab-checkout-1,.*pid=${b1?.pidBefore},`,
      ),
    );
    expect(failedAt(await accessEntries(l), target).length).toBeGreaterThan(0);
    expect(lineKinds(await errorLines(l, target))).toContain("refused");
    const journal = readFileSync(l.backends[0]?.info.journalPath ?? "", "utf8");
    expect(journal).toContain(
      "checkout-1.service: A process of this unit has been killed by the OOM killer.",
    );
    expect(journal).toContain("checkout-1.service: Main process exited, code=killed, status=9/KILL");
    expect(journal).toContain("checkout-1.service: Failed with result 'oom-kill'.");
    await stopAndCheckClean(l);
  });

  it("fatal: a log.Fatal-style line and exit 1 without a stack, only 111s, a restart", async () => {
    const { lab: l, summary } = await run("fatal");
    const target = "127.0.0.11:18080";
    expect(summary.expected).toEqual([{ target, verdict: "exited_on_purpose" }]);
    expect(lineKinds(await errorLines(l, target))).toEqual(["refused"]);
    expect(failedAt(await accessEntries(l), target).length).toBeGreaterThan(0);
    const [b1] = summary.backends;
    expect(b1?.exit).toEqual({ code: 1, signal: null, result: "exit-code" });
    expect(b1?.pidAfter).not.toBe(b1?.pidBefore);
    const log = readFileSync(l.backends[0]?.info.logPath ?? "", "utf8");
    expect(log).toMatch(
      /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d fatal: config reload failed: ENOENT: no such file or directory, open '.*flags\.json'$/m,
    );
    expect(log).not.toMatch(/^ {4}at /m);
    expect(readFileSync(l.backends[0]?.info.journalPath ?? "", "utf8")).toContain("status=1/FAILURE");
    await stopAndCheckClean(l);
  });

  it("write-timeout: /slow cut at 2 s by backend 1 (premature close), no restart", async () => {
    const { lab: l, summary } = await run("write-timeout");
    const target = "127.0.0.11:18080";
    expect(summary.expected).toEqual([{ target, verdict: "write_timeout" }]);
    const entries = await accessEntries(l);
    const failed = failedAt(entries, target);
    expect(failed.length).toBe(3);
    for (const e of failed) {
      expect(e.line).toContain('"GET /slow HTTP/1.1"');
      expect(e.rt).toBeGreaterThanOrEqual(2.0);
      expect(e.rt).toBeLessThan(2.3);
    }
    const slowOk = entries.filter((e) => e.status === 200 && e.line.includes("/slow"));
    expect(slowOk.map((e) => e.upstream)).toEqual([
      "127.0.0.12:18080",
      "127.0.0.12:18080",
      "127.0.0.12:18080",
    ]);
    for (const e of slowOk) expect(e.rt).toBeGreaterThanOrEqual(5.0);
    expect(lineKinds(await errorLines(l, target))).toEqual(["prematureClose"]);
    for (const b of summary.backends) {
      expect(b.restarts).toBe(0);
      expect(b.pidAfter).toBe(b.pidBefore);
    }
    await stopAndCheckClean(l);
  });

  it("stale-upstream: a reload points nginx at 127.0.0.13, where nothing listens", async () => {
    const { lab: l, summary } = await run("stale-upstream");
    const stale = "127.0.0.13:18080";
    expect(summary.expected).toEqual([{ target: stale, verdict: "stale_upstream" }]);
    expect(summary.servers).toEqual(["127.0.0.11:18080", stale]);
    const { stdout } = await execFileAsync(l.nginx.binary, l.nginx.testArgs);
    expect(stdout).toContain(`server ${stale} max_fails=0;`);
    expect(stdout).not.toContain("server 127.0.0.12:18080");
    expect(failedAt(await accessEntries(l), stale).length).toBeGreaterThan(0);
    expect(lineKinds(await errorLines(l, stale))).toEqual(["refused"]);
    expect(await errorLines(l, "127.0.0.11:18080")).toEqual([]);
    for (const b of summary.backends) expect(b.restarts).toBe(0);
    await stopAndCheckClean(l);
  });

  it("two-causes: backend 1 OOM-killed while nginx also routes to the stale 127.0.0.13", async () => {
    const { lab: l, summary } = await run("two-causes");
    expect(summary.expected).toEqual([
      { target: "127.0.0.11:18080", verdict: "oom_killed" },
      { target: "127.0.0.13:18080", verdict: "stale_upstream" },
    ]);
    const entries = await accessEntries(l);
    expect(failedAt(entries, "127.0.0.11:18080").length).toBeGreaterThan(0);
    expect(failedAt(entries, "127.0.0.13:18080").length).toBeGreaterThan(0);
    expect(failedAt(entries, "127.0.0.12:18080")).toEqual([]);
    const [b1] = summary.backends;
    expect(b1?.exit?.result).toBe("oom-kill");
    expect(await dmesg()).toContain(`Memory cgroup out of memory: Killed process ${b1?.pidBefore} (node)`);
    await stopAndCheckClean(l);
  });

  it("killed: SIGKILL by hand while requests flow, no OOM and no stack, 502s, a restart", async () => {
    const { lab: l, summary } = await run("killed");
    const target = "127.0.0.11:18080";
    expect(summary.expected).toEqual([{ target, verdict: "crashed_no_trace" }]);
    const [b1] = summary.backends;
    expect(b1?.exit).toEqual({ code: null, signal: "SIGKILL", result: "signal" });
    expect(b1?.pidAfter).not.toBe(b1?.pidBefore);
    expect(alive(b1?.pidBefore ?? 0)).toBe(false);
    expect(b1?.restarts).toBe(1);
    expect(summary.backends[1]?.restarts).toBe(0);
    expectServedFailedServed(await accessEntries(l), target);
    expect(lineKinds(await errorLines(l, target))).toContain("refused");
    const journal = read(l.backends[0]?.info.journalPath);
    expect(journal).toMatch(
      /^\w{3} \d\d \d\d:\d\d:\d\d \S+ systemd\[1\]: checkout-1\.service: Main process exited, code=killed, status=9\/KILL$/m,
    );
    expect(journal).toContain("checkout-1.service: Failed with result 'signal'.");
    expect(journal).toContain("checkout-1.service: Scheduled restart job, restart counter is at 1.");
    expect(journal).not.toContain("OOM killer");
    expect(journal).not.toContain("oom-kill");
    expect(oomKillCount(l)).toBe("0");
    expect(await dmesg()).not.toMatch(new RegExp(`Killed process ${b1?.pidBefore} \\(`));
    const log = read(l.backends[0]?.info.logPath);
    expect(log).not.toMatch(/^ {4}at /m);
    expect(log).not.toMatch(/^Node\.js v/m);
    await stopAndCheckClean(l);
  });

  it("segv: backend 1 dies of SIGSEGV while requests flow, systemd's code=killed|dumped, a restart", async () => {
    const { lab: l, summary } = await run("segv");
    const target = "127.0.0.11:18080";
    expect(summary.expected).toEqual([{ target, verdict: "crashed_segfault" }]);
    const [b1] = summary.backends;
    const dumped = coresDumped();
    expect(b1?.exit).toEqual({ code: null, signal: "SIGSEGV", result: dumped ? "core-dump" : "signal" });
    expect(b1?.pidAfter).not.toBe(b1?.pidBefore);
    expect(b1?.restarts).toBe(1);
    expectServedFailedServed(await accessEntries(l), target);
    expect(lineKinds(await errorLines(l, target))).toContain("refused");
    const journal = read(l.backends[0]?.info.journalPath);
    expect(journal).toContain(
      `checkout-1.service: Main process exited, code=${dumped ? "dumped" : "killed"}, status=11/SEGV`,
    );
    expect(journal).toContain(`checkout-1.service: Failed with result '${dumped ? "core-dump" : "signal"}'.`);
    expect(journal).toContain("checkout-1.service: Scheduled restart job, restart counter is at 1.");
    expect(journal).not.toContain("OOM killer");
    expect(oomKillCount(l)).toBe("0");
    expect(read(l.backends[0]?.info.logPath)).not.toMatch(/^ {4}at /m);
    await stopAndCheckClean(l);
  });

  it("down: backend 1 stopped before the window, nothing listens, only 111s, no exit or restart in it", async () => {
    const { lab: l, summary } = await run("down");
    const b = l.backends[0];
    if (b === undefined) throw new Error("no backend");
    const target = "127.0.0.11:18080";
    expect(summary.expected).toEqual([{ target, verdict: "down" }]);
    const [b1, b2] = summary.backends;
    expect(b1).toEqual({
      name: "checkout-1",
      target,
      pidBefore: undefined,
      pidAfter: undefined,
      restarts: 0,
    });
    expect(b2?.restarts).toBe(0);
    expect(existsSync(b.info.pidFile)).toBe(false);
    expect(await accepts(b.info.address, b.info.port)).toBe(false);
    expect(alive(b.info.supervisorPid)).toBe(false);
    expect(b.events.flatMap((e) => ("pid" in e ? [e.pid] : [])).filter(alive)).toEqual([]);
    expect(b.events.at(-1)?.event).toBe("stopped");
    // The host is up: only the service is down.
    expect(await accepts(b.info.address, l.info.ssh?.port ?? 0)).toBe(true);
    const entries = await accessEntries(l);
    const at = entries.filter((e) => e.upstream === target);
    expect(at.length).toBeGreaterThan(0);
    expect(at.filter((e) => e.status !== 502)).toEqual([]);
    expect(lineKinds(await errorLines(l, target))).toEqual(["refused"]);
    // One refused connect per request it got, and the other replica served the rest.
    expect(await errorLines(l, target)).toHaveLength(at.length);
    expect(entries.filter((e) => e.upstream !== target).map((e) => [e.upstream, e.status])).toEqual(
      Array.from({ length: 20 - at.length }, () => ["127.0.0.12:18080", 200]),
    );
    const journal = read(b.info.journalPath).trimEnd().split("\n");
    expect(journal.slice(-3).map((line) => line.replace(/^.* systemd\[1\]: /, ""))).toEqual([
      "Stopping checkout-1.service...",
      "checkout-1.service: Deactivated successfully.",
      "Stopped checkout-1.service.",
    ]);
    // Its last line was written more than a second before the window: whole-second stamps stay out of it.
    expect(statSync(b.info.journalPath).mtimeMs).toBeLessThan(Date.parse(summary.startedAt) - 1000);
    await stopAndCheckClean(l);
  });

  it("host-down: nginx routes to 127.0.0.13, which the inventory lists but where nothing answers, not even sshd", async () => {
    const { lab: l, summary } = await run("host-down");
    const dead = "127.0.0.13:18080";
    expect(summary.expected).toEqual([{ target: dead, verdict: "host_unreachable" }]);
    expect(summary.extraInstances).toEqual([{ name: "checkout-3", address: "127.0.0.13" }]);
    expect(summary.servers).toEqual(["127.0.0.11:18080", "127.0.0.12:18080", dead]);
    const { stdout } = await execFileAsync(l.nginx.binary, l.nginx.testArgs);
    expect(stdout).toContain(`server ${dead} max_fails=0;`);
    const ssh = l.info.ssh;
    if (ssh === null) throw new Error("no sshd");
    expect(await accepts("127.0.0.13", ssh.port)).toBe(false);
    await expect(
      execFileAsync("ssh", [
        ...["-i", ssh.keyPath, "-p", String(ssh.port), "-o", `UserKnownHostsFile=${ssh.knownHostsPath}`],
        ...["-o", "BatchMode=yes", "-o", "ConnectTimeout=3", `${ssh.user}@127.0.0.13`, "true"],
      ]),
    ).rejects.toThrow(/Connection refused/);
    expect(failedAt(await accessEntries(l), dead).length).toBeGreaterThan(0);
    expect(lineKinds(await errorLines(l, dead))).toEqual(["refused"]);
    expect(await errorLines(l, "127.0.0.11:18080")).toEqual([]);
    expect(await errorLines(l, "127.0.0.12:18080")).toEqual([]);
    for (const b of summary.backends) expect(b.restarts).toBe(0);
    const config = labConfig(l.info, { extraInstances: summary.extraInstances }) as {
      hosts: Record<string, { address: string }>;
      services: { checkout: { backends: { instances: { host: string; process: { pid_file: string } }[] } } };
    };
    expect(config.hosts["checkout-3"]).toEqual({ address: "127.0.0.13" });
    expect(config.services.checkout.backends.instances.map((i) => i.host)).toEqual([
      "checkout-1",
      "checkout-2",
      "checkout-3",
    ]);
    expect(config.services.checkout.backends.instances[2]?.process.pid_file).toBe(
      `${l.dir}/backends/checkout-3/checkout-3.pid`,
    );
    await stopAndCheckClean(l);
  });
});

describe("lab lifecycle", () => {
  it("refuses a second lab while one runs, naming the taken ports, and leaves the first one serving", async () => {
    lab = await startLab({ scenario: "healthy" });
    const pids = lab.backends.map((b) => b.currentPid());
    await expect(startLab({ scenario: "healthy", ssh: false })).rejects.toThrow(
      "already in use: 127.0.0.10:18000, 127.0.0.11:18080, 127.0.0.12:18080 (is another lab running?)",
    );
    expect(existsSync(SUDOERS_DROP_IN)).toBe(true);
    expect(lab.backends.map((b) => b.currentPid())).toEqual(pids);
    const summary = await runScenario(lab, "healthy");
    expect(summary.requests.byStatus).toEqual({ 200: 40 });
    await stopAndCheckClean(lab);
  });
});

describe("lab hosts over ssh", () => {
  it("the lab user logs in to the gateway and a backend, reads the logs, runs only the allowed sudo commands", async () => {
    const { lab: l } = await run("healthy");
    const ssh = l.info.ssh;
    if (ssh === null) throw new Error("no sshd");
    const remote = async (host: string, cmd: string) =>
      execFileAsync("ssh", [
        ...["-i", ssh.keyPath, "-p", String(ssh.port), "-o", `UserKnownHostsFile=${ssh.knownHostsPath}`],
        ...["-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", `${ssh.user}@${host}`, cmd],
      ]);
    const gw = await remote(
      "127.0.0.10",
      `id -nG; tail -n 1 ${l.nginx.accessLog}; sudo -n ${l.info.gateway.nginx.testCommand}`,
    );
    expect(gw.stdout.split("\n")[0]?.split(" ")).toContain("adm");
    expect(gw.stdout).toMatch(/ 200 \d+ .* ua="127\.0\.0\.1[12]:18080" us="200"\n/);
    expect(gw.stdout).toContain("upstream checkout {");
    const b = l.backends[1]?.info;
    const be = await remote(
      "127.0.0.12",
      `cat ${b?.pidFile}; tail -n 1 ${b?.journalPath}; sudo -n /usr/bin/dmesg -T | tail -n 1`,
    );
    expect(be.stdout.split("\n")[0]).toBe(String(l.backends[1]?.currentPid()));
    expect(be.stdout).toContain("systemd[1]: Started checkout-2.service.");
    await expect(remote("127.0.0.12", "sudo -n /usr/bin/dmesg -C")).rejects.toThrow();
    await expect(remote("127.0.0.12", "dmesg")).rejects.toThrow();
    await stopAndCheckClean(l);
  });

  it("the bench variant: 50 backends on 127.0.0.41..90, sshd on each of them", async () => {
    lab = await startLab({ scenario: "healthy", backends: 50 });
    const l = lab;
    const ssh = l.info.ssh;
    if (ssh === null) throw new Error("no sshd");
    expect(l.info.backends.map((b) => b.address)).toEqual(
      Array.from({ length: 50 }, (_, i) => `127.0.0.${41 + i}`),
    );
    expect(ssh.addresses).toHaveLength(51);
    expect(ssh.instances.length).toBe(4);
    const summary = await runScenario(l, "healthy");
    expect(summary.requests.byStatus).toEqual({ 200: 40 });
    for (const host of ["127.0.0.10", "127.0.0.90"]) {
      const { stdout } = await execFileAsync("ssh", [
        ...["-i", ssh.keyPath, "-p", String(ssh.port), "-o", `UserKnownHostsFile=${ssh.knownHostsPath}`],
        ...["-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", `${ssh.user}@${host}`, "echo ok"],
      ]);
      expect(stdout).toBe("ok\n");
    }
    await stopAndCheckClean(l);
  });
});
