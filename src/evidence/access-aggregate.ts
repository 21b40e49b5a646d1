import { z } from "zod";
import { type Parser, RecordBase } from "./types.js";

/**
 * One count of the host-side access-log aggregate (template `nginx-access-aggregate`, see
 * collect/aggregate.sh.ts): the responses of one UTC minute with one status from one upstream address.
 * `time` is the minute too.
 */
export const AccessAggregateRecord = RecordBase.extend({
  /** Start of the UTC minute, ISO 8601 with milliseconds. */
  minute: z.string(),
  status: z.number().int().min(100).max(599),
  /** The last address of `$upstream_addr` (the peer that produced the response), or `-` when there was none. */
  target: z.string().min(1),
  count: z.number().int().positive(),
});
export type AccessAggregateRecord = z.infer<typeof AccessAggregateRecord>;

/** The aggregate's first line: what it read, and why a count may be short. */
export const AggregateTotals = z.object({
  /** Lines read (from a little before the window to a little after it). */
  lines: z.number().int().nonnegative(),
  /** Lines inside the window that were counted. */
  counted: z.number().int().nonnegative(),
  /** Lines read that were before or after the window. */
  outside: z.number().int().nonnegative(),
  /** Lines not of the format (another format, a cut line, a status outside 100-599). */
  unread: z.number().int().nonnegative(),
  keys: z.number().int().nonnegative(),
  /** Lines inside the window not counted because the distinct-key cap was reached. */
  dropped: z.number().int().nonnegative(),
  /** The time allowed ran out before the window's end was read. */
  timedOut: z.boolean(),
  /** Reading ended at a line past the window's end (the rest of the file was not read). */
  stopped: z.boolean(),
});
export type AggregateTotals = z.infer<typeof AggregateTotals>;

const COUNT = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d) ([1-5]\d\d) (\S+) ([1-9]\d{0,14})$/;
const TOTALS =
  /^# lines=(\d+) counted=(\d+) outside=(\d+) unread=(\d+) keys=(\d+) dropped=(\d+) timedout=([01]) stopped=([01])$/;

/** The totals line of an aggregate's output, when it is there (it comes first, so a byte cap keeps it). */
export function aggregateTotals(text: string): AggregateTotals | undefined {
  const first = text.slice(0, text.indexOf("\n") === -1 ? text.length : text.indexOf("\n"));
  const m = TOTALS.exec(first);
  if (!m) return undefined;
  const n = (i: number) => Number(m[i]);
  return {
    lines: n(1),
    counted: n(2),
    outside: n(3),
    unread: n(4),
    keys: n(5),
    dropped: n(6),
    timedOut: m[7] === "1",
    stopped: m[8] === "1",
  };
}

function minuteIso(m: RegExpExecArray): string | undefined {
  const [y, mo, d, h, mi] = [1, 2, 3, 4, 5].map((i) => Number(m[i]));
  const ms = Date.UTC(y ?? 0, (mo ?? 0) - 1, d, h, mi);
  const back = new Date(ms);
  if (Number.isNaN(ms) || back.getUTCMonth() + 1 !== mo || back.getUTCDate() !== d || (h ?? 0) > 23)
    return undefined;
  return back.toISOString();
}

/**
 * Reads the aggregate's `MINUTE STATUS TARGET COUNT` lines (`2026-11-25T12:44 502 127.0.0.11:18080 17`). The
 * totals line is not a record (see aggregateTotals); any other line is unreadable.
 */
export const accessAggregateParser: Parser<AccessAggregateRecord> = {
  kind: "nginx-access-aggregate",
  schema: AccessAggregateRecord,
  start(ctx, sink) {
    return {
      line(text, lineNo) {
        if (text === "" || (lineNo === 1 && TOTALS.test(text))) return;
        const m = COUNT.exec(text);
        const minute = m ? minuteIso(m) : undefined;
        if (!m || minute === undefined) {
          sink.unreadable({ line: lineNo, text, reason: "not a MINUTE STATUS TARGET COUNT line" });
          return;
        }
        sink.record({
          host: ctx.host,
          source: ctx.source,
          line: lineNo,
          text,
          time: minute,
          minute,
          status: Number(m[6]),
          target: m[7] ?? "-",
          count: Number(m[8]),
        });
      },
      end() {},
    };
  },
};
