import { execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  chownSync,
  closeSync,
  constants,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { open, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { gone } from "../support/gone.js";
import { comm, fifo, holders, parentOf, silentResolver } from "./fault-tools.js";
import { type Lab, startLab } from "./lab.js";
import { labConfig } from "./lab-config.js";
import { groupId } from "./lab-user.js";
import { alive } from "./procs.js";
import { GATEWAY_ADDRESS } from "./scenario-plan.js";
import { runScenario, type ScenarioSummary } from "./scenarios.js";
import { sendTraffic } from "./traffic.js";
import { waitUntil } from "./wait.js";

const bin = new URL("../../bin/why502.js", import.meta.url).pathname;

let lab: Lab | undefined;
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  const l = lab;
  lab = undefined;
  await l?.stop();
});

interface DiagnosisJson {
  status: string;
  summary: string;
  verdicts: {
    target: string;
    cause: string;
    evidence: { host: string; source: string; line: number; text: string }[];
  }[];
  hosts: {
    name: string;
    ok: boolean;
    skewMs?: number;
    failure?: { code: string; message: string };
    commands: { id: string; ok: boolean; truncated: boolean; failure?: string }[];
  }[];
}

interface Diagnosed {
  d: DiagnosisJson;
  /** From the start to the whole diagnosis on stdout, and to the process's exit. */
  printedMs: number;
  exitedMs: number;
}

type LabYaml = ReturnType<typeof labYaml>;
/** The lab's why502.yaml as an object to bend: hosts, the one service's instances and defaults. */
function labYaml(l: Lab) {
  return labConfig(l.info) as {
    ssh: Record<string, unknown>;
    defaults: Record<string, unknown>;
    hosts: Record<string, { address: string }>;
    services: { checkout: { backends: { instances: { host: string; process: Record<string, string> }[] } } };
  };
}

/**
 * `why502 diagnose checkout --json` as a process (run through `wrap`, e.g. in its own mount namespace); resolves
 * when it exits, with the time its diagnosis was complete on stdout. The process is killed if the test fails.
 */
function diagnose(l: Lab, config: LabYaml, since: string, wrap: string[] = []): Promise<Diagnosed> {
  const path = join(l.dir, "why502.yaml");
  writeFileSync(path, stringify(config));
  const args = [bin, "diagnose", "checkout", "--config", path, "--since", since, "--json"];
  const [cmd, ...rest] = [...wrap, process.execPath, ...args];
  const started = performance.now();
  const child = spawn(cmd as string, rest, { stdio: ["ignore", "pipe", "pipe"] });
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  let out = "";
  let err = "";
  let printedMs: number | undefined;
  child.stdout.setEncoding("utf8").on("data", (s: string) => {
    out += s;
    if (printedMs === undefined && out.endsWith("}\n")) printedMs = performance.now() - started;
  });
  child.stderr.setEncoding("utf8").on("data", (s: string) => {
    err += s;
  });
  const done = new Promise<Diagnosed>((resolve, reject) => {
    child.once("exit", (code) => {
      if (code !== 0) return reject(new Error(`diagnose exited ${code}:\n${err}`));
      const exitedMs = performance.now() - started;
      resolve({ d: JSON.parse(out) as DiagnosisJson, printedMs: printedMs ?? exitedMs, exitedMs });
    });
  });
  // Awaited later by the test; a failure meanwhile is its failure, not an unhandled rejection.
  done.catch(() => undefined);
  return done;
}

/**
 * Opens the pipe for writing, which resolves once the collection opened it to read; fails if diagnose ends
 * first. A writer still waiting is let go by a reader that opens and closes at once (also on failure).
 */
async function openWhenRead(pipe: string, run: Promise<Diagnosed>) {
  const release = () => closeSync(openSync(pipe, constants.O_RDONLY | constants.O_NONBLOCK));
  const opening = open(pipe, "w");
  cleanups.push(async () => {
    release();
    await (await opening).close().catch(() => undefined);
  });
  const ended = run.then(() => {
    throw new Error("diagnose ended before it read the pipe");
  });
  return Promise.race([opening, ended]);
}

const sinceOf = (s: ScenarioSummary) => new Date(Date.parse(s.startedAt) - 1000).toISOString();
const host = (d: DiagnosisJson, name: string) => d.hosts.find((h) => h.name === name);
const verdicts = (d: DiagnosisJson) => d.verdicts.map((v) => `${v.target} ${v.cause}`).sort();

/** Rejects once diagnose has ended: it ended before `what`. */
function ended(run: Promise<Diagnosed>, what: string): Promise<never> {
  return run.then(() => {
    throw new Error(`diagnose ended before ${what}`);
  });
}

describe("faults cost only their timeout", () => {
  it("sshd killed in the middle of a host's collection: that host is reported lost, the rest is diagnosed", async () => {
    lab = await startLab({ scenario: "crash" });
    const summary = await runScenario(lab, "crash");
    const l = lab;
    const listener = l.info.ssh?.instances[0]?.pid as number;
    // checkout-2's pid file is a pipe: its collection waits there, in the middle, until the test has acted.
    const pipe = await fifo(join(l.dir, "checkout-2.pid.fifo"));
    const config = labYaml(l);
    const second = config.services.checkout.backends.instances.find((i) => i.host === "checkout-2");
    if (!second) throw new Error("the lab has no checkout-2");
    second.process = { pid_file: pipe };
    const run = diagnose(l, config, sinceOf(summary));

    await openWhenRead(pipe, run);
    const reader = await waitUntil(() => holders(pipe).find((p) => p !== process.pid), {
      what: "the reader",
    });
    // The sshd processes of that session, from the reading command up to the listener (which lives on).
    const session: number[] = [];
    for (let p = parentOf(reader); p > 1 && p !== listener; p = parentOf(p))
      if (readFileSync(`/proc/${p}/comm`, "utf8").trim() === "sshd") session.push(p);
    expect(session.length).toBeGreaterThan(0);
    const killedAt = performance.now();
    for (const p of session) {
      try {
        process.kill(p, "SIGKILL");
      } catch (e) {
        // the session's other sshd processes end with the first one killed: gone already is as good
        if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e;
      }
    }
    const { d } = await run;
    const afterKill = performance.now() - killedAt;

    // The connection's loss is seen at once, not at the 10 s command timeout, and said in one sentence.
    expect(afterKill).toBeLessThan(5000);
    // What arrived before the loss is kept, and the host is marked partial.
    const lost = host(d, "checkout-2");
    expect(lost?.failure?.code).toBe("unreachable");
    expect(lost?.failure?.message).toMatch(
      /^The connection to checkout-2 \(127\.0\.0\.12:2222\) was lost while a command was running; what arrived before is kept \(partial: [1-9]\d* of \d+ sections\)\.$/,
    );
    // Its clock arrived before the loss (the pid file is read by the first command).
    expect(lost?.skewMs).toBeDefined();
    expect(lost?.commands.map((c) => c.failure)).toContain(
      "unreachable: the connection was lost before the section finished",
    );
    expect(host(d, "gw")?.ok).toBe(true);
    expect(host(d, "checkout-1")?.ok).toBe(true);
    expect(verdicts(d)).toEqual(summary.expected.map((e) => `${e.target} ${e.verdict}`));
    // Nothing the collection started outlives its own bounds on the host: the session at once, the reading
    // command (run under `timeout -k 1 5`, in a process group of its own) by its section timeout.
    for (const p of session) expect(await gone(p)).toBe(true);
    expect(await gone(reader, 7000)).toBe(true);
    expect(alive(listener)).toBe(true);
  });

  it("the gateway's error log rotated after the failure (renamed, a new file, nginx reopened): read from the rotated file", async () => {
    lab = await startLab({ scenario: "crash" });
    const summary = await runScenario(lab, "crash");
    const l = lab;
    const log = l.info.gateway.nginx.errorLog;
    // As logrotate does it: rename, create 0640 root:adm, then postrotate `nginx -s reopen` (SIGUSR1).
    renameSync(log, `${log}.1`);
    writeFileSync(log, "", { mode: 0o640 });
    chownSync(log, 0, await groupId("adm"));
    process.kill(l.info.gateway.nginx.masterPid, "SIGUSR1");
    await waitUntil(() => (holders(`${log}.1`).length === 0 && holders(log).length > 0) || undefined, {
      what: "nginx to reopen its error log",
    });
    const { d, printedMs } = await diagnose(l, labYaml(l), sinceOf(summary));

    expect(printedMs).toBeLessThan(15_000);
    // Never "healthy" because the live file is empty: the window's errors are found where logrotate put them.
    expect(d.status).toBe("failing");
    expect(verdicts(d)).toEqual(summary.expected.map((e) => `${e.target} ${e.verdict}`));
    const rotated = readFileSync(`${log}.1`, "utf8");
    const cited = d.verdicts.flatMap((v) => v.evidence.filter((e) => e.host === "gw").map((e) => e.text));
    expect(cited.length).toBeGreaterThan(0);
    for (const line of cited) expect(rotated).toContain(line);
    // and cited by the name of the file they were read from
    const sources = d.verdicts.flatMap((v) => v.evidence.filter((e) => e.host === "gw").map((e) => e.source));
    expect(new Set(sources)).toEqual(new Set([`${log}.1`]));
    expect(readFileSync(log, "utf8")).toBe("");
  });

  it("the gateway's error log rotated in the middle of its read (after its size, before the search): the old file is read to its end", async () => {
    // The gateway's sessions find a stand-in `dd` first on their PATH: the first dd of the error log waits on
    // a pipe until the test has rotated the log, then runs the real dd.
    const hook = mkdtempSync(join(tmpdir(), "why502-rotate-hook-"));
    cleanups.push(() => rmSync(hook, { recursive: true, force: true }));
    chmodSync(hook, 0o777);
    const bin = join(hook, "bin");
    mkdirSync(bin, { mode: 0o755 });
    for (const name of ["reached", "go"]) execFileSync("mkfifo", ["-m", "0666", join(hook, name)]);
    lab = await startLab({
      scenario: "crash",
      sshdMatch: [
        `Match LocalAddress ${GATEWAY_ADDRESS}`,
        `  SetEnv PATH=${bin}:/usr/local/bin:/usr/bin:/bin`,
      ],
    });
    const summary = await runScenario(lab, "crash");
    const l = lab;
    const log = l.info.gateway.nginx.errorLog;
    writeFileSync(
      join(bin, "dd"),
      [
        "#!/bin/sh",
        `log=${log}`,
        `hook=${hook}`,
        'case " $* " in *" if=$log "*) at=$log ;; *) at=$(readlink /proc/$$/fd/6 2>/dev/null) ;; esac',
        'if [ "$at" = "$log" ] && [ ! -e "$hook/done" ]; then',
        '  : >"$hook/done"',
        '  echo reached >"$hook/reached"',
        '  read x <"$hook/go"',
        "fi",
        'exec /usr/bin/dd "$@"',
        "",
      ].join("\n"),
      { mode: 0o755 },
    );
    const run = diagnose(l, labYaml(l), sinceOf(summary));
    const reached = readFile(join(hook, "reached"), "utf8");
    // Whatever happens, nobody stays blocked opening a pipe: a waiting reader is let go.
    cleanups.push(() => {
      for (const name of ["reached", "go"]) {
        try {
          closeSync(openSync(join(hook, name), constants.O_WRONLY | constants.O_NONBLOCK));
        } catch {
          // no one waiting on it
        }
      }
    });
    await Promise.race([reached, ended(run, "the gateway's error log was read")]);
    // As logrotate does it, while the collection holds the log's size and has not searched it yet.
    renameSync(log, `${log}.1`);
    writeFileSync(log, "", { mode: 0o640 });
    chownSync(log, 0, await groupId("adm"));
    process.kill(l.info.gateway.nginx.masterPid, "SIGUSR1");
    // The collection itself holds the old file open now: only nginx's own processes count.
    const nginx = (path: string) => holders(path).filter((p) => comm(p) === "nginx");
    await waitUntil(() => (nginx(`${log}.1`).length === 0 && nginx(log).length > 0) || undefined, {
      what: "nginx to reopen its error log",
    });
    await Promise.race([writeFile(join(hook, "go"), "go\n"), ended(run, "the dd waiting to be let go")]);
    const { d, printedMs } = await run;

    expect(printedMs).toBeLessThan(15_000);
    // Not "healthy" from the new empty file: the old one was read to its end, its errors found, each once.
    expect(d.status).toBe("failing");
    expect(verdicts(d)).toEqual(summary.expected.map((e) => `${e.target} ${e.verdict}`));
    const rotated = readFileSync(`${log}.1`, "utf8");
    const cited = d.verdicts.flatMap((v) => v.evidence.filter((e) => e.host === "gw"));
    expect(cited.length).toBeGreaterThan(0);
    for (const e of cited) expect(rotated).toContain(e.text);
    expect(new Set(cited.map((e) => `${e.source}:${e.line}`)).size).toBe(cited.length);
    expect(readFileSync(log, "utf8")).toBe("");
  });

  it("an error log growing without pause while it is read: the read ends at the cap and the diagnosis marks it cut", async () => {
    lab = await startLab({ scenario: "stale-upstream" });
    const summary = await runScenario(lab, "stale-upstream");
    const l = lab;
    const [address, port] = l.info.gateway.listen.split(":");
    let flooding = true;
    const flood = () =>
      sendTraffic({
        host: address as string,
        port: Number(port),
        count: 100_000,
        concurrency: 8,
        stopWhen: () => !flooding,
      });
    // Each request to the stale target adds a `connect() failed (111` line; the window outgrows the cap first.
    await sendTraffic({ host: address as string, port: Number(port), count: 400, concurrency: 8 });
    const config = labYaml(l);
    config.defaults.max_bytes = 16 * 1024;
    const traffic = flood();
    cleanups.push(async () => {
      flooding = false;
      await traffic;
    });
    const before = readFileSync(l.info.gateway.nginx.errorLog).length;
    const { d, printedMs } = await diagnose(l, config, sinceOf(summary));
    flooding = false;
    await traffic;
    expect(readFileSync(l.info.gateway.nginx.errorLog).length).toBeGreaterThan(before);

    expect(printedMs).toBeLessThan(15_000);
    const log = host(d, "gw")?.commands.find((c) => c.id === "nginx-error-log");
    expect(log?.truncated).toBe(true);
    expect(verdicts(d)).toContain(`${l.staleTarget} stale_upstream`);
  });

  it("the DNS resolver never answers: each host named by DNS fails within the connect timeout, naming its name", async () => {
    lab = await startLab({ scenario: "crash" });
    const summary = await runScenario(lab, "crash");
    const l = lab;
    const dns = await silentResolver("127.0.0.58");
    cleanups.push(() => new Promise<void>((r) => dns.socket.close(() => r())));
    const resolv = join(l.dir, "resolv.conf");
    writeFileSync(resolv, "nameserver 127.0.0.58\noptions timeout:5 attempts:1\n", { mode: 0o644 });
    const config = labYaml(l);
    config.defaults.deadline = "8s";
    // Both backends by name: two hanging lookups each (the SSH connection and the address match).
    for (const name of ["checkout-1", "checkout-2"])
      config.hosts[name] = { address: `${name}.why502-lab.test` };
    // In a mount namespace of its own, the process's /etc/resolv.conf names the silent resolver.
    const wrap = ["unshare", "-m", "sh", "-c", 'mount --bind "$0" /etc/resolv.conf && exec "$@"', resolv];
    const { d, printedMs } = await diagnose(l, config, sinceOf(summary), wrap);

    for (const name of ["checkout-1", "checkout-2"]) {
      expect(dns.asked).toContain(`${name}.why502-lab.test`);
      expect(host(d, name)?.failure).toEqual({
        code: "unreachable",
        message: `${name} (${name}.why502-lab.test:2222) is unreachable: the name ${name}.why502-lab.test could not be resolved within 3000 ms (the DNS resolver did not answer).`,
      });
    }
    // The gateway, reached by address, is unharmed: its evidence still names the failing target.
    expect(host(d, "gw")?.ok).toBe(true);
    expect(d.verdicts.map((v) => v.target)).toContain("127.0.0.11:18080");
    // The connect timeout is 3 s; the process itself starts in about one.
    // Within the 8 s deadline (and the process's start), no host cut off by it: each name cost its 3 s.
    expect(printedMs).toBeLessThan(8000 + 3000);
    expect(JSON.stringify(d.hosts)).not.toContain("global deadline");
  });
});
