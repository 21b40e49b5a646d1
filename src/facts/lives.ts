import type { Bundle } from "../bundle/schema.js";
import type { AppRecord } from "../evidence/app.js";
import type { DockerRecord } from "../evidence/docker/docker.js";
import type { Pm2Record } from "../evidence/pm2/pm2.js";
import type { SupervisordRecord } from "../evidence/supervisord/supervisord.js";
import type { SystemdRecord } from "../evidence/systemd.js";
import type { Endpoint } from "./address.js";
import { type EvidenceRef, type EvidenceSet, recordsOf, refOf } from "./evidence-set.js";
import { inWindow, ms, type Window } from "./window.js";

/**
 * The lives of a backend's process in the window, whatever supervises it: when it was started, how each life
 * ended, whether the supervisor gave up, and what the process said last. Pure.
 */

export type Supervisor = "systemd" | "supervisord" | "pm2" | "docker" | "";

export interface Start {
  ms: number;
  pid?: number | undefined;
  ref: EvidenceRef;
}

export interface Exit {
  ms: number;
  /** The pid of the life that ended, when the supervisor names it (supervisord's `spawned: ... with pid`). */
  pid?: number | undefined;
  /** systemd's words: `exited` with a status, or `killed`/`dumped` by a signal. */
  code: "exited" | "killed" | "dumped";
  status: number;
  statusName: string;
  signal: string;
  oomKilled: boolean;
  ref: EvidenceRef;
}

/** What the supervisor says about the process now. */
export interface Now {
  running: boolean;
  pid: number;
  startedAt: string;
  state: string;
  restarts: number;
  ref: EvidenceRef;
}

export interface Lives {
  supervisor: Supervisor;
  starts: Start[];
  exits: Exit[];
  /** The supervisor stopped restarting it: supervisord FATAL, PM2 errored, systemd's start limit. */
  gaveUp: EvidenceRef | undefined;
  now: Now | undefined;
}

const SIGNALS = ["", "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV"];
SIGNALS.push("USR2", "PIPE", "ALRM", "TERM");
/** systemd's exit_status_to_string() for the LSB range. */
const EXIT_NAMES = [
  "SUCCESS",
  "FAILURE",
  "INVALIDARGUMENT",
  "NOTIMPLEMENTED",
  "NOPERMISSION",
  "NOTINSTALLED",
];
EXIT_NAMES.push("NOTCONFIGURED", "NOTRUNNING");

function exitOf(
  time: string | undefined,
  fields: { exitCode?: number | undefined; signal?: string | undefined; coreDumped?: boolean | undefined },
  oomKilled: boolean,
  ref: EvidenceRef,
): Exit | undefined {
  const t = ms(time);
  if (Number.isNaN(t)) return undefined;
  if (fields.signal !== undefined) {
    const n = SIGNALS.indexOf(fields.signal);
    return {
      ms: t,
      code: fields.coreDumped ? "dumped" : "killed",
      status: Math.max(n, 0),
      statusName: fields.signal,
      signal: fields.signal,
      oomKilled,
      ref,
    };
  }
  const status = fields.exitCode ?? 0;
  return {
    ms: t,
    code: "exited",
    status,
    statusName: EXIT_NAMES[status] ?? "n/a",
    signal: "",
    oomKilled,
    ref,
  };
}

/** The supervisor's name for the program behind this target, as the inventory gave it. */
export function programOf(bundle: Bundle, host: string, ep: Endpoint): string | undefined {
  const specs = bundle.backends.filter((b) => b.host === host);
  const spec =
    specs.find((b) =>
      ep.kind === "unix" ? b.socket === ep.host : ep.kind !== "tcp" || b.port === ep.port,
    ) ?? specs[0];
  return spec?.process;
}

function supervisordLives(records: SupervisordRecord[], window: Window): Lives {
  const lives: Lives = {
    supervisor: "supervisord",
    starts: [],
    exits: [],
    gaveUp: undefined,
    now: undefined,
  };
  let pid: number | undefined;
  for (const r of records) {
    if (r.entry === "status") {
      const running = r.state === "RUNNING";
      lives.now = {
        running,
        pid: r.pid ?? 0,
        startedAt: r.startedAt ?? "",
        state: r.state ?? "",
        restarts: 0,
        ref: refOf(r),
      };
      if (r.state === "FATAL") lives.gaveUp ??= refOf(r);
      continue;
    }
    if (r.event === "spawned") pid = r.pid;
    if (!inWindow(r.time, window)) continue;
    if (r.event === "spawned") lives.starts.push({ ms: ms(r.time), pid: r.pid, ref: refOf(r) });
    if (r.event === "exited") {
      const e = exitOf(r.time, r, false, refOf(r));
      if (e) lives.exits.push({ ...e, pid });
      pid = undefined;
    }
    if (r.event === "gave_up") lives.gaveUp = refOf(r);
  }
  return lives;
}

function pm2Lives(records: Pm2Record[], window: Window): Lives {
  const lives: Lives = { supervisor: "pm2", starts: [], exits: [], gaveUp: undefined, now: undefined };
  for (const r of records) {
    if (r.entry === "status") {
      lives.now = {
        running: r.state === "online",
        pid: r.pid ?? 0,
        startedAt: r.startedAt ?? "",
        state: r.state ?? "",
        restarts: r.restarts ?? 0,
        ref: refOf(r),
      };
      continue;
    }
    if (!inWindow(r.time, window)) continue;
    if (r.event === "spawned") lives.starts.push({ ms: ms(r.time), ref: refOf(r) });
    if (r.event === "exited") {
      const e = exitOf(r.time, r, false, refOf(r));
      if (e) lives.exits.push(e);
    }
    if (r.event === "gave_up") lives.gaveUp = refOf(r);
  }
  // PM2 names the script, not the app, when it gives up: it is this app's when it runs that script.
  return lives;
}

function dockerLives(records: DockerRecord[], window: Window): Lives {
  const lives: Lives = { supervisor: "docker", starts: [], exits: [], gaveUp: undefined, now: undefined };
  const r = records.at(-1);
  if (!r) return lives;
  const ref = refOf(r);
  lives.now = {
    running: r.running === true && r.restarting !== true,
    pid: r.pid ?? 0,
    startedAt: r.startedAt ?? "",
    state: r.state ?? "",
    restarts: r.restarts ?? 0,
    ref,
  };
  // Docker keeps only the last start and the last exit.
  if (r.startedAt && inWindow(r.startedAt, window) && (r.restarts ?? 0) > 0)
    lives.starts.push({ ms: ms(r.startedAt), pid: r.pid, ref });
  if (r.finishedAt && inWindow(r.finishedAt, window)) {
    const e = exitOf(r.finishedAt, r, r.oomKilled === true, ref);
    if (e) lives.exits.push(e);
  }
  return lives;
}

/** systemd's starts (`Started unit.`) and its give-up (start limit). Its exits are read in backend.ts. */
function systemdLives(records: SystemdRecord[], window: Window): Lives {
  const lives: Lives = { supervisor: "systemd", starts: [], exits: [], gaveUp: undefined, now: undefined };
  for (const r of records) {
    if (r.entry !== "journal" || !inWindow(r.time, window)) continue;
    if (r.event === "started") lives.starts.push({ ms: ms(r.time), ref: refOf(r) });
    if (r.event === "start_limit" || r.result === "start-limit-hit") lives.gaveUp = refOf(r);
    if (r.event === "main_exited" && r.code !== undefined) {
      const e = exitOf(
        r.time,
        r.code === "exited"
          ? { exitCode: r.status }
          : { signal: r.signal ?? SIGNALS[r.status ?? 0] ?? "", coreDumped: r.code === "dumped" },
        false,
        refOf(r),
      );
      if (e) lives.exits.push(e);
    }
  }
  return lives;
}

/** The lives the supervisor of the target's program tells about; `supervisor` is "" when none did. */
export function supervisedLives(
  set: EvidenceSet,
  host: string,
  program: string | undefined,
  window: Window,
): Lives {
  const mine = <R extends { program?: string | undefined }>(rs: R[]) =>
    program === undefined ? rs : rs.filter((r) => r.program === undefined || r.program === program);
  const sup = mine(recordsOf(set, "supervisord", host)).filter(
    (r) => r.program !== undefined || r.event !== "spawn_error",
  );
  if (sup.length > 0) return supervisordLives(sup, window);
  const pm2All = recordsOf(set, "pm2", host);
  const scripts = new Set(
    pm2All
      .filter((r) => r.entry === "status" && (program === undefined || r.program === program))
      .map((r) => r.execPath),
  );
  // The give-up line names the script: it is this app's when the app runs that script (or PM2 runs only it).
  const pm2 = pm2All.filter((r) =>
    r.event === "gave_up"
      ? scripts.has(r.execPath) || new Set(pm2All.map((x) => x.program).filter(Boolean)).size <= 1
      : program === undefined || r.program === program,
  );
  if (pm2.length > 0) return pm2Lives(pm2, window);
  const docker = mine(recordsOf(set, "docker", host));
  if (docker.length > 0) return dockerLives(docker, window);
  const systemd = recordsOf(set, "systemd", host);
  if (systemd.length > 0) return systemdLives(systemd, window);
  return { supervisor: "", starts: [], exits: [], gaveUp: undefined, now: undefined };
}

/** Each record's process (a line without a pid belongs to the tagged line before it), and each pid's span. */
function pidSpans(app: AppRecord[]): {
  pids: (number | undefined)[];
  first: Map<number, number>;
  last: Map<number, number>;
} {
  const pids: (number | undefined)[] = [];
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  app.forEach((r, i) => {
    const pid = r.pid ?? pids.at(-1);
    pids.push(pid);
    if (pid === undefined) return;
    if (!first.has(pid)) first.set(pid, i);
    last.set(pid, i);
  });
  return { pids, first, last };
}

/**
 * Lives told by the app's own log when no supervisor tells them: a pid whose first line comes after the last
 * line of every pid before it took over from them (`name[pid]:` tags; untagged lines belong to the tagged line
 * before them). Pids whose lines interleave (a master and its workers) are one service living on, not restarts.
 */
export function appLogLives(app: AppRecord[]): { starts: Start[]; ends: LifeEvent[] } {
  const { first, last } = pidSpans(app);
  const starts: Start[] = [];
  const ends: LifeEvent[] = [];
  let before = -1;
  for (const [pid, at] of [...first].sort((a, b) => a[1] - b[1])) {
    const r = app[at] as AppRecord;
    if (before >= 0 && at > before) {
      const end = app[before] as AppRecord;
      ends.push({ ms: ms(end.time), line: end.line, end: true });
      starts.push({ ms: ms(r.time), pid, ref: refOf(r) });
    }
    before = Math.max(before, last.get(pid) ?? at);
  }
  return { starts, ends };
}

/** What a program says as it comes up: a start banner. */
const BANNER =
  /\b(?:starting|started|listening on|listening at|booting|server (?:is )?running|ready to accept)\b/i;

/**
 * Starts told by start banners, when the app's log tags no line with a pid: the same banner (numbers aside)
 * seen again is the program started again. The first one may be the start before the window's trouble.
 */
export function bannerStarts(app: AppRecord[]): Start[] {
  if (app.some((r) => r.pid !== undefined)) return [];
  const groups = new Map<string, AppRecord[]>();
  for (const r of app) {
    if (r.signature !== "log_line" || r.message === undefined || !BANNER.test(r.message)) continue;
    const key = r.message.replace(/\d+/g, "#");
    const g = groups.get(key);
    if (g) g.push(r);
    else groups.set(key, [r]);
  }
  const best = [...groups.values()].sort((a, b) => b.length - a.length)[0] ?? [];
  return best.length < 2 ? [] : best.slice(1).map((r) => ({ ms: ms(r.time), ref: refOf(r) }));
}

/** A start or an end of a life, at `ms`; `line` keeps log order between events stamped in the same second. */
export interface LifeEvent {
  ms: number;
  line: number;
  end: boolean;
}

/**
 * Lengths (ms) of the lives that began in the window and ended: from a start to its end, or to the next start
 * when no end was seen (a bound from above). Events in time order; within one stamp, in log order.
 */
export function lifeLengths(events: LifeEvent[]): number[] {
  const sorted = events
    .filter((e) => !Number.isNaN(e.ms))
    .map((e, i) => ({ ...e, i }))
    .sort((a, b) => a.ms - b.ms || a.line - b.line || a.i - b.i);
  const out: number[] = [];
  let open: number | undefined;
  for (const e of sorted) {
    if (e.end) {
      if (open !== undefined) out.push(Math.max(0, e.ms - open));
      open = undefined;
    } else {
      if (open !== undefined) out.push(e.ms - open);
      open = e.ms;
    }
  }
  return out;
}

const STACKS = new Set([
  "go_panic",
  "go_fatal",
  "java_exception",
  "java_oom",
  "node_heap_oom",
  "node_uncaught",
  "python_traceback",
]);

const FATAL_LEVELS = new Set(["fatal", "critical", "crit", "panic", "emerg", "alert"]);

/**
 * What a process says as it dies, with its numbers (pids, ports, stamps) out, to compare lives: a crash stack,
 * a fatal-level line, or a serious line that was the last of its process (the next line has another pid).
 * Ordinary errors logged again and again by a process that lives on are not last words.
 */
function deathWords(r: AppRecord, lastOfLife: boolean): string | undefined {
  if (STACKS.has(r.signature)) return `${r.signature}: ${r.summary ?? r.errorType ?? ""}`;
  const fatal = r.cause === "log_fatal" || FATAL_LEVELS.has(r.level ?? "");
  if (!fatal && !(lastOfLife && r.fatalCandidate === true)) return undefined;
  const words = r.message ?? r.summary ?? r.text;
  return words.replace(/\d+/g, "#");
}

export interface RepeatedWords {
  /** The latest of the repeated lines (its message, or a stack's summary). */
  text: string;
  count: number;
  refs: EvidenceRef[];
  /** When each was written, in log order. */
  times: number[];
}

/** The last words most often repeated in the window (at least twice): a process dying the same way each time. */
export function repeatedLastWords(app: AppRecord[]): RepeatedWords | undefined {
  const groups = new Map<string, AppRecord[]>();
  const { pids, first, last } = pidSpans(app);
  // Where the latest process that took over from the ones before it began.
  const takeovers = appLogLives(app).starts.map((s) => first.get(s.pid ?? -1) ?? -1);
  const latestTakeover = takeovers.length > 0 ? Math.max(...takeovers) : -1;
  for (const [i, r] of app.entries()) {
    // The last line of a process that another one took over from.
    const pid = pids[i];
    const ended = pid !== undefined && last.get(pid) === i && latestTakeover > i;
    const key = deathWords(r, ended);
    if (key === undefined) continue;
    const g = groups.get(key);
    if (g) g.push(r);
    else groups.set(key, [r]);
  }
  let best: AppRecord[] | undefined;
  for (const g of groups.values()) {
    if (g.length < 2) continue;
    if (
      !best ||
      g.length > best.length ||
      (g.length === best.length && (g.at(-1)?.line ?? 0) > (best.at(-1)?.line ?? 0))
    )
      best = g;
  }
  if (!best) return undefined;
  const latest = best.at(-1) as AppRecord;
  const text = STACKS.has(latest.signature)
    ? (latest.summary ?? latest.text)
    : (latest.message ?? latest.text);
  return { text, count: best.length, refs: best.map(refOf), times: best.map((r) => ms(r.time)) };
}
