import { z } from "zod";

/**
 * Facts the playbook reasons about, for one failing upstream target. Every field is always present
 * (absent values are "", 0 or false, with a `has...`/`...Known` flag beside them) so CEL expressions
 * never hit a missing key; the CEL types are derived from this schema.
 */
export const TargetFacts = z.object({
  address: z.string(),
  /**
   * tcp (host:port), unix (unix:/path), group (an upstream{} name: no peer could be chosen) or name (a host
   * name nginx had to resolve at run time).
   */
  kind: z.enum(["tcp", "unix", "group", "name"]),
  /**
   * The module nginx used to reach the target: `proxy_pass`, `fastcgi_pass`, `uwsgi_pass`, `scgi_pass` or
   * `grpc_pass`, from `nginx -T` (else from the scheme of the error lines' `upstream:`), or "".
   */
  pass: z.string(),
  /** Inventory name of the backend host that owns the address, or "". */
  host: z.string(),
  /** We had a list of instances (inventory or host addresses) to compare the address with. */
  placementKnown: z.boolean(),
  /** The address is one where an instance of the service lives. */
  known: z.boolean(),
  /** The address is a server of the service's upstream{} in `nginx -T`. */
  inConfig: z.boolean(),
  /** The backend host answered (false when it failed; true when there is no host to ask). */
  reachable: z.boolean(),
  hostFailure: z.string(),
  /** ss output was collected for the host. */
  listenerKnown: z.boolean(),
  listening: z.boolean(),
  /** A process of the service was found running now. */
  processKnown: z.boolean(),
  running: z.boolean(),
  pid: z.number(),
  startedAt: z.string(),
  restarted: z.boolean(),
  restarts: z.number(),
  oomKilled: z.boolean(),
  oomPid: z.number(),
  oomComm: z.string(),
  oomTime: z.string(),
  /** The kernel's victim was a worker that its server (gunicorn, uWSGI, php-fpm) replaced: that server's name, or "". */
  oomWorker: z.string(),
  crashed: z.boolean(),
  crashSignature: z.string(),
  crashSummary: z.string(),
  crashFrames: z.array(z.string()),
  segfault: z.boolean(),
  segfaultObject: z.string(),
  exited: z.boolean(),
  exitCode: z.string(),
  exitStatus: z.number(),
  exitStatusName: z.string(),
  exitSignal: z.string(),
  fatalLine: z.string(),
  /** Who told the process's lives: systemd, supervisord, pm2, docker, or "" (its pid file and own log). */
  supervisor: z.string(),
  /**
   * A supervisor the process's parent shows (supervisord, pm2, docker, systemd) when the config names none for
   * it: who restarts it, though its log was not asked for.
   */
  supervisorSeen: z.string(),
  /** Process starts seen in the window (a supervisor's starts, else new pids in the app's own log). */
  starts: z.number(),
  /** Lives that began in the window and ended, and the longest and median of them (seconds). */
  lives: z.number(),
  lifeMaxSeconds: z.number(),
  lifeMedianSeconds: z.number(),
  /** The supervisor stopped restarting it (supervisord FATAL, PM2 errored, systemd's start limit). */
  gaveUp: z.boolean(),
  /** The last words most often repeated as the process died (a fatal line, a stack's summary), and how often. */
  lastWords: z.string(),
  lastWordsRepeats: z.number(),
  /** The kernel wrote a core for it (systemd `code=dumped` / result 'core-dump', supervisord `core dumped`). */
  coreDumped: z.boolean(),
  workerTimeout: z.boolean(),
  poolExhausted: z.boolean(),
  /**
   * The runtime or worker server whose own lines tell how it ended a process or a request (gunicorn, uWSGI,
   * php-fpm, JVM, Node.js), or "".
   */
  runtime: z.string(),
  /** The limit it was started with, as its command line names it (`--timeout 2`, `-Xmx32m`), or "". */
  runtimeSetting: z.string(),
  /** That limit's value: seconds for a worker timeout, MiB for a heap; 0 when not named. */
  runtimeLimit: z.number(),
  /** Workers the runtime ended for running past their timeout (WORKER TIMEOUT, HARAKIRI, execution timed out). */
  workerTimeouts: z.number(),
  /** The process ran out of its heap: Java `OutOfMemoryError: Java heap space`, Node `JavaScript heap out of memory`. */
  heapExhausted: z.boolean(),
  /** Errors nginx logged for this target. */
  errorCount: z.number(),
  firstError: z.string(),
  lastError: z.string(),
  /** Distinct client statuses of those errors (502, 504, ...). */
  statuses: z.array(z.number()),
  /** Access-log requests that went to this target in the window, and how many failed (5xx from nginx). */
  requests: z.number(),
  failedRequests: z.number(),
  /** Durations (s) of failed requests: median and the share within 10% of it. */
  failedMedianSeconds: z.number(),
  failedClusterShare: z.number(),
  /** Share of failed requests that ended in under 50 ms. */
  failedFastShare: z.number(),
  /** The upstream uses keepalive connections (keepalive N in its upstream{}). */
  keepalive: z.boolean(),
  proxyReadTimeoutSeconds: z.number(),
  proxyBufferSize: z.number(),
});
export type TargetFacts = z.infer<typeof TargetFacts>;

export const GatewayFacts = z.object({
  hosts: z.number(),
  reachable: z.number(),
  /** Error-log lines in the window with an upstream cause, all targets. */
  errors: z.number(),
  status502: z.number(),
  status504: z.number(),
  requests: z.number(),
  /** The service's upstream{} group name, or "". */
  upstream: z.string(),
  configKnown: z.boolean(),
  /** Gateways whose error log was read. */
  logsRead: z.number(),
});
export type GatewayFacts = z.infer<typeof GatewayFacts>;

/** Error counts for one target by cause id (every cause id present, 0 when none). */
export const ErrorCounts = z.record(z.string(), z.number());
export type ErrorCounts = z.infer<typeof ErrorCounts>;

/** Names under which a target's evidence is cited by playbook steps. */
export const CiteKey = [
  "errors",
  "config",
  "host",
  "listener",
  "process",
  "restart",
  "oom",
  "crash",
  "segfault",
  "exit",
  "fatal",
  "timing",
  "worker",
  /** The line naming a runtime's limit: its command line (`ps`). */
  "limit",
] as const;
export type CiteKey = (typeof CiteKey)[number];
