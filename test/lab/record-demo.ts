// Re-records the lab playbook cases, which are also the demo's bundles, from real lab runs:
//   npx tsx test/lab/record-demo.ts          (root; needs nginx, sshd, sudo like the lab)
// Each scenario runs for real, then `why502 diagnose checkout --save` collects it over SSH.
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { startLab } from "./lab.js";
import { writeLabConfig } from "./lab-config.js";
import { SCENARIOS, ScenarioName } from "./lab-info.js";
import { runScenario } from "./scenarios.js";

const run = promisify(execFile);
const root = new URL("../../", import.meta.url).pathname;
const bin = join(root, "bin/why502.js");

const TITLES: Record<ScenarioName, string> = {
  crash: "backend crashed with a stack (uncaught TypeError), then restarted",
  oom: "backend OOM-killed by the kernel in its memory cgroup, then restarted",
  fatal: "backend exited on purpose: a fatal log line and exit 1, no stack",
  "write-timeout": "backend write timeout (2 s) shorter than the handler (5 s)",
  "stale-upstream": "nginx reloaded onto an address where no instance lives",
  "two-causes": "two targets failing at once: one OOM-killed, one stale",
  healthy: "a healthy service",
  killed: "backend killed with SIGKILL by hand, no OOM and no stack, then restarted",
  segv: "backend died of SIGSEGV, then restarted",
  down: "backend stopped before the incident and not restarted: nothing listens",
  "host-down": "nginx routes to an inventory host that does not answer, not even over SSH",
  "crash-loop-supervisord":
    "backend under supervisord lost its config: every start logs one fatal line and exits 1, until supervisord gives up (FATAL)",
  "crash-loop-pm2":
    "backend under PM2 lost its config: every start logs one fatal line and exits 1, until PM2 stops it (errored)",
  "crash-loop-pidfile":
    "backend with no supervisor, only a restart loop and its own pid file, lost its config: every start logs one fatal line and exits 1",
  "oom-supervisord":
    "backend under supervisord OOM-killed by the kernel in its memory cgroup, then restarted",
  "fatal-supervisord": "backend under supervisord exited on purpose: a fatal log line and exit 1, no stack",
  "abort-core":
    "backend died of SIGABRT with its core limit raised: code=dumped, result 'core-dump', no stack",
  "worker-timeout":
    "gunicorn killed its one sync worker at its 2 s --timeout, three times: requests queued behind it failed later each time",
  "gunicorn-oom":
    "the kernel OOM-killed gunicorn's one sync worker in its memory cgroup during /leak; gunicorn's master logged signal 9 and booted a new worker",
  "heap-exhausted":
    "a JVM exhausted its 32 MiB heap (-Xmx32m) and exited with -XX:+ExitOnOutOfMemoryError (status 3), then restarted",
  "socket-exit":
    "backend on a unix socket (server unix:/path) exited on purpose, a fatal line and exit 1, its unit Restart=no: not restarted, its socket gone (nginx: 2: No such file or directory)",
  "socket-crash-restart":
    "backend on a unix socket (server unix:/path) crashed with a stack (uncaught TypeError), its socket gone until its supervisor restarted it",
};

/** The demo lists these cases; every scenario is recorded as a playbook case. */
const DEMO: readonly ScenarioName[] = [
  "crash",
  "oom",
  "fatal",
  "write-timeout",
  "stale-upstream",
  "two-causes",
  "healthy",
];

// `record-demo.ts crash-loop-pm2 ...` records only those scenarios and leaves the demo's index alone.
const only = process.argv.slice(2).map((a) => ScenarioName.parse(a));
const index: { scenario: string; title: string; bundle: string; expect: string[] }[] = [];
for (const scenario of only.length > 0 ? only : SCENARIOS) {
  const lab = await startLab({ scenario });
  try {
    const summary = await runScenario(lab, scenario);
    const config = writeLabConfig(lab.info, join(lab.dir, "why502.yaml"), {
      extraInstances: summary.extraInstances,
    });
    const since = new Date(Date.parse(summary.startedAt) - 1000).toISOString();
    const caseDir = join(root, "playbooks", "cases", `lab-${scenario}`);
    mkdirSync(caseDir, { recursive: true });
    const bundle = join(caseDir, "bundle.json");
    await run(process.execPath, [
      bin,
      "diagnose",
      "checkout",
      "--config",
      config,
      "--since",
      since,
      "--save",
      bundle,
      "--json",
    ]);
    const expected = summary.expected.filter((e) => e.verdict !== "healthy");
    if (DEMO.includes(scenario)) {
      index.push({
        scenario,
        title: TITLES[scenario],
        bundle: `playbooks/cases/lab-${scenario}/bundle.json`,
        expect: expected.map((e) => e.verdict),
      });
    }
    writeFileSync(
      join(caseDir, "expect.yaml"),
      stringify({
        playbook: "why502.yaml",
        description: `lab scenario ${scenario}: ${TITLES[scenario]} (recorded over SSH from the lab)`,
        verdicts: expected.map((e) => ({ target: e.target, cause: e.verdict })),
      }),
    );
    process.stdout.write(`recorded ${scenario}\n`);
  } finally {
    await lab.stop();
  }
}
if (only.length === 0)
  writeFileSync(join(root, "demo", "scenarios.json"), `${JSON.stringify(index, null, 2)}\n`);
