import { lifecycleCause, SIGNALS, signalOfExitCode } from "../lifecycle.js";
import type { LineFeeder, ParseContext, Parser, Sink } from "../types.js";
import { DockerRecord } from "./schema.js";

export { DockerRecord } from "./schema.js";

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
    const signal = signalOfExitCode(exitCode);
    if (signal) f.signal = signal;
  }
  const t = started ?? finished;
  if (t) f.time = t;
  // What the last exit points to, as for any supervisor's exit.
  const cause = lifecycleCause({ ...f, event: "exited" });
  if (cause) f.cause = cause;
  return f;
}

/**
 * One line of `docker events` in its default format (docs.docker.com, reference/cli/docker/system/events):
 * `2017-01-05T00:36:09.840186338+08:00 container die 0fdb…ff37 (exitCode=143, image=alpine:latest, name=test)`,
 * also with the comma a paste out of a list leaves after it.
 */
const EVENT_LINE =
  /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) container (\w+) (\S+) \((.*)\),?$/;

/** The attributes of an event line read here (`name=test`): each up to the next `, ` (values never hold one). */
const ATTRIBUTE = {
  name: /(?:^|, )name=([^,]*)/,
  exitCode: /(?:^|, )exitCode=([^,]*)/,
  signal: /(?:^|, )signal=([^,]*)/,
};
function attribute(attrs: string, key: keyof typeof ATTRIBUTE): string | undefined {
  return ATTRIBUTE[key].exec(attrs)?.[1];
}

/**
 * A container's start, death (`die`, with its exit code), OOM kill (`oom`) or kill (`kill`, the signal
 * sent) from its `docker events` line; undefined for other lines. A `die` after an `oom` of the same life
 * is an OOM kill (`oomSince`: the container that had one, and none started since).
 */
function eventFields(text: string, oomOf: Set<string>): Partial<DockerRecord> | undefined {
  const m = EVENT_LINE.exec(text.trim());
  if (!m) return undefined;
  const [, stamp = "", action = "", id = "", attrs = ""] = m;
  const at = Date.parse(stamp);
  if (Number.isNaN(at)) return undefined;
  const program = attribute(attrs, "name");
  const who = program ?? id;
  const f: Partial<DockerRecord> = { time: new Date(at).toISOString(), message: `${action} ${who}` };
  if (program !== undefined) f.program = program;
  switch (action) {
    case "start":
      oomOf.delete(who);
      return { ...f, event: "spawned" };
    case "die": {
      const code = Number(attribute(attrs, "exitCode"));
      const e: Partial<DockerRecord> = { ...f, event: "exited", finishedAt: f.time };
      if (Number.isInteger(code)) {
        e.exitCode = code;
        const signal = signalOfExitCode(code);
        if (signal) e.signal = signal;
      }
      if (oomOf.has(who)) e.oomKilled = true;
      const cause = lifecycleCause({ ...e, event: "exited" });
      if (cause) e.cause = cause;
      return e;
    }
    case "oom":
      oomOf.add(who);
      return { ...f, event: "other", oomKilled: true };
    case "kill": {
      const n = Number(attribute(attrs, "signal"));
      const signal = Number.isInteger(n) ? SIGNALS[n] : undefined;
      return { ...f, event: "other", ...(signal ? { signal } : {}) };
    }
    default:
      return { ...f, event: "other" };
  }
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
        const oomOf = new Set<string>();
        for (const l of lines) {
          const event = eventFields(l.text, oomOf);
          if (event) {
            sink.record({
              host: ctx.host,
              source: ctx.source,
              line: l.no,
              text: l.text,
              ...event,
            } as DockerRecord);
            continue;
          }
          const o = parseJson(l.text.trim());
          if (!emit(o, l.no, l.text))
            sink.unreadable({
              line: l.no,
              text: l.text,
              reason: "neither docker inspect JSON with a State nor a docker events line",
            });
        }
      },
    };
  },
};
