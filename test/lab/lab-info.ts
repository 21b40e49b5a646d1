import { z } from "zod";

export const SCENARIOS = [
  "crash",
  "oom",
  "fatal",
  "write-timeout",
  "stale-upstream",
  "two-causes",
  "healthy",
  "killed",
  "segv",
  "down",
  "host-down",
  "crash-loop-supervisord",
  "crash-loop-pm2",
  "crash-loop-pidfile",
  "oom-supervisord",
  "fatal-supervisord",
  "abort-core",
  "worker-timeout",
  "gunicorn-oom",
  "heap-exhausted",
  "socket-exit",
  "socket-crash-restart",
] as const;
export const ScenarioName = z.enum(SCENARIOS);
export type ScenarioName = z.infer<typeof ScenarioName>;

export const VERDICTS = [
  "crashed",
  "oom_killed",
  "exited_on_purpose",
  "write_timeout",
  "stale_upstream",
  "healthy",
  "crashed_no_trace",
  "crashed_segfault",
  "down",
  "host_unreachable",
  "crash_loop",
  "worker_timeout",
  "heap_exhausted",
] as const;
export const VerdictId = z.enum(VERDICTS);
export type VerdictId = z.infer<typeof VerdictId>;

export const BackendMode = z.enum([
  "ok",
  "crash",
  "oom",
  "fatal",
  "write-timeout",
  "worker-timeout",
  "heap",
  "gunicorn-oom",
]);
export type BackendMode = z.infer<typeof BackendMode>;

/** What the backend is: the Node app (app.mjs), a WSGI app under gunicorn, or a Java program on a JVM. */
export const LabRuntime = z.enum(["node", "gunicorn", "jvm"]);
export type LabRuntime = z.infer<typeof LabRuntime>;

/** What runs the backend: the systemd stand-in (supervisor.mjs), supervisord, PM2, or nothing but a loop. */
export const LabSupervisor = z.enum(["systemd", "supervisord", "pm2", "none"]);
export type LabSupervisor = z.infer<typeof LabSupervisor>;

export const LabBackendInfo = z.object({
  name: z.string(),
  /** systemd-style unit name the supervisor writes to the journal, e.g. "checkout-1.service" */
  unit: z.string(),
  /** the backend host's address: its sshd listens there too */
  address: z.string(),
  port: z.number().int(),
  /** "address:port" (or "unix:/path" with `socket`), as nginx's upstream block and error log name it */
  target: z.string(),
  /** the unix socket the app listens on instead of the port (socket.ts) */
  socket: z.string().optional(),
  mode: BackendMode,
  /** holds the current main pid; absent while the service is down */
  pidFile: z.string(),
  /** the app's stdout and stderr, appended */
  logPath: z.string(),
  /** the supervisor's systemd-style journal (journalctl -o short lines) */
  journalPath: z.string(),
  /** the app's config, read on SIGHUP */
  configPath: z.string(),
  supervisorPid: z.number().int(),
  /** cgroup-v1 memory cgroup of the service; null when the backend runs without one */
  cgroup: z.string().nullable(),
  memoryLimit: z.string().nullable(),
  /** absent: the systemd stand-in */
  supervisor: LabSupervisor.optional(),
  /** absent: the Node app */
  runtime: LabRuntime.optional(),
  /** under supervisord: its config (for supervisorctl -c), its main log, its socket and the program's name */
  supervisord: z
    .object({ conf: z.string(), log: z.string(), socket: z.string(), program: z.string() })
    .optional(),
  /** under PM2: its home (PM2_HOME), the pm2 binary and the app's name */
  pm2: z.object({ home: z.string(), bin: z.string(), app: z.string() }).optional(),
});
export type LabBackendInfo = z.infer<typeof LabBackendInfo>;

export const LabInfo = z.object({
  dir: z.string(),
  scenario: ScenarioName.nullable(),
  createdAt: z.string(),
  gateway: z.object({
    host: z.string(),
    listen: z.string(),
    upstream: z.string(),
    /** the upstream's servers as nginx was started with them (a scenario may reload other ones) */
    servers: z.array(z.string()),
    nginx: z.object({
      binary: z.string(),
      version: z.string(),
      prefix: z.string(),
      conf: z.string(),
      siteConf: z.string(),
      masterPid: z.number().int(),
      pidFile: z.string(),
      errorLog: z.string(),
      accessLog: z.string(),
      logFormat: z.string(),
      /** shell command line: `nginx -T -p DIR -c CONF` */
      testCommand: z.string(),
    }),
  }),
  ssh: z
    .object({
      port: z.number().int(),
      user: z.string(),
      addresses: z.array(z.string()),
      keyPath: z.string(),
      publicKey: z.string(),
      knownHostsPath: z.string(),
      /** one sshd listens on at most 16 addresses; the bench variant runs several, with their own host keys */
      instances: z.array(
        z.object({
          pid: z.number().int(),
          addresses: z.array(z.string()),
          hostPublicKey: z.string(),
          logPath: z.string(),
        }),
      ),
      /** commands the ssh user may run as `sudo -n <command>`; empty when sudo is missing */
      sudo: z.array(z.string()),
    })
    .nullable(),
  backends: z.array(LabBackendInfo),
  cgroups: z.array(z.string()),
});
export type LabInfo = z.infer<typeof LabInfo>;

export const ExpectedVerdict = z.object({ target: z.string(), verdict: VerdictId });
export type ExpectedVerdict = z.infer<typeof ExpectedVerdict>;
