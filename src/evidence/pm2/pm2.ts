import { lifecycleCause } from "../lifecycle.js";
import { localToUtc } from "../time.js";
import type { LineFeeder, ParseContext, Parser, Sink } from "../types.js";
import { Pm2Record } from "./schema.js";

export { Pm2Record } from "./schema.js";

/** `2026-12-01T09:01:11: PM2 log: ...`: PM2_LOG_DATE_FORMAT's default, host local time. */
const LOG = /^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.\d+)?: PM2 (log|error): (.*)$/;
const STARTING = /^App \[(.+):(\d+)\] starting in -(\w+) mode-$/;
const ONLINE = /^App \[(.+):(\d+)\] online$/;
const EXITED = /^App \[(.+):(\d+)\] exited with code \[(-?\d+|null)\] via signal \[(\w+)\]$/;
const GAVE_UP = /^Script (.+) had too many unstable restarts \((\d+)\)\. Stopped\. "errored"$/;
const STOPPING = /^Stopping app:(.+) id:(\d+)$/;

/** The fields of one `pm2 jlist` entry: the reduced line why502 collects, or PM2's own (`pm2_env`). */
function statusFields(o: Record<string, unknown>, now: string | undefined): Partial<Pm2Record> | undefined {
  const env = (typeof o.pm2_env === "object" && o.pm2_env !== null ? o.pm2_env : o) as Record<
    string,
    unknown
  >;
  const name = typeof o.name === "string" ? o.name : undefined;
  const state = typeof env.status === "string" ? env.status : undefined;
  if (name === undefined || state === undefined) return undefined;
  const int = (v: unknown) => (typeof v === "number" && Number.isInteger(v) ? v : undefined);
  const fields: Partial<Pm2Record> = { event: "status", program: name, state };
  const pmId = int(o.pm_id) ?? int(env.pm_id);
  if (pmId !== undefined && pmId >= 0) fields.pmId = pmId;
  const pid = int(o.pid);
  if (pid !== undefined && pid > 0) fields.pid = pid;
  const restarts = int(env.restart_time);
  if (restarts !== undefined && restarts >= 0) fields.restarts = restarts;
  const exitCode = int(env.exit_code);
  if (exitCode !== undefined) fields.exitCode = exitCode;
  // pm_uptime: when the current (or last) process was started, epoch ms.
  const up = int(env.pm_uptime);
  if (up !== undefined && up > 0 && up < 8.64e15) fields.startedAt = new Date(up).toISOString();
  if (typeof env.pm_exec_path === "string") fields.execPath = env.pm_exec_path;
  if (fields.startedAt !== undefined) fields.time = fields.startedAt;
  else if (now !== undefined) fields.time = now;
  if (state === "errored") fields.cause = "service_exit";
  return fields;
}

/**
 * PM2's own words about the apps it runs, from two outputs:
 * - the daemon log (`$PM2_HOME/pm2.log`), stamped in host local time: `App [name:id] starting in -fork mode-`,
 *   `online`, `exited with code [N] via signal [SIG]`, `Stopping app:name id:N`, and the give-up
 *   `Script PATH had too many unstable restarts (16). Stopped. "errored"` (it names the script, not the app).
 *   PM2 prints `via signal [SIGINT]` for every exit with a code (its default kill signal, not what happened):
 *   a non-zero code is an exit with that code; code 0 with another signal is a death by that signal.
 * - `pm2 jlist`: PM2's JSON array (one line or pretty-printed), or one reduced object a line as why502 collects
 *   it: status, restart_time, pm_uptime (start of the current life), exit_code per app.
 */
export const pm2Parser: Parser<Pm2Record> = {
  kind: "pm2",
  schema: Pm2Record,
  start(ctx: ParseContext, sink: Sink<Pm2Record>): LineFeeder {
    const base = (text: string, lineNo: number) => ({
      host: ctx.host,
      source: ctx.source,
      line: lineNo,
      text,
    });
    let json: { line: number; lines: string[] } | undefined;

    const emitStatus = (text: string, lineNo: number, o: unknown): boolean => {
      if (typeof o !== "object" || o === null) return false;
      const fields = statusFields(o as Record<string, unknown>, ctx.now);
      if (!fields) return false;
      sink.record({ ...base(text, lineNo), entry: "status", ...fields } as Pm2Record);
      return true;
    };

    const flushJson = (): void => {
      const j = json;
      json = undefined;
      if (!j) return;
      const text = j.lines.join("\n");
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        j.lines.forEach((l, i) => {
          sink.unreadable({ line: j.line + i, text: l, reason: "not a PM2 log line or pm2 jlist JSON" });
        });
        return;
      }
      const items = Array.isArray(value) ? value : [value];
      let any = false;
      for (const item of items) {
        const name =
          typeof item === "object" && item !== null ? (item as { name?: unknown }).name : undefined;
        const shown = j.lines.length === 1 ? text : `pm2 jlist: ${typeof name === "string" ? name : "?"}`;
        if (emitStatus(shown, j.line, item)) any = true;
      }
      if (!any && items.length > 0)
        sink.unreadable({
          line: j.line,
          text: j.lines[0] ?? "",
          reason: "JSON without a PM2 app's name and status",
        });
    };

    const logLine = (text: string, lineNo: number, m: RegExpExecArray): void => {
      const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as number[];
      const time = localToUtc(y ?? 0, mo ?? 0, d ?? 0, h ?? 0, mi ?? 0, s ?? 0, 0, ctx.utcOffsetMinutes);
      const message = m[8] ?? "";
      const record: Pm2Record = {
        ...base(text, lineNo),
        entry: "log",
        event: "other",
        level: m[7] ?? "log",
        message,
        ...(time === undefined ? {} : { time }),
      };
      const starting = STARTING.exec(message);
      const online = ONLINE.exec(message);
      const exited = EXITED.exec(message);
      const gaveUp = GAVE_UP.exec(message);
      const stopping = STOPPING.exec(message);
      const app = (m: RegExpExecArray) => ({ program: m[1], pmId: Number(m[2]) });
      if (starting) {
        Object.assign(record, { event: "spawned", ...app(starting) });
      } else if (online) {
        Object.assign(record, { event: "running", ...app(online) });
      } else if (exited) {
        Object.assign(record, { event: "exited", ...app(exited) });
        const code = exited[3] === "null" ? 0 : Number(exited[3]);
        const signal = (exited[4] ?? "").replace(/^SIG/, "");
        if (code === 0 && signal !== "INT" && signal !== "") record.signal = signal;
        else record.exitCode = code;
      } else if (gaveUp) {
        Object.assign(record, {
          event: "gave_up",
          execPath: gaveUp[1],
          restarts: Number(gaveUp[2]),
          state: "errored",
        });
      } else if (stopping) {
        Object.assign(record, { event: "stopped", ...app(stopping) });
      }
      const cause = lifecycleCause(record);
      if (cause) record.cause = cause;
      sink.record(record);
    };

    return {
      line(text, lineNo) {
        const log = LOG.exec(text);
        if (log) {
          flushJson();
          logLine(text, lineNo, log);
          return;
        }
        const trimmed = text.trim();
        if (json) {
          json.lines.push(text);
          // A pretty-printed array or object ends with its bracket alone at the start of a line.
          if (/^[\]}]$/.test(text.trimEnd())) flushJson();
          return;
        }
        if (trimmed === "") return;
        if (trimmed.startsWith("[") || trimmed.startsWith("{")) {
          json = { line: lineNo, lines: [text] };
          try {
            JSON.parse(trimmed);
            flushJson();
          } catch {
            // more lines follow
          }
          return;
        }
        sink.unreadable({ line: lineNo, text, reason: "not a PM2 log line or pm2 jlist JSON" });
      },
      end() {
        flushJson();
      },
    };
  },
};
