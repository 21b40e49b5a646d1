// A tiny stand-in for systemd running one service unit: starts the app, restarts it after RestartSec
// when it exits, keeps a pid file for the current main process, optionally confines every new main
// process to a cgroup-v1 memory cgroup, and writes what systemd would write to the journal, in
// systemd's own wording (src/core/service.c), with journalctl's short-format prefix.
//
//   node supervisor.mjs --name checkout-1 --journal FILE --log FILE --pid-file FILE
//     [--restart-ms 300] [--restart always|no] [--memory-limit 64M] [--cgroup why502-lab-checkout-1] -- APP.mjs [app args...]
//   node supervisor.mjs ... --exec --ready-tcp 127.0.0.11:18080 -- gunicorn [args...]
//
// With --exec the words after -- are a whole command (gunicorn, java), run without an IPC channel: it is
// ready once its port accepts a connection, as systemd would learn from a socket-activated or notify unit.
//
// Started with an IPC channel, it reports {event: "spawned"|"ready"|"exited"|"stopped", ...} to its
// parent; when that channel closes it stops the service and exits. SIGTERM stops the service too.
import { spawn } from "node:child_process";
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { connect } from "node:net";
import { constants, hostname } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";

const { values: opts, positionals: appArgs } = parseArgs({
  allowPositionals: true,
  options: {
    name: { type: "string" },
    journal: { type: "string" },
    log: { type: "string" },
    "pid-file": { type: "string" },
    "restart-ms": { type: "string", default: "300" },
    restart: { type: "string", default: "always" },
    "stop-timeout-ms": { type: "string", default: "3000" },
    "memory-limit": { type: "string" },
    cgroup: { type: "string" },
    exec: { type: "boolean", default: false },
    "ready-tcp": { type: "string" },
  },
});
for (const k of ["name", "journal", "log", "pid-file"]) {
  if (opts[k] === undefined) {
    process.stderr.write(`supervisor: --${k} is required\n`);
    process.exit(64);
  }
}
if (opts.restart !== "always" && opts.restart !== "no") {
  process.stderr.write(`supervisor: --restart is always or no, got ${opts.restart}\n`);
  process.exit(64);
}
if (appArgs.length === 0) {
  process.stderr.write("supervisor: the app's script and arguments follow --\n");
  process.exit(64);
}

const unit = `${opts.name}.service`;
const restartMs = Number(opts["restart-ms"]);
const stopTimeoutMs = Number(opts["stop-timeout-ms"]);
const host = hostname().split(".")[0];
/** WorkingDirectory= of the unit: where the pid file lives. */
const unitDir = dirname(opts["pid-file"]);
const cgroupDir =
  opts["memory-limit"] === undefined
    ? undefined
    : join("/sys/fs/cgroup/memory", opts.cgroup ?? `why502-lab-${opts.name}`);

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
/** journalctl -o short: "Nov 25 12:13:14", local time. */
function stamp(d) {
  const p = (n) => String(n).padStart(2, "0");
  return `${MONTHS[d.getMonth()]} ${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
function journal(msg) {
  appendFileSync(opts.journal, `${stamp(new Date())} ${host} systemd[1]: ${msg}\n`);
}
function tell(event) {
  if (process.connected) process.send({ ...event, unit, at: new Date().toISOString() });
}

// systemd's exit_status_to_string() for the LSB range; other codes print as "n/a".
const EXIT_NAMES = [
  "SUCCESS",
  "FAILURE",
  "INVALIDARGUMENT",
  "NOTIMPLEMENTED",
  "NOPERMISSION",
  "NOTINSTALLED",
];
EXIT_NAMES.push("NOTCONFIGURED", "NOTRUNNING");
const CORE_SIGNALS = new Set(["SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGSEGV"]);
for (const s of ["SIGSYS", "SIGXCPU", "SIGXFSZ"]) CORE_SIGNALS.add(s);

/**
 * Whether the kernel writes a core for a core-dumping signal (fs/coredump.c), which is when waitpid
 * reports WCOREDUMP and systemd says `code=dumped`: a `|helper` core_pattern is fed whatever
 * RLIMIT_CORE is, except 1; a file pattern needs RLIMIT_CORE of at least a page. The app inherits our
 * limit (Node does not change it); its core file would land in its working directory, the unit's dir.
 */
function coreWouldBeDumped() {
  let pattern = "core";
  try {
    pattern = readFileSync("/proc/sys/kernel/core_pattern", "utf8").trim();
  } catch {
    // keep the kernel's default
  }
  const m = /^Max core file size\s+(\S+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
  const limit = m?.[1] === "unlimited" ? Number.POSITIVE_INFINITY : Number(m?.[1] ?? 0);
  return pattern.startsWith("|") ? limit !== 1 : limit >= 4096;
}

function setupCgroup() {
  if (cgroupDir === undefined) return;
  mkdirSync(cgroupDir, { recursive: true });
  const procs = readFileSync(join(cgroupDir, "cgroup.procs"), "utf8").trim();
  if (procs !== "") throw new Error(`${cgroupDir} still holds processes: ${procs.split("\n").join(" ")}`);
  writeFileSync(join(cgroupDir, "memory.limit_in_bytes"), opts["memory-limit"]);
  // Without swap limits the kernel could swap instead of killing.
  if (existsSync(join(cgroupDir, "memory.memsw.limit_in_bytes"))) {
    writeFileSync(join(cgroupDir, "memory.memsw.limit_in_bytes"), opts["memory-limit"]);
  }
  writeFileSync(join(cgroupDir, "memory.swappiness"), "0");
}

function oomKills() {
  if (cgroupDir === undefined) return 0;
  try {
    const m = /^oom_kill (\d+)$/m.exec(readFileSync(join(cgroupDir, "memory.oom_control"), "utf8"));
    return Number(m?.[1] ?? 0);
  } catch {
    return 0;
  }
}

let child;
let restarts = 0;
let stopping = false;
let restartTimer;

function start() {
  journal(`Starting ${unit}...`);
  const logFd = openSync(opts.log, "a");
  const oomBefore = oomKills();
  child = opts.exec
    ? spawn(appArgs[0], appArgs.slice(1), { cwd: unitDir, stdio: ["ignore", logFd, logFd] })
    : spawn(process.execPath, appArgs, { cwd: unitDir, stdio: ["ignore", logFd, logFd, "ipc"] });
  closeSync(logFd);
  const pid = child.pid;
  // Into the memory cgroup before the app can allocate anything big: it only does on request.
  if (cgroupDir !== undefined) writeFileSync(join(cgroupDir, "cgroup.procs"), String(pid));
  writeFileSync(opts["pid-file"], `${pid}\n`);
  tell({ event: "spawned", pid, restarts });
  const current = child;
  current.on("message", (m) => {
    if (m && typeof m === "object" && m.ready === true) {
      journal(`Started ${unit}.`);
      tell({ event: "ready", pid, restarts });
    }
  });
  current.on("exit", (code, signal) => exited(current, pid, code, signal, oomKills() > oomBefore));
  if (opts["ready-tcp"] !== undefined) awaitPort(current, pid, opts["ready-tcp"]);
}

/** Ready once host:port accepts a connection, while this process still lives. */
function awaitPort(which, pid, hostPort) {
  const i = hostPort.lastIndexOf(":");
  const probe = () => {
    if (which !== child) return;
    const sock = connect({ host: hostPort.slice(0, i), port: Number(hostPort.slice(i + 1)) });
    sock.once("connect", () => {
      sock.destroy();
      if (which !== child) return;
      journal(`Started ${unit}.`);
      tell({ event: "ready", pid, restarts });
    });
    sock.once("error", () => setTimeout(probe, 50));
  };
  probe();
}

function exited(which, pid, code, signal, oomKilled) {
  if (which !== child) return;
  child = undefined;
  rmSync(opts["pid-file"], { force: true });
  let result;
  if (stopping && (code === 0 || signal === "SIGTERM")) {
    journal(`${unit}: Deactivated successfully.`);
    result = "success";
  } else {
    if (oomKilled) journal(`${unit}: A process of this unit has been killed by the OOM killer.`);
    if (signal !== null) {
      const dumped = CORE_SIGNALS.has(signal) && coreWouldBeDumped();
      const status = `${constants.signals[signal]}/${signal.slice(3)}`;
      journal(`${unit}: Main process exited, code=${dumped ? "dumped" : "killed"}, status=${status}`);
      result = oomKilled ? "oom-kill" : dumped ? "core-dump" : "signal";
    } else if (code !== 0) {
      journal(`${unit}: Main process exited, code=exited, status=${code}/${EXIT_NAMES[code] ?? "n/a"}`);
      result = oomKilled ? "oom-kill" : "exit-code";
    } else {
      result = "success";
    }
    if (result === "success") journal(`${unit}: Deactivated successfully.`);
    else journal(`${unit}: Failed with result '${result}'.`);
  }
  tell({ event: "exited", pid, code, signal, result, restarts });
  if (stopping) {
    finish();
    return;
  }
  // Restart=no: the unit stays failed (or inactive) until someone starts it.
  if (opts.restart === "no") return;
  // Restart=always, RestartSec=restartMs
  restartTimer = setTimeout(() => {
    restartTimer = undefined;
    restarts += 1;
    journal(`${unit}: Scheduled restart job, restart counter is at ${restarts}.`);
    journal(`Stopped ${unit}.`);
    start();
  }, restartMs);
}

function finish() {
  journal(`Stopped ${unit}.`);
  if (cgroupDir !== undefined) {
    try {
      rmdirSync(cgroupDir);
    } catch {
      // the lab removes it once every process has gone
    }
  }
  tell({ event: "stopped" });
  process.exit(0);
}

function stop() {
  if (stopping) return;
  stopping = true;
  if (restartTimer !== undefined) clearTimeout(restartTimer);
  journal(`Stopping ${unit}...`);
  if (child === undefined) {
    finish();
    return;
  }
  const pid = child.pid;
  child.kill("SIGTERM");
  // TimeoutStopSec
  setTimeout(() => {
    if (child?.pid === pid) {
      journal(`${unit}: State 'stop-sigterm' timed out. Killing.`);
      const comm = opts.exec ? appArgs[0].split("/").pop() : "node";
      journal(`${unit}: Killing process ${pid} (${comm}) with signal SIGKILL.`);
      child.kill("SIGKILL");
    }
  }, stopTimeoutMs).unref();
}

process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.on("disconnect", stop);

try {
  setupCgroup();
} catch (err) {
  process.stderr.write(`supervisor: ${err.message}\n`);
  process.exit(1);
}
start();
