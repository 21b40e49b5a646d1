// The lab's backend under a real supervisor other than the systemd stand-in: Debian's supervisord, PM2 from
// npm, or none at all (a bare restart loop, the app keeping its own pid file). Each reports the same events as
// supervisor.mjs does over IPC, read here from what the supervisor and the app really write (supervisord's
// log, PM2's log, the app's own lines), never from the supervisor's internals.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { chmod, chown, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  APP,
  type Backend,
  type BackendOptions,
  CGROUP_ROOT,
  type SupervisorEvent,
  startBackend,
} from "./backend.js";
import type { LabBackendInfo, LabSupervisor } from "./lab-info.js";
import { ensurePm2 } from "./pm2.js";
import { alive, pidFromFile, terminate } from "./procs.js";
import { waitUntil } from "./wait.js";

const execFileAsync = promisify(execFile);
type EventOf<K extends SupervisorEvent["event"]> = Extract<SupervisorEvent, { event: K }>;

export interface SupervisedOptions extends BackendOptions {
  supervisor: Exclude<LabSupervisor, "systemd">;
}

/** How often the files are read for new lines: the events come from them. */
const POLL_MS = 20;

/** A file read from where the last read stopped; complete lines only. */
function tail(path: string): () => string[] {
  let offset = 0;
  let rest = "";
  return () => {
    if (!existsSync(path)) return [];
    const buf = readFileSync(path);
    if (buf.length < offset) offset = 0;
    const text = rest + buf.subarray(offset).toString("utf8");
    offset = buf.length;
    const lines = text.split("\n");
    rest = lines.pop() ?? "";
    return lines;
  };
}

function oomKills(cgroup: string | null): number {
  if (cgroup === null) return 0;
  try {
    const m = /^oom_kill (\d+)$/m.exec(readFileSync(join(cgroup, "memory.oom_control"), "utf8"));
    return Number(m?.[1] ?? 0);
  } catch {
    return 0;
  }
}

function setupCgroup(cgroup: string, limit: string): void {
  mkdirSync(cgroup, { recursive: true });
  const procs = readFileSync(join(cgroup, "cgroup.procs"), "utf8").trim();
  if (procs !== "") throw new Error(`${cgroup} still holds processes: ${procs.split("\n").join(" ")}`);
  writeFileSync(join(cgroup, "memory.limit_in_bytes"), limit);
  if (existsSync(join(cgroup, "memory.memsw.limit_in_bytes")))
    writeFileSync(join(cgroup, "memory.memsw.limit_in_bytes"), limit);
  writeFileSync(join(cgroup, "memory.swappiness"), "0");
}

/** The app's `name[pid]: listening on` line: it is up. */
const LISTENING = /\[(\d+)\]: listening on /;
/** Any of the app's tagged lines: the first of a new pid is a new process. */
const TAGGED = /^\S+ [A-Z]+ [\w.-]+\[(\d+)\]: /;

export async function startSupervised(opts: SupervisedOptions): Promise<Backend> {
  await mkdir(opts.dir, { recursive: true });
  await chown(opts.dir, 0, opts.logGroupId);
  await chmod(opts.dir, 0o750);
  const pidFile = join(opts.dir, `${opts.name}.pid`);
  const logPath = join(opts.dir, `${opts.name}.log`);
  const journalPath = join(opts.dir, "journal.log");
  const configPath = join(opts.dir, "flags.json");
  for (const f of [logPath, journalPath]) {
    await writeFile(f, "", { flag: "a" });
    await chown(f, 0, opts.logGroupId);
    await chmod(f, 0o640);
  }
  const appArgs = opts.appArgs ?? [];
  // A service that reads its config at start needs one to start with; scenarios take it away.
  if (appArgs.includes("--config-required")) await writeFile(configPath, "{}\n", { mode: 0o644 });
  const app = [
    APP,
    ...["--name", opts.name, "--address", opts.address, "--port", String(opts.port), "--mode", opts.mode],
    ...["--config", configPath],
    ...appArgs,
  ];
  const cgroup =
    opts.memoryLimit !== undefined && opts.supervisor === "supervisord"
      ? join(CGROUP_ROOT, `why502-lab-${opts.name}`)
      : null;
  if (cgroup !== null) setupCgroup(cgroup, opts.memoryLimit as string);

  const events: SupervisorEvent[] = [];
  const emitter = new EventEmitter();
  const push = (e: SupervisorEvent) => {
    events.push(e);
    emitter.emit("event");
  };
  let current: number | undefined;
  let oomBefore = 0;
  let restarts = -1;
  const spawned = (pid: number) => {
    if (pid === current) return;
    current = pid;
    restarts += 1;
    oomBefore = oomKills(cgroup);
    push({ event: "spawned", pid, restarts, at: new Date().toISOString() });
  };
  const exited = (code: number | null, signal: string | null, coreDumped = false) => {
    const pid = current;
    if (pid === undefined) return;
    current = undefined;
    const oom = oomKills(cgroup) > oomBefore;
    const result =
      signal !== null
        ? oom
          ? "oom-kill"
          : coreDumped
            ? "core-dump"
            : "signal"
        : code !== 0
          ? oom
            ? "oom-kill"
            : "exit-code"
          : "success";
    push({ event: "exited", pid, code, signal, result, restarts, at: new Date().toISOString() });
  };
  const appLines = tail(logPath);
  const readApp = (lines: string[]) => {
    for (const l of lines) {
      const tagged = TAGGED.exec(l);
      if (tagged && Number(tagged[1]) !== current && opts.supervisor !== "supervisord")
        spawned(Number(tagged[1]));
      const up = LISTENING.exec(l);
      if (up) push({ event: "ready", pid: Number(up[1]), restarts, at: new Date().toISOString() });
    }
  };

  let child: ChildProcess | undefined;
  let supervisorPid: number;
  let poll: () => void;
  let stopSupervisor: () => Promise<void>;
  let extra: Pick<LabBackendInfo, "supervisord" | "pm2"> = {};
  let unit = opts.name;

  if (opts.supervisor === "supervisord") {
    const conf = join(opts.dir, "supervisord.conf");
    const socket = join(opts.dir, "supervisor.sock");
    const supLog = join(opts.dir, "supervisord.log");
    // The app keeps a pid file too, so that an inventory may name only that (and find supervisord as its parent).
    const argv = [process.execPath, ...app, "--pid-file", pidFile].join(" ");
    const command = cgroup === null ? argv : `sh -c 'echo $$ >${join(cgroup, "cgroup.procs")}; exec ${argv}'`;
    await writeFile(
      conf,
      [
        "[unix_http_server]",
        `file=${socket}`,
        "chmod=0770",
        "chown=root:adm",
        "[supervisord]",
        `logfile=${supLog}`,
        `pidfile=${join(opts.dir, "supervisord.pid")}`,
        `childlogdir=${opts.dir}`,
        "nodaemon=true",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "[supervisorctl]",
        `serverurl=unix://${socket}`,
        `[program:${opts.name}]`,
        `command=${command}`,
        `directory=${opts.dir}`,
        // supervisord may notice an exit a second late: a start must last 3 s to count, so a quick death is one.
        "startsecs=3",
        "startretries=3",
        "autorestart=true",
        "stopwaitsecs=3",
        `stdout_logfile=${logPath}`,
        "stdout_logfile_maxbytes=0",
        "redirect_stderr=true",
        "",
      ].join("\n"),
      { mode: 0o644 },
    );
    child = spawn("supervisord", ["-c", conf], { stdio: ["ignore", "ignore", "pipe"] });
    if (child.pid === undefined) throw new Error(`could not spawn supervisord for ${opts.name}`);
    supervisorPid = child.pid;
    const supLines = tail(supLog);
    const name = opts.name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const spawnRe = new RegExp(`spawned: '${name}' with pid (\\d+)$`);
    const exitRe = new RegExp(
      `(?:exited|stopped): ${name} \\((?:exit status (\\d+)|terminated by (SIG\\w+)( \\(core dumped\\))?)`,
    );
    poll = () => {
      for (const l of supLines()) {
        const s = spawnRe.exec(l);
        if (s) spawned(Number(s[1]));
        const e = exitRe.exec(l);
        if (e) exited(e[1] === undefined ? null : Number(e[1]), e[2] ?? null, e[3] !== undefined);
      }
      readApp(appLines());
    };
    stopSupervisor = async () => {
      await terminate([supervisorPid], "SIGTERM", 6000);
    };
    extra = { supervisord: { conf, log: supLog, socket, program: opts.name } };
    unit = opts.name;
  } else if (opts.supervisor === "pm2") {
    const bin = await ensurePm2();
    const home = join(opts.dir, "pm2");
    await mkdir(home, { recursive: true });
    const env = { ...process.env, ...opts.env, PM2_HOME: home };
    const pm2 = (args: string[]) => execFileAsync(bin, args, { env, timeout: 30_000 });
    // The app's name carries no pid file: PM2 keeps its own, and the app's lines carry the pid.
    await pm2(["start", APP, "--name", opts.name, "--cwd", opts.dir, "--", ...app.slice(1)]);
    supervisorPid = Number(readFileSync(join(home, "pm2.pid"), "utf8").trim());
    // The bot's account (group adm) may ask the daemon for its list, as an operator would allow.
    for (const s of ["rpc.sock", "pub.sock"]) {
      await chown(join(home, s), 0, opts.logGroupId);
      await chmod(join(home, s), 0o770);
    }
    const pm2Log = join(home, "pm2.log");
    const pm2Lines = tail(pm2Log);
    const outLines = tail(join(home, "logs", `${opts.name}-out.log`));
    const name = opts.name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const exitRe = new RegExp(
      `App \\[${name}:\\d+\\] exited with code \\[(-?\\d+|null)\\] via signal \\[(\\w+)\\]`,
    );
    poll = () => {
      // PM2 logs an exit before it starts the next process: its log first, then the app's new lines.
      for (const l of pm2Lines()) {
        const e = exitRe.exec(l);
        if (!e) continue;
        const code = e[1] === "null" ? 0 : Number(e[1]);
        exited(
          code === 0 && e[2] !== "SIGINT" ? null : code,
          code === 0 && e[2] !== "SIGINT" ? (e[2] ?? null) : null,
        );
      }
      readApp(outLines());
    };
    stopSupervisor = async () => {
      await pm2(["kill"]).catch(() => undefined);
      await terminate([supervisorPid], "SIGTERM", 3000);
    };
    extra = { pm2: { home, bin, app: opts.name } };
  } else {
    // No supervisor: a bare restart loop that logs nothing; the app writes its own pid file.
    const loop = 'while :; do "$@" --pid-file "$PIDFILE" >>"$LOG" 2>&1; sleep 0.3; done';
    child = spawn("sh", ["-c", loop, "sh", process.execPath, ...app], {
      stdio: ["ignore", "ignore", "pipe"],
      detached: true,
      env: { ...process.env, ...opts.env, PIDFILE: pidFile, LOG: logPath },
    });
    if (child.pid === undefined) throw new Error(`could not spawn the restart loop of ${opts.name}`);
    supervisorPid = child.pid;
    poll = () => {
      readApp(appLines());
      if (current !== undefined && !alive(current)) exited(null, null);
    };
    stopSupervisor = async () => {
      try {
        process.kill(-supervisorPid, "SIGTERM");
      } catch {
        // gone
      }
      await terminate([supervisorPid], "SIGKILL", 2000);
    };
  }

  let stderr = "";
  child?.stderr?.setEncoding("utf8");
  child?.stderr?.on("data", (d: string) => {
    stderr += d;
  });
  const timer = setInterval(poll, POLL_MS);
  timer.unref();

  const next: Backend["next"] = (kind, o = {}) => {
    type E = EventOf<typeof kind>;
    const matches = (e: SupervisorEvent): e is E => e.event === kind && (o.pred?.(e as E) ?? true);
    const timeoutMs = o.timeoutMs ?? 15_000;
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = events.slice(o.since ?? 0).find(matches);
        if (found === undefined) return false;
        resolve(found);
        return true;
      };
      if (check()) return;
      const t = setTimeout(() => {
        emitter.off("event", listener);
        reject(
          new Error(`${opts.name} (${opts.supervisor}): no "${kind}" event within ${timeoutMs} ms ${stderr}`),
        );
      }, timeoutMs);
      const listener = () => {
        if (check()) {
          clearTimeout(t);
          emitter.off("event", listener);
        }
      };
      emitter.on("event", listener);
    });
  };

  const appPids = (): number[] => {
    const pids = new Set<number>();
    for (const e of events) if (e.event === "spawned" || e.event === "ready") pids.add(e.pid);
    const fromFile = pidFromFile(pidFile);
    if (fromFile !== undefined) pids.add(fromFile);
    return [...pids].filter(alive);
  };

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    const apps = appPids();
    await stopSupervisor();
    clearInterval(timer);
    await terminate(apps.filter(alive), "SIGKILL", 2000);
    if (cgroup !== null && existsSync(cgroup)) {
      await waitUntil(
        () => (readFileSync(join(cgroup, "cgroup.procs"), "utf8").trim() === "" ? true : undefined),
        {
          what: `${cgroup} to empty`,
        },
      );
      rmdirSync(cgroup);
    }
  };
  const killNow = (): void => {
    for (const pid of [supervisorPid, ...appPids()]) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  };

  const info: LabBackendInfo = {
    name: opts.name,
    unit,
    address: opts.address,
    port: opts.port,
    target: `${opts.address}:${opts.port}`,
    mode: opts.mode,
    pidFile,
    logPath: opts.supervisor === "pm2" ? join(opts.dir, "pm2", "logs", `${opts.name}-out.log`) : logPath,
    journalPath,
    configPath,
    supervisorPid,
    cgroup,
    memoryLimit: cgroup === null ? null : (opts.memoryLimit ?? null),
    supervisor: opts.supervisor,
    ...extra,
  };
  const backend: Backend = {
    info,
    events,
    currentPid: () => current ?? (opts.supervisor === "none" ? pidFromFile(pidFile) : undefined),
    next,
    stop,
    killNow,
  };
  try {
    await next("ready", { timeoutMs: 15_000 });
  } catch (err) {
    await stop();
    throw err;
  }
  return backend;
}

/** A backend under the supervisor its plan names: the systemd stand-in unless it says otherwise. */
export function startUnder(supervisor: LabSupervisor | undefined, opts: BackendOptions): Promise<Backend> {
  if (supervisor === undefined || supervisor === "systemd") return startBackend(opts);
  if (opts.socket !== undefined || opts.restart !== undefined)
    throw new Error(
      `${opts.name}: a socket or a Restart= is for the systemd stand-in only, not ${supervisor}`,
    );
  return startSupervised({ ...opts, supervisor });
}
