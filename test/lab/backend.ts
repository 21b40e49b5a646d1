import { type ChildProcess, spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { existsSync, readFileSync, rmdirSync } from "node:fs";
import { chmod, chown, mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import type { BackendMode, LabBackendInfo, LabRuntime } from "./lab-info.js";
import { alive, pidFromFile, terminate } from "./procs.js";
import { runtimeCommand } from "./runtimes.js";
import { waitUntil } from "./wait.js";

const HERE = dirname(fileURLToPath(import.meta.url));
export const APP = join(HERE, "backend", "app.mjs");
export const SUPERVISOR = join(HERE, "backend", "supervisor.mjs");
export const CGROUP_ROOT = "/sys/fs/cgroup/memory";

/** What the supervisor reports over IPC. */
export const SupervisorEvent = z.discriminatedUnion("event", [
  z.object({ event: z.literal("spawned"), pid: z.number(), restarts: z.number(), at: z.string() }),
  z.object({ event: z.literal("ready"), pid: z.number(), restarts: z.number(), at: z.string() }),
  z.object({
    event: z.literal("exited"),
    pid: z.number(),
    code: z.number().nullable(),
    signal: z.string().nullable(),
    result: z.string(),
    restarts: z.number(),
    at: z.string(),
  }),
  z.object({ event: z.literal("stopped"), at: z.string() }),
]);
export type SupervisorEvent = z.infer<typeof SupervisorEvent>;
type EventOf<K extends SupervisorEvent["event"]> = Extract<SupervisorEvent, { event: K }>;

export interface BackendOptions {
  name: string;
  address: string;
  port: number;
  mode: BackendMode;
  /** where pid, log, journal and config live (created) */
  dir: string;
  logGroupId: number;
  appArgs?: string[];
  restartMs?: number;
  /** e.g. "64M"; undefined runs the service without a memory cgroup */
  memoryLimit?: string;
  /** extra environment of the supervisor and its app (a skewed clock: skew.ts) */
  env?: Record<string, string>;
  /** default: the Node app; the others get the failure of their runtime (runtimes.ts) */
  runtime?: LabRuntime;
  /** the Node app listens on this unix socket instead of the port */
  socket?: string;
  /** the stand-in's Restart=; default "always" */
  restart?: "always" | "no";
}

export interface Backend {
  info: LabBackendInfo;
  /** every event so far, oldest first */
  events: SupervisorEvent[];
  /** pid of the main process now, from the pid file */
  currentPid(): number | undefined;
  /** Resolves with the first event of that kind (after `since` events, if given) matching `pred`. */
  next<K extends SupervisorEvent["event"]>(
    kind: K,
    opts?: { since?: number; pred?: (e: EventOf<K>) => boolean; timeoutMs?: number },
  ): Promise<EventOf<K>>;
  stop(): Promise<void>;
  /** synchronous last resort for a process-exit handler */
  killNow(): void;
}

export async function startBackend(opts: BackendOptions): Promise<Backend> {
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
  const cgroupName = `why502-lab-${opts.name}`;
  const cgroup = opts.memoryLimit === undefined ? null : join(CGROUP_ROOT, cgroupName);
  const runtime =
    opts.runtime === undefined || opts.runtime === "node"
      ? undefined
      : runtimeCommand(opts.runtime, { ...opts, appArgs: opts.appArgs ?? [] });
  const app = runtime
    ? ["--exec", "--ready-tcp", `${opts.address}:${opts.port}`, "--", ...runtime.argv]
    : [
        "--",
        APP,
        "--name",
        opts.name,
        ...(opts.socket === undefined
          ? ["--address", opts.address, "--port", String(opts.port)]
          : ["--socket", opts.socket]),
        ...["--mode", opts.mode, "--config", configPath],
        ...(opts.appArgs ?? []),
      ];
  const sup = [
    SUPERVISOR,
    ...["--name", opts.name, "--journal", journalPath, "--log", logPath, "--pid-file", pidFile],
    ...["--restart-ms", String(opts.restartMs ?? 300), "--restart", opts.restart ?? "always"],
    ...(opts.memoryLimit === undefined ? [] : ["--memory-limit", opts.memoryLimit, "--cgroup", cgroupName]),
    ...app,
  ];
  const env = { ...opts.env, ...runtime?.env };
  const child: ChildProcess = spawn(process.execPath, sup, {
    stdio: ["ignore", "ignore", "pipe", "ipc"],
    ...(Object.keys(env).length > 0 ? { env: { ...process.env, ...env } } : {}),
  });
  const supervisorPid = child.pid;
  if (supervisorPid === undefined) throw new Error(`could not spawn the supervisor of ${opts.name}`);
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (d: string) => {
    stderr += d;
  });
  const events: SupervisorEvent[] = [];
  const emitter = new EventEmitter();
  child.on("message", (m) => {
    const parsed = SupervisorEvent.safeParse(m);
    if (!parsed.success) return;
    events.push(parsed.data);
    emitter.emit("event");
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.once("exit", () => emitter.emit("event"));

  const next: Backend["next"] = (kind, o = {}) => {
    type E = EventOf<typeof kind>;
    const matches = (e: SupervisorEvent): e is E => e.event === kind && (o.pred?.(e as E) ?? true);
    const timeoutMs = o.timeoutMs ?? 15_000;
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = events.slice(o.since ?? 0).find(matches);
        if (found !== undefined) {
          resolve(found);
          return true;
        }
        if (child.exitCode !== null || child.signalCode !== null) {
          reject(new Error(`supervisor of ${opts.name} exited before "${kind}": ${stderr.trim()}`));
          return true;
        }
        return false;
      };
      if (check()) return;
      const timer = setTimeout(() => {
        emitter.off("event", listener);
        reject(new Error(`${opts.name}: no "${kind}" event within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = () => {
        if (check()) {
          clearTimeout(timer);
          emitter.off("event", listener);
        }
      };
      emitter.on("event", listener);
    });
  };

  const appPids = (): number[] => {
    const pids = new Set<number>();
    const fromFile = pidFromFile(pidFile);
    if (fromFile !== undefined) pids.add(fromFile);
    for (const e of events) if (e.event === "spawned") pids.add(e.pid);
    return [...pids].filter(alive);
  };

  const removeCgroup = async (): Promise<void> => {
    // Ours only once our supervisor has put a process in it (it refuses a cgroup that is in use).
    if (cgroup === null || !existsSync(cgroup) || !events.some((e) => e.event === "spawned")) return;
    await waitUntil(
      () => (readFileSync(join(cgroup, "cgroup.procs"), "utf8").trim() === "" ? true : undefined),
      {
        what: `${cgroup} to empty`,
      },
    );
    rmdirSync(cgroup);
  };

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    const apps = appPids();
    if (child.exitCode === null && child.signalCode === null) {
      await terminate([supervisorPid], "SIGTERM", 6000);
      await exited;
    }
    await terminate(apps.filter(alive), "SIGKILL", 2000);
    await removeCgroup();
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
    unit: `${opts.name}.service`,
    address: opts.address,
    port: opts.port,
    target: opts.socket === undefined ? `${opts.address}:${opts.port}` : `unix:${opts.socket}`,
    ...(opts.socket === undefined ? {} : { socket: opts.socket }),
    mode: opts.mode,
    pidFile,
    logPath,
    journalPath,
    configPath,
    supervisorPid,
    cgroup,
    memoryLimit: opts.memoryLimit ?? null,
    ...(opts.runtime === undefined ? {} : { runtime: opts.runtime }),
  };
  const backend: Backend = {
    info,
    events,
    currentPid: () => pidFromFile(pidFile),
    next,
    stop,
    killNow,
  };
  try {
    await next("ready", { timeoutMs: 10_000 });
  } catch (err) {
    await stop();
    throw err;
  }
  return backend;
}
