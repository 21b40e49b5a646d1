import { execFile } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { pm2JlistShell } from "../../src/collect/supervisors.js";
import { type Lab, startLab } from "./lab.js";
import { labConfig } from "./lab-config.js";
import type { ScenarioName } from "./lab-info.js";
import { LAB_USER } from "./lab-user.js";
import { ensurePm2, Pm2Unreachable } from "./pm2.js";
import { alive } from "./procs.js";
import { runScenario } from "./scenarios.js";

const execFileAsync = promisify(execFile);

let lab: Lab | undefined;
afterEach(async () => {
  const l = lab;
  lab = undefined;
  await l?.stop();
});

/** A command as the lab's SSH user (the bot's account: group adm, no sudo for these). */
async function asLabUser(script: string): Promise<{ stdout: string; code: number }> {
  try {
    const { stdout } = await execFileAsync("su", [LAB_USER, "-s", "/bin/sh", "-c", script]);
    return { stdout, code: 0 };
  } catch (err) {
    const e = err as { stdout?: string; code?: number };
    return { stdout: e.stdout ?? "", code: e.code ?? -1 };
  }
}

async function run(scenario: ScenarioName): Promise<Lab> {
  lab = await startLab({ scenario });
  await runScenario(lab, scenario);
  return lab;
}

/** Every process the backend's supervisor ran, and the supervisor, are gone once the lab stops. */
async function stopsClean(l: Lab): Promise<void> {
  const b = l.backends[0];
  const pids = [
    ...(b ? [b.info.supervisorPid] : []),
    ...(b?.events.flatMap((e) => ("pid" in e ? [e.pid] : [])) ?? []),
  ];
  expect(pids.length).toBeGreaterThan(2);
  await l.stop();
  lab = undefined;
  expect(pids.filter(alive)).toEqual([]);
  for (const cg of l.info.cgroups) expect(existsSync(cg), cg).toBe(false);
}

const fatalLines = (path: string) =>
  readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => /fatal: config load failed: ENOENT/.test(l));

describe("backends under real supervisors", () => {
  it("supervisord: every start fails the same way until it gives up (FATAL), and the bot's account can ask it", async () => {
    const l = await run("crash-loop-supervisord");
    const sup = l.backends[0]?.info.supervisord;
    if (!sup) throw new Error("backend 1 is not under supervisord");
    const log = readFileSync(sup.log, "utf8");
    expect(log).toMatch(/INFO gave up: checkout-1 entered FATAL state, too many start retries too quickly/);
    expect(log.match(/spawned: 'checkout-1' with pid \d+/g)?.length).toBeGreaterThanOrEqual(4);
    expect(fatalLines(l.backends[0]?.info.logPath ?? "").length).toBeGreaterThanOrEqual(3);
    const status = await asLabUser(`supervisorctl -c '${sup.conf}' status '${sup.program}'`);
    expect(status.stdout).toMatch(/^checkout-1\s+FATAL\s+Exited too quickly/);
    await stopsClean(l);
  });

  it("PM2: restarted until it stops it (errored); the bot's account reads jlist and starts no daemon of its own", async (ctx) => {
    const unreachable = await ensurePm2().then(
      () => undefined,
      (err: unknown) => (err instanceof Pm2Unreachable ? err.message : undefined),
    );
    if (unreachable) ctx.skip(unreachable);
    const l = await run("crash-loop-pm2");
    const pm2 = l.backends[0]?.info.pm2;
    if (!pm2) throw new Error("backend 1 is not under PM2");
    expect(readFileSync(join(pm2.home, "pm2.log"), "utf8")).toMatch(
      /PM2 log: Script \S+app\.mjs had too many unstable restarts \(\d+\)\. Stopped\. "errored"/,
    );
    expect(fatalLines(join(pm2.home, "logs", "checkout-1-error.log")).length).toBeGreaterThanOrEqual(10);
    const jlist = await asLabUser(pm2JlistShell(pm2.app, pm2.home, pm2.bin));
    expect(jlist.code).toBe(0);
    expect(JSON.parse(jlist.stdout)).toMatchObject({ name: "checkout-1", status: "errored", exit_code: 1 });
    const daemon = Number(readFileSync(join(pm2.home, "pm2.pid"), "utf8"));
    await stopsClean(l);
    expect(alive(daemon)).toBe(false);
    // With the daemon gone, the same command says so and starts none.
    const after = await asLabUser(pm2JlistShell(pm2.app, pm2.home, pm2.bin));
    expect(after.code).toBe(3);
    expect(existsSync(join(pm2.home, "pm2.pid"))).toBe(false);
  });

  it("no supervisor: a bare loop restarts it, the app keeps its own pid file, nothing writes a journal", async () => {
    const l = await run("crash-loop-pidfile");
    const b = l.backends[0];
    if (!b) throw new Error("no backend");
    expect(b.info.supervisor).toBe("none");
    expect(fatalLines(b.info.logPath).length).toBeGreaterThanOrEqual(4);
    expect(readFileSync(b.info.pidFile, "utf8")).toMatch(/^\d+\n$/);
    expect(readFileSync(b.info.journalPath, "utf8")).toBe("");
    await stopsClean(l);
  });

  it("an inventory that names only the pid file still learns from the process's parent that supervisord runs it", async () => {
    const l = await run("fatal-supervisord");
    const config = labConfig(l.info) as {
      services: { checkout: { backends: { instances: Record<string, unknown>[] } } };
    };
    const first = config.services.checkout.backends.instances[0] as Record<string, unknown>;
    first.process = { pid_file: l.backends[0]?.info.pidFile };
    const path = join(l.dir, "why502-pidfile.yaml");
    writeFileSync(path, stringify(config));
    const since = new Date(Date.now() - 30_000).toISOString();
    const bin = new URL("../../bin/why502.js", import.meta.url).pathname;
    const { stdout } = await execFileAsync(process.execPath, [
      bin,
      "diagnose",
      "checkout",
      "--config",
      path,
      "--since",
      since,
      "--json",
    ]);
    const diagnosis = JSON.parse(stdout) as {
      verdicts: { cause: string; nextSteps: string[] }[];
      trace: unknown;
    };
    expect(JSON.stringify(diagnosis.trace)).toMatch(/supervisord -c \S+supervisord\.conf/);
    const hinted = diagnosis.verdicts.map((v) => [
      v.cause,
      /It runs under supervisord/.test(v.nextSteps.join(" ")),
    ]);
    expect(hinted).toEqual([["crashed_no_trace", true]]);
  });
});
