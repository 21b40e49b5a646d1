import type { AppRecord } from "../evidence/app.js";
import { CRASH_STACKS } from "../evidence/app-schema.js";
import { type EvidenceRef, refOf } from "./evidence-set.js";
import { ms } from "./window.js";

export { programOf, supervisedLives } from "./lives-supervisors.js";

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

const FATAL_LEVELS = new Set(["fatal", "critical", "crit", "panic", "emerg", "alert"]);

/**
 * What a process says as it dies, with its numbers (pids, ports, stamps) out, to compare lives: a crash stack,
 * a fatal-level line, or a serious line that was the last of its process (the next line has another pid).
 * Ordinary errors logged again and again by a process that lives on are not last words.
 */
function deathWords(r: AppRecord, lastOfLife: boolean): string | undefined {
  if (CRASH_STACKS.has(r.signature)) return `${r.signature}: ${r.summary ?? r.errorType ?? ""}`;
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
  const text = CRASH_STACKS.has(latest.signature)
    ? (latest.summary ?? latest.text)
    : (latest.message ?? latest.text);
  return { text, count: best.length, refs: best.map(refOf), times: best.map((r) => ms(r.time)) };
}
