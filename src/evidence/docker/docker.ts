import type { LineFeeder, ParseContext, Parser, Sink } from "../types.js";
import { DockerRecord } from "./schema.js";

export { DockerRecord } from "./schema.js";

const SIGNALS = ["", "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV"];
const CRASH_SIGNALS = new Set(["SEGV", "BUS", "ILL", "FPE"]);
/** Go's zero time: the container never started (or never exited). */
const NEVER = /^0001-01-01T/;

function time(v: unknown): string | undefined {
  if (typeof v !== "string" || NEVER.test(v)) return undefined;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** A container's fields from an inspect object, a `{Name, RestartCount, State}` line, or a bare State. */
function containerFields(o: Record<string, unknown>): Partial<DockerRecord> | undefined {
  const state = (typeof o.State === "object" && o.State !== null ? o.State : o) as Record<string, unknown>;
  if (typeof state.Running !== "boolean" && typeof state.Status !== "string") return undefined;
  const f: Partial<DockerRecord> = { event: "status" };
  if (typeof o.Name === "string") f.program = o.Name.replace(/^\//, "");
  if (typeof state.Status === "string") f.state = state.Status;
  if (typeof state.Running === "boolean") f.running = state.Running;
  if (typeof state.Restarting === "boolean") f.restarting = state.Restarting;
  if (typeof state.Dead === "boolean") f.dead = state.Dead;
  if (typeof state.OOMKilled === "boolean") f.oomKilled = state.OOMKilled;
  if (typeof state.Pid === "number" && Number.isInteger(state.Pid) && state.Pid > 0) f.pid = state.Pid;
  if (typeof state.Error === "string" && state.Error !== "") f.error = state.Error;
  if (typeof o.RestartCount === "number" && Number.isInteger(o.RestartCount) && o.RestartCount >= 0)
    f.restarts = o.RestartCount;
  const started = time(state.StartedAt);
  const finished = time(state.FinishedAt);
  if (started) f.startedAt = started;
  if (finished) f.finishedAt = finished;
  const exitCode =
    typeof state.ExitCode === "number" && Number.isInteger(state.ExitCode) ? state.ExitCode : undefined;
  // An exit is known once the container has finished at least once.
  if (exitCode !== undefined && (finished !== undefined || exitCode !== 0)) {
    f.exitCode = exitCode;
    // A process killed by signal N exits 128+N as Docker reports it.
    const signal = exitCode > 128 && exitCode < 160 ? SIGNALS[exitCode - 128] : undefined;
    if (signal) f.signal = signal;
  }
  const t = started ?? finished;
  if (t) f.time = t;
  if (f.oomKilled) f.cause = "oom_kill";
  else if (f.signal !== undefined) f.cause = CRASH_SIGNALS.has(f.signal) ? "segfault" : "service_killed";
  else if (f.exitCode !== undefined && f.exitCode !== 0) f.cause = "service_exit";
  return f;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Docker's view of a container's lives from `docker inspect`: the whole JSON array, the one-line
 * `{"Name":…,"RestartCount":…,"State":{…}}` why502 asks for (one container a line), a bare
 * `{{json .State}}`, or a `"State": {…}` block as pasted from a pretty-printed inspect. `StartedAt` is the
 * start of the current (or last) life, `FinishedAt` the last exit; an exit code of 128+N is a death by
 * signal N. The container's own output is not here: `docker logs --timestamps` is read as the app's log.
 */
export const dockerParser: Parser<DockerRecord> = {
  kind: "docker",
  schema: DockerRecord,
  start(ctx: ParseContext, sink: Sink<DockerRecord>): LineFeeder {
    const lines: { no: number; text: string }[] = [];
    const emit = (o: unknown, lineNo: number, text: string): boolean => {
      if (typeof o !== "object" || o === null || Array.isArray(o)) return false;
      const f = containerFields(o as Record<string, unknown>);
      if (!f) return false;
      sink.record({ host: ctx.host, source: ctx.source, line: lineNo, text, ...f } as DockerRecord);
      return true;
    };
    const shown = (f: Record<string, unknown>, fallback: string): string =>
      typeof f.Name === "string" ? `docker inspect ${f.Name.replace(/^\//, "")}` : fallback;

    return {
      line(text, lineNo) {
        if (text.trim() !== "") lines.push({ no: lineNo, text });
      },
      end() {
        if (lines.length === 0) return;
        const first = lines[0]?.no ?? 1;
        const whole = lines.map((l) => l.text).join("\n");
        let value = parseJson(whole);
        if (value === undefined) {
          // A `"State": {...}` block cut out of a pretty-printed inspect, or an object copied out of its
          // array, with the comma after it.
          const block = whole.trim().replace(/,$/, "");
          value = /^"State"\s*:/.test(block) ? parseJson(`{${block}}`) : parseJson(block);
        }
        if (value !== undefined) {
          const items = Array.isArray(value) ? value : [value];
          let any = false;
          for (const item of items) {
            const label = Array.isArray(value) ? shown(item as Record<string, unknown>, whole.trim()) : whole;
            if (emit(item, first, label)) any = true;
          }
          if (any) return;
        }
        for (const l of lines) {
          const o = parseJson(l.text.trim());
          if (!emit(o, l.no, l.text))
            sink.unreadable({ line: l.no, text: l.text, reason: "not docker inspect JSON with a State" });
        }
      },
    };
  },
};
