import { execFile } from "node:child_process";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Backend } from "./backend.js";
import {
  accessEntries,
  awaitAccessCount,
  awaitErrorLine,
  awaitOomKillLine,
  ERROR_KINDS,
  type ErrorKind,
  errorLinesSync,
} from "./evidence.js";
import { gunicornOom } from "./gunicorn-oom.js";
import type { Lab } from "./lab.js";
import type { ExpectedVerdict, ScenarioName } from "./lab-info.js";
import { accepts } from "./ports.js";
import { pidFromFile } from "./procs.js";
import {
  BACKEND_PORT,
  FAIL_AFTER,
  GATEWAY_ADDRESS,
  GATEWAY_PORT,
  SSH_PORT,
  UPSTREAM,
} from "./scenario-plan.js";
import { socketCrashRestart, socketExit, startBeforeTheWindow } from "./socket.js";
import { countByStatus, type Reply, sendTraffic, type TrafficOptions } from "./traffic.js";
import { waitUntil } from "./wait.js";

export interface BackendOutcome {
  name: string;
  target: string;
  pidBefore: number | undefined;
  pidAfter: number | undefined;
  /** supervisor restarts during the scenario */
  restarts: number;
  exit?: { code: number | null; signal: string | null; result: string };
}

/** A host the inventory must list as an instance of the service although the lab runs nothing there. */
export interface ExtraInstance {
  /** its inventory name, e.g. "checkout-3" */
  name: string;
  address: string;
}

export interface ScenarioSummary {
  scenario: ScenarioName;
  /**
   * The verdict per failing target. `healthy` has no failing target: its one entry names the
   * upstream group ("checkout") with verdict "healthy".
   */
  expected: ExpectedVerdict[];
  /** the incident window: from before the first request to after the last evidence was written */
  startedAt: string;
  endedAt: string;
  requests: { total: number; byStatus: Record<string, number> };
  backends: BackendOutcome[];
  /** nginx's servers for the upstream at the end (a reload may have changed them) */
  servers: string[];
  /** the lines that prove the failure happened, as the lab awaited them */
  evidence: string[];
  /**
   * Instances for the why502.yaml beyond the lab's backends (host-down: the address nginx routes to,
   * where neither the app nor sshd runs). Empty for the other scenarios.
   */
  extraInstances: ExtraInstance[];
}

interface Run {
  replies: Reply[];
  evidence: string[];
  exits: Map<string, BackendOutcome["exit"]>;
}

const execFileAsync = promisify(execFile);

const traffic = (o: Omit<TrafficOptions, "host" | "port">) =>
  sendTraffic({ host: GATEWAY_ADDRESS, port: GATEWAY_PORT, ...o });

export async function runScenario(lab: Lab, name: ScenarioName): Promise<ScenarioSummary> {
  const first = lab.backends[0];
  if (first === undefined) throw new Error("the lab has no backend");
  const target = first.info.target;
  if (name === "down") await stopForGood(first);
  if (name === "socket-exit") await startBeforeTheWindow(first);

  const startedAt = new Date().toISOString();
  const logged = (await accessEntries(lab)).length;
  const before = lab.backends.map((b) => ({ b, pid: b.currentPid(), events: b.events.length }));
  const run: Run = { replies: [], evidence: [], exits: new Map() };
  const extraInstances: ExtraInstance[] = [];

  let expected: ExpectedVerdict[];
  switch (name) {
    case "healthy":
      run.replies.push(...(await traffic({ count: 40, concurrency: 4 })));
      expected = [{ target: UPSTREAM, verdict: "healthy" }];
      break;
    case "crash":
      await failAndRecover(lab, first, "traffic", ["exit-code"], ["prematureClose", "refused"], run);
      expected = [{ target, verdict: "crashed" }];
      break;
    case "oom":
      await failAndRecover(lab, first, "traffic", ["oom-kill"], ["refused"], run);
      expected = [{ target, verdict: "oom_killed" }];
      break;
    case "fatal":
      await failAndRecover(lab, first, "sighup", ["exit-code"], ["refused"], run);
      expected = [{ target, verdict: "exited_on_purpose" }];
      break;
    case "write-timeout":
      await writeTimeout(lab, first, run);
      expected = [{ target, verdict: "write_timeout" }];
      break;
    case "stale-upstream":
      run.replies.push(...(await traffic({ count: 6, concurrency: 2 })));
      await lab.nginx.setServers([target, lab.staleTarget]);
      run.replies.push(...(await traffic({ count: 20, concurrency: 2 })));
      run.evidence.push(await awaitErrorLine(lab, lab.staleTarget, "refused"));
      expected = [{ target: lab.staleTarget, verdict: "stale_upstream" }];
      break;
    case "two-causes": {
      const servers = lab.backends.map((b) => b.info.target);
      await lab.nginx.setServers([...servers, lab.staleTarget]);
      await failAndRecover(lab, first, "traffic", ["oom-kill"], ["refused"], run);
      run.evidence.push(await awaitErrorLine(lab, lab.staleTarget, "refused"));
      expected = [
        { target, verdict: "oom_killed" },
        { target: lab.staleTarget, verdict: "stale_upstream" },
      ];
      break;
    }
    case "killed":
      await failAndRecover(lab, first, { signal: "SIGKILL" }, ["signal"], ["refused"], run);
      expected = [{ target, verdict: "crashed_no_trace" }];
      break;
    case "segv":
      // "core-dump" where the kernel would write a core (RLIMIT_CORE, core_pattern), "signal" otherwise.
      await failAndRecover(lab, first, { signal: "SIGSEGV" }, ["signal", "core-dump"], ["refused"], run);
      expected = [{ target, verdict: "crashed_segfault" }];
      break;
    case "down":
      run.replies.push(...(await traffic({ count: 20, concurrency: 2 })));
      run.evidence.push(await awaitErrorLine(lab, target, "refused"));
      expected = [{ target, verdict: "down" }];
      break;
    case "oom-supervisord":
      await failAndRecover(lab, first, "traffic", ["oom-kill"], ["refused"], run);
      expected = [{ target, verdict: "oom_killed" }];
      break;
    case "fatal-supervisord":
      await failAndRecover(lab, first, "sighup", ["exit-code"], ["refused"], run);
      expected = [{ target, verdict: "exited_on_purpose" }];
      break;
    case "abort-core":
      // The kernel writes a core where it may: the service's core limit raised, as `LimitCORE=infinity` does.
      await allowCores(first);
      await failAndRecover(lab, first, { signal: "SIGABRT" }, ["core-dump"], ["refused"], run);
      expected = [{ target, verdict: "crashed_no_trace" }];
      break;
    case "worker-timeout":
      await workerTimeout(lab, first, run);
      expected = [{ target, verdict: "worker_timeout" }];
      break;
    case "gunicorn-oom": {
      const r = await gunicornOom(lab, first);
      run.replies.push(...r.replies);
      run.evidence.push(...r.evidence);
      expected = [{ target, verdict: "oom_killed" }];
      break;
    }
    case "heap-exhausted":
      await failAndRecover(lab, first, "traffic", ["exit-code"], ["refused"], run);
      run.evidence.push(await lineIn(first.info.logPath, /^Terminating due to java\.lang\.OutOfMemoryError/));
      expected = [{ target, verdict: "heap_exhausted" }];
      break;
    case "crash-loop-supervisord":
    case "crash-loop-pm2":
    case "crash-loop-pidfile":
      await crashLoop(lab, first, run);
      expected = [{ target, verdict: "crash_loop" }];
      break;
    case "socket-exit":
    case "socket-crash-restart": {
      const r = await (name === "socket-exit" ? socketExit : socketCrashRestart)(lab, first);
      run.replies.push(...r.replies);
      run.evidence.push(...r.evidence);
      run.exits.set(first.info.name, r.exit);
      expected = [{ target, verdict: name === "socket-exit" ? "exited_on_purpose" : "crashed" }];
      break;
    }
    case "host-down": {
      const host = await hostWhereNothingAnswers(lab);
      run.replies.push(...(await traffic({ count: 6, concurrency: 2 })));
      await lab.nginx.setServers([...lab.backends.map((b) => b.info.target), lab.staleTarget]);
      run.replies.push(...(await traffic({ count: 20, concurrency: 2 })));
      run.evidence.push(await awaitErrorLine(lab, lab.staleTarget, "refused"));
      extraInstances.push({ name: `${UPSTREAM}-${lab.backends.length + 1}`, address: host });
      expected = [{ target: lab.staleTarget, verdict: "host_unreachable" }];
      break;
    }
  }

  await awaitAccessCount(lab, logged + run.replies.length);
  return {
    scenario: name,
    expected,
    startedAt,
    endedAt: new Date().toISOString(),
    requests: { total: run.replies.length, byStatus: countByStatus(run.replies) },
    backends: before.map(({ b, pid, events }) => ({
      name: b.info.name,
      target: b.info.target,
      pidBefore: pid,
      pidAfter: b.currentPid(),
      restarts: b.events.slice(events).filter((e) => e.event === "spawned").length,
      ...(run.exits.has(b.info.name) ? { exit: run.exits.get(b.info.name) } : {}),
    })),
    servers: lab.nginx.servers(),
    evidence: run.evidence,
    extraInstances,
  };
}

/**
 * `systemctl stop` before the window: the supervisor stops the app (SIGTERM) and exits, the pid file
 * goes, and nothing restarts it. Journal stamps have whole seconds and callers diagnose from a second
 * before startedAt, so the window opens two whole seconds after the stop's last journal line.
 */
async function stopForGood(b: Backend): Promise<void> {
  await b.stop();
  const quietFrom = (Math.floor(Date.now() / 1000) + 2) * 1000 + 50;
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, quietFrom - Date.now())));
  if (pidFromFile(b.info.pidFile) !== undefined) throw new Error(`${b.info.pidFile} outlived the stop`);
  if (await accepts(b.info.address, b.info.port))
    throw new Error(`${b.info.target} still accepts connections`);
}

/** The stale target's address, once it is sure that neither the app nor sshd answers there. */
async function hostWhereNothingAnswers(lab: Lab): Promise<string> {
  const [host = ""] = lab.staleTarget.split(":");
  for (const port of [lab.info.ssh?.port ?? SSH_PORT, BACKEND_PORT]) {
    if (await accepts(host, port))
      throw new Error(`${host}:${port} accepts connections: host-down needs a dead host`);
  }
  return host;
}

/**
 * Traffic until the backend's real failure (its Nth request, a SIGHUP config reload, or a signal sent to
 * it while requests flow), requests while it is down (nginx: 111 refused), then, once the supervisor has
 * restarted it, a little more. The supervisor's result for the exit must be one of `results`.
 */
async function failAndRecover(
  lab: Lab,
  b: Backend,
  trigger: "traffic" | "sighup" | { signal: "SIGKILL" | "SIGSEGV" | "SIGABRT" },
  results: string[],
  kinds: ErrorKind[],
  run: Run,
): Promise<void> {
  const since = b.events.length;
  const oldPid = b.currentPid();
  if (oldPid === undefined) throw new Error(`${b.info.name} is not running`);
  let down = false;
  const exited = b.next("exited", { since, pred: (e) => e.pid === oldPid });
  void exited.then(
    () => {
      down = true;
    },
    () => undefined,
  );

  const peers = lab.nginx.servers().length;
  let before: Promise<Reply[]>;
  if (trigger === "traffic") {
    // Round robin: the failing backend's Nth request comes within N rounds.
    before = traffic({ count: FAIL_AFTER * peers + 10, concurrency: 2, stopWhen: () => down });
  } else if (trigger === "sighup") {
    run.replies.push(...(await traffic({ count: 10, concurrency: 2 })));
    process.kill(oldPid, "SIGHUP");
    before = Promise.resolve([]);
  } else {
    const logged = (await accessEntries(lab)).length;
    before = traffic({ count: 400, concurrency: 2, stopWhen: () => down });
    // As an operator's `kill -9` (or a fault) hits it: while nginx is logging the flowing requests.
    await awaitAccessCount(lab, logged + 2 * peers);
    process.kill(oldPid, trigger.signal);
  }
  const exit = await exited;
  // Sent at once, inside the supervisor's restart delay, one at a time so that round robin reaches the
  // dead port, until nginx has logged the refused connect.
  const refused = () => errorLinesSync(lab, b.info.target).some((l) => ERROR_KINDS.refused.test(l));
  const [replies, whileDown] = await Promise.all([
    before,
    traffic({ count: 2 * peers + 4, concurrency: 1, stopWhen: refused }),
  ]);
  run.replies.push(...replies, ...whileDown);
  run.exits.set(b.info.name, { code: exit.code, signal: exit.signal, result: exit.result });

  if (!results.includes(exit.result)) {
    throw new Error(
      `${b.info.name} exited with result '${exit.result}', expected '${results.join("' or '")}'`,
    );
  }
  if (typeof trigger === "object") {
    if (exit.signal !== trigger.signal) {
      throw new Error(
        `${b.info.name} exited with ${exit.signal ?? `code ${exit.code}`}, not ${trigger.signal}`,
      );
    }
    run.evidence.push(await journalLine(b, `Main process exited, code=(killed|dumped), status=`));
  }
  if (b.info.mode === "oom") run.evidence.push(await awaitOomKillLine(oldPid));

  await b.next("ready", { since, pred: (e) => e.pid !== oldPid });
  run.replies.push(...(await traffic({ count: 6, concurrency: 2 })));
  for (const kind of kinds) run.evidence.push(await awaitErrorLine(lab, b.info.target, kind));
}

/** RLIMIT_CORE unlimited for the supervisor (which decides code=dumped) and the app it runs now. */
async function allowCores(b: Backend): Promise<void> {
  const pid = b.currentPid();
  if (pid === undefined) throw new Error(`${b.info.name} is not running`);
  for (const p of [b.info.supervisorPid, pid])
    await execFileAsync("prlimit", ["--pid", String(p), "--core=unlimited:unlimited"]);
}

/** The app's one fatal line at a failed start (app.mjs --config-required). */
const START_FAILED = /fatal: config load failed: /;
/** Starts that fail before the no-supervisor scenario stops looking (its loop never gives up). */
const LOOP_DEATHS = 4;

/**
 * A deploy takes the service's config away and reloads it: the reload fails (one fatal line, exit 1), and so
 * does every start after it, each logging the same fatal line. supervisord gives up after its start retries
 * (FATAL), PM2 after 16 unstable restarts (errored); a bare restart loop never does. Requests flow meanwhile.
 */
async function crashLoop(lab: Lab, b: Backend, run: Run): Promise<void> {
  const oldPid = b.currentPid();
  if (oldPid === undefined) throw new Error(`${b.info.name} is not running`);
  run.replies.push(...(await traffic({ count: 10, concurrency: 2 })));
  const sup = b.info.supervisord;
  const pm2 = b.info.pm2;
  // Up for good first, as supervisord sees it (startsecs), so that what follows is a restart, not a slow start.
  if (sup) await lineIn(sup.log, new RegExp(`success: ${b.info.name} entered RUNNING state`));
  const since = b.events.length;
  await rm(b.info.configPath);
  process.kill(oldPid, "SIGHUP");
  const exit = await b.next("exited", { since, pred: (e) => e.pid === oldPid });
  run.exits.set(b.info.name, { code: exit.code, signal: exit.signal, result: exit.result });
  const refused = () => errorLinesSync(lab, b.info.target).some((l) => ERROR_KINDS.refused.test(l));
  run.replies.push(
    ...(await traffic({ count: 2 * lab.nginx.servers().length + 4, concurrency: 1, stopWhen: refused })),
  );
  if (sup) {
    run.evidence.push(await lineIn(sup.log, new RegExp(`gave up: ${b.info.name} entered FATAL state`)));
  } else if (pm2) {
    run.evidence.push(await lineIn(join(pm2.home, "pm2.log"), /had too many unstable restarts \(\d+\)/));
  } else {
    await waitUntil(
      async () =>
        (await readFile(b.info.logPath, "utf8")).split("\n").filter((l) => START_FAILED.test(l)).length >=
        LOOP_DEATHS
          ? true
          : undefined,
      { what: `${LOOP_DEATHS} failed starts in ${b.info.logPath}`, timeoutMs: 20_000 },
    );
  }
  const log = pm2 ? join(pm2.home, "logs", `${b.info.name}-error.log`) : b.info.logPath;
  run.evidence.push(await lineIn(log, START_FAILED));
  run.replies.push(...(await traffic({ count: 6, concurrency: 2 })));
  run.evidence.push(await awaitErrorLine(lab, b.info.target, "refused"));
}

/** The last line of a file matching `re`, once there is one. */
function lineIn(path: string, re: RegExp): Promise<string> {
  return waitUntil(
    async () => {
      const text = await readFile(path, "utf8").catch(() => "");
      return text.split("\n").findLast((l) => re.test(l));
    },
    { what: `${re} in ${path}`, timeoutMs: 20_000 },
  );
}

/** /slow needs 5 s; backend 1 destroys the socket at 2 s, the healthy replica answers 200. */
async function writeTimeout(lab: Lab, b: Backend, run: Run): Promise<void> {
  run.replies.push(...(await traffic({ count: 6, concurrency: 2 })));
  run.replies.push(...(await traffic({ count: 6, concurrency: 6, path: () => "/slow" })));
  run.replies.push(...(await traffic({ count: 4, concurrency: 2 })));
  run.evidence.push(await awaitErrorLine(lab, b.info.target, "prematureClose"));
}

/** gunicorn kills each worker that runs /slow past --timeout. */
const WORKER_TIMEOUT = /\[CRITICAL\] WORKER TIMEOUT \(pid:\d+\)/;
/** /slow requests that reach gunicorn's one sync worker at once: each waits for the last one's worker to die. */
const QUEUED = 3;

/**
 * /slow needs 5 s; gunicorn's one sync worker gets QUEUED of them at once (round robin gives the healthy replica
 * as many) and is killed at its 2 s timeout by the master, which boots another that takes the next one. nginx
 * sees each fail later than the last: 2-3 s, then 4-6, then 6-9, under proxy_read_timeout's 10 s.
 */
async function workerTimeout(lab: Lab, b: Backend, run: Run): Promise<void> {
  run.replies.push(...(await traffic({ count: 6, concurrency: 2 })));
  const peers = lab.nginx.servers().length;
  run.replies.push(
    ...(await traffic({ count: QUEUED * peers, concurrency: QUEUED * peers, path: () => "/slow" })),
  );
  run.replies.push(...(await traffic({ count: 4, concurrency: 2 })));
  run.evidence.push(await awaitErrorLine(lab, b.info.target, "prematureClose"));
  await waitUntil(
    async () =>
      (await readFile(b.info.logPath, "utf8")).split("\n").filter((l) => WORKER_TIMEOUT.test(l)).length >=
      QUEUED
        ? true
        : undefined,
    { what: `${QUEUED} worker timeouts in ${b.info.logPath}` },
  );
  run.evidence.push(await lineIn(b.info.logPath, WORKER_TIMEOUT));
}

/** The supervisor's journal line matching `pattern` (it writes the exit before reporting it). */
function journalLine(b: Backend, pattern: string): Promise<string> {
  const re = new RegExp(pattern);
  return waitUntil(
    async () => (await readFile(b.info.journalPath, "utf8")).split("\n").findLast((l) => re.test(l)),
    { what: `/${pattern}/ in ${b.info.journalPath}` },
  );
}
