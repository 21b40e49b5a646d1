import type { AppRecord } from "../evidence/app.js";
import type { BackendFacts } from "./backend.js";
import type { Citations } from "./derive.js";
import {
  appLogLives,
  bannerStarts,
  type Exit,
  type LifeEvent,
  type Lives,
  lifeLengths,
  repeatedLastWords,
} from "./lives.js";
import { inWindow, ms, type Window } from "./window.js";

// What the lives of one backend's process tell analyseBackend: the exits, starts and state a supervisor
// reports, and how many lives the process had in the window and how long they lasted.

/**
 * Whether exits seen in the window mean the process was started again: all but the last one do, and the last
 * one too unless no process of the service runs now (a unit with Restart=no, autorestart=false).
 */
export function exitsMeanRestart(out: BackendFacts, exits: number): boolean {
  return exits >= 2 || !(out.processKnown && !out.running);
}

/** Exits, starts and the state now as supervisord, PM2 or Docker tell them. Returns the last exit's time. */
export function fromSupervisor(
  out: BackendFacts,
  lives: Lives,
  firstErrorMs: number,
  window: Window,
  cite: Citations,
  lastExitMs: number,
): number {
  let lastMs = lastExitMs;
  const last: Exit | undefined = lives.exits.at(-1);
  if (last) {
    out.restarts = Math.max(out.restarts, lives.exits.length);
    out.exited = true;
    out.exitCode = last.code;
    out.exitStatus = last.status;
    out.exitStatusName = last.statusName;
    out.exitSignal = last.signal;
    lastMs = last.ms;
    for (const e of lives.exits.slice(-3)) cite.exit.push(e.ref);
    for (const e of lives.exits.filter((x) => x.oomKilled)) {
      out.oomKilled = true;
      cite.oom.push(e.ref);
    }
  }
  const restarts = lives.starts.filter((s) => s.ms >= firstErrorMs - 1000);
  if (restarts.length > 0) {
    out.restarted = true;
    for (const s of restarts.slice(-3)) cite.restart.push(s.ref);
  }
  const now = lives.now;
  if (now && !out.processKnown) {
    out.processKnown = true;
    out.running = now.running;
    if (now.running) {
      out.pid = now.pid;
      out.startedAt = now.startedAt;
    }
    cite.process.push(now.ref);
  }
  if (last && exitsMeanRestart(out, lives.exits.length)) out.restarted = true;
  if (now?.startedAt && ms(now.startedAt) >= firstErrorMs - 1000 && inWindow(now.startedAt, window)) {
    out.restarted = true;
    out.restarts = Math.max(out.restarts, now.restarts > 0 ? 1 : 0);
    if (!cite.restart.some((r) => r === now.ref)) cite.restart.push(now.ref);
  }
  if (lives.gaveUp) {
    out.gaveUp = true;
    cite.restart.push(lives.gaveUp);
  }
  return lastMs;
}

/** How many times the process started in the window, how long each life lasted, and its repeated last words. */
export function lifeFacts(out: BackendFacts, lives: Lives, app: AppRecord[], cite: Citations): void {
  const events: LifeEvent[] = [
    ...lives.starts.map((s) => ({ ms: s.ms, line: s.ref.line, end: false })),
    ...lives.exits.map((e) => ({ ms: e.ms, line: e.ref.line, end: true })),
  ];
  let starts = lives.starts.map((s) => s.ms);
  if (lives.supervisor === "systemd" && lives.gaveUp) out.gaveUp = true;
  if (starts.length === 0) {
    const fromLog = appLogLives(app);
    // Without pids in the log, the same start banner seen again is a start.
    if (fromLog.starts.length === 0) fromLog.starts.push(...bannerStarts(app));
    starts = fromLog.starts.map((s) => s.ms);
    events.push(...fromLog.starts.map((s) => ({ ms: s.ms, line: s.ref.line, end: false })), ...fromLog.ends);
    if (fromLog.starts.length > 0 && !out.restarted) {
      out.restarted = true;
      out.restarts = Math.max(out.restarts, fromLog.starts.length);
      for (const s of fromLog.starts.slice(-3)) cite.restart.push(s.ref);
    }
  }
  let lengths = lifeLengths(events);
  const words = repeatedLastWords(app);
  if (words) {
    out.lastWords = words.text;
    out.lastWordsRepeats = words.count;
    for (const ref of [words.refs[0], ...words.refs.slice(-2)]) {
      if (ref && !cite.fatal.some((r) => r.source === ref.source && r.line === ref.line))
        cite.fatal.push(ref);
    }
    // Between two deaths in the same words there was a start, and that life was shorter than the time between
    // them: what tells the starts when nothing else does, or tells fewer (Docker keeps only the last start).
    const times = words.times.filter((t) => !Number.isNaN(t));
    if (starts.length < times.length - 1) {
      starts = times.slice(0, -1);
      lengths = times.slice(1).map((t, i) => t - (times[i] as number));
    }
  }
  out.starts = starts.length;
  out.lives = lengths.length;
  if (lengths.length > 0) {
    const sorted = [...lengths].sort((a, b) => a - b);
    const mid = sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
    out.lifeMaxSeconds = Math.round((sorted.at(-1) ?? 0) / 100) / 10;
    out.lifeMedianSeconds = Math.round(mid / 100) / 10;
  }
}
