import { lifecycleCause } from "../lifecycle.js";
import { localToUtc, monthNumber } from "../time.js";
import type { LineFeeder, ParseContext, Parser, Sink } from "../types.js";
import { SupervisordRecord } from "./schema.js";

export { SupervisordRecord } from "./schema.js";

/** `2026-12-01 08:59:25,160 INFO ...`: host local time, milliseconds after a comma. */
const LOG = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d),(\d{3}) ([A-Z]{4}) (.*)$/;
const SPAWNED = /^spawned: '(.+)' with pid (\d+)$/;
const SUCCESS =
  /^success: (\S+) entered RUNNING state, process has stayed up for > than (\d+) seconds? \(startsecs\)$/;
// decode_wait_status(): `exit status N` or `terminated by SIGNAME` (`signal N` when unnamed), `(core dumped)`.
const EXITED =
  /^(exited|stopped): (\S+) \((?:exit status (\d+)|terminated by (?:SIG([A-Z0-9]+)|signal (\d+))( \(core dumped\))?)(?:; (not )?expected)?\)$/;
const GAVE_UP = /^gave up: (\S+) entered FATAL state, too many start retries too quickly$/;
const SPAWNERR = /^spawnerr: (.*)$/;

const STATUS = /^(\S+)\s+(RUNNING|STARTING|BACKOFF|STOPPING|STOPPED|EXITED|FATAL|UNKNOWN)(?:\s+(.*?))?\s*$/;
const UPTIME = /^pid (\d+), uptime (?:(\d+) days?, )?(\d+):(\d\d):(\d\d)$/;
/** STOPPED/EXITED: `Dec 01 08:59 AM`, when it stopped, to the minute, local time, no year. */
const STOP_TIME = /^([A-Z][a-z]{2}) (\d\d) (\d\d):(\d\d) (AM|PM)$/;

/** Linux signal numbers for supervisord's `terminated by signal N`. */
const SIGNALS = ["", "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV"];

/**
 * supervisord's own words about the programs it runs, from two outputs:
 * - its main log (`logfile=`, Debian: /var/log/supervisor/supervisord.log), stamped in host local time;
 *   lines that are not about a program's life (`supervisord started with pid`, `waiting for ... to stop`,
 *   CRIT notices) are kept as `event: "other"`;
 * - `supervisorctl status [PROGRAM]`: one line per program, `RUNNING pid N, uptime H:MM:SS` (the start is
 *   `ctx.now` minus the uptime), or why it is not running (BACKOFF, FATAL: `Exited too quickly`).
 * `supervisorctl` errors (`no such process`, a socket it cannot reach) are unreadable lines.
 */
export const supervisordParser: Parser<SupervisordRecord> = {
  kind: "supervisord",
  schema: SupervisordRecord,
  start(ctx: ParseContext, sink: Sink<SupervisordRecord>): LineFeeder {
    const base = (text: string, lineNo: number) => ({
      host: ctx.host,
      source: ctx.source,
      line: lineNo,
      text,
    });

    const logLine = (text: string, lineNo: number, m: RegExpExecArray): void => {
      const [y, mo, d, h, mi, s, ms] = m.slice(1, 8).map(Number) as number[];
      const time = localToUtc(
        y ?? 0,
        mo ?? 0,
        d ?? 0,
        h ?? 0,
        mi ?? 0,
        s ?? 0,
        ms ?? 0,
        ctx.utcOffsetMinutes,
      );
      const message = m[9] ?? "";
      const level = m[8] ?? "";
      const record: SupervisordRecord = {
        ...base(text, lineNo),
        entry: "log",
        event: "other",
        level,
        message,
        ...(time === undefined ? {} : { time }),
      };
      const spawned = SPAWNED.exec(message);
      const success = SUCCESS.exec(message);
      const exited = EXITED.exec(message);
      const gaveUp = GAVE_UP.exec(message);
      if (spawned) {
        Object.assign(record, { event: "spawned", program: spawned[1], pid: Number(spawned[2]) });
      } else if (success) {
        Object.assign(record, { event: "running", program: success[1], startSeconds: Number(success[2]) });
      } else if (exited) {
        record.event = exited[1] === "stopped" ? "stopped" : "exited";
        record.program = exited[2] ?? "";
        if (exited[3] !== undefined) record.exitCode = Number(exited[3]);
        const n = exited[5];
        const signal = exited[4] ?? (n === undefined ? undefined : SIGNALS[Number(n)] || `SIG${n}`);
        if (signal !== undefined) record.signal = signal;
        if (exited[6] !== undefined) record.coreDumped = true;
        if (exited[7] !== undefined) record.expected = false;
        else if (/; expected\)$/.test(message)) record.expected = true;
      } else if (gaveUp) {
        Object.assign(record, { event: "gave_up", program: gaveUp[1], state: "FATAL" });
      } else if (SPAWNERR.test(message)) {
        record.event = "spawn_error";
      }
      const cause = lifecycleCause(record);
      if (cause) record.cause = cause;
      sink.record(record);
    };

    const statusLine = (text: string, lineNo: number, m: RegExpExecArray): void => {
      const state = m[2] ?? "";
      const rest = m[3] ?? "";
      const record: SupervisordRecord = {
        ...base(text, lineNo),
        entry: "status",
        event: "status",
        program: m[1] ?? "",
        state,
        ...(rest === "" ? {} : { message: rest }),
      };
      const up = UPTIME.exec(rest);
      if (state === "RUNNING" && up) {
        record.pid = Number(up[1]);
        const seconds =
          Number(up[2] ?? 0) * 86_400 + Number(up[3]) * 3600 + Number(up[4]) * 60 + Number(up[5]);
        record.uptimeSeconds = seconds;
        const now = ctx.now === undefined ? Number.NaN : Date.parse(ctx.now);
        if (!Number.isNaN(now)) {
          record.startedAt = new Date(now - seconds * 1000).toISOString();
          record.time = record.startedAt;
        }
      }
      const stop = STOP_TIME.exec(rest);
      if ((state === "STOPPED" || state === "EXITED") && stop) {
        const month = monthNumber(stop[1] ?? "") ?? 0;
        const year = Number((ctx.now ?? new Date().toISOString()).slice(0, 4));
        const hour = (Number(stop[3]) % 12) + (stop[5] === "PM" ? 12 : 0);
        const at = localToUtc(
          year,
          month,
          Number(stop[2]),
          hour,
          Number(stop[4]),
          0,
          0,
          ctx.utcOffsetMinutes,
        );
        if (at !== undefined) record.finishedAt = at;
      }
      if (state === "FATAL") record.cause = "service_exit";
      sink.record(record);
    };

    return {
      line(text, lineNo) {
        const trimmed = text.trimEnd();
        if (trimmed.trim() === "") return;
        const log = LOG.exec(trimmed);
        if (log) {
          logLine(text, lineNo, log);
          return;
        }
        const status = STATUS.exec(trimmed);
        if (status) {
          statusLine(text, lineNo, status);
          return;
        }
        sink.unreadable({ line: lineNo, text, reason: "not a supervisord log or supervisorctl status line" });
      },
      end() {},
    };
  },
};
