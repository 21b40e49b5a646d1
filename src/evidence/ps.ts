import { z } from "zod";
import { localToUtc, monthNumber } from "./time.js";
import type { LineFeeder, ParseContext, Parser, Sink } from "./types.js";
import { RecordBase } from "./types.js";

/**
 * One process from procps `ps -o ...` output, e.g. `ps -o pid,ppid,user,lstart,etimes,args`.
 * `time` is the same instant as `startTime`. A start time is evidence, not a symptom: no `cause`.
 */
export const PsRecord = RecordBase.extend({
  pid: z.number().int().nonnegative(),
  ppid: z.number().int().nonnegative().optional(),
  user: z.string().optional(),
  /** Process start, UTC ISO: from `lstart` (host local time), else `ctx.now` minus the elapsed time. */
  startTime: z.string(),
  elapsedSeconds: z.number().int().nonnegative().optional(),
  /** The `args`/`cmd` column (command line), or the `comm` column when that is the one asked for. */
  args: z.string(),
  /** Command name: the `comm` column, else the first word of `args` without its directory. */
  comm: z.string(),
});
export type PsRecord = z.infer<typeof PsRecord>;

type Column = "pid" | "ppid" | "user" | "lstart" | "etimes" | "etime" | "elapsed" | "args" | "comm" | "other";

/** `-o` format names (as in `ctx.options.columns`) to the columns this parser reads. */
const SPEC_COLUMNS: Record<string, Column> = {
  pid: "pid",
  tgid: "pid",
  ppid: "ppid",
  user: "user",
  euser: "user",
  uname: "user",
  lstart: "lstart",
  etimes: "etimes",
  etime: "etime",
  args: "args",
  cmd: "args",
  command: "args",
  comm: "comm",
  ucmd: "comm",
  ucomm: "comm",
};

/** Header words procps prints for those columns. `ELAPSED` is shared by etime and etimes. */
const HEADER_COLUMNS: Record<string, Column> = {
  PID: "pid",
  TGID: "pid",
  PPID: "ppid",
  USER: "user",
  EUSER: "user",
  STARTED: "lstart",
  ELAPSED: "elapsed",
  CMD: "args",
  COMMAND: "args",
};

const DEFAULT_COLUMNS: Column[] = ["pid", "lstart", "etimes", "args"];
const HEADER_WORD = /^[A-Z%][A-Z0-9%_:+-]*$/;
const ETIME = /^(?:(?:(\d+)-)?(\d+):)?(\d+):(\d+)$/;

function columnsFromSpec(spec: string): Column[] {
  return spec
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((s) => SPEC_COLUMNS[s.split("=")[0]?.toLowerCase() ?? ""] ?? "other");
}

function headerColumns(words: string[], spec: Column[] | undefined): Column[] | undefined {
  if (words.length < 2 || !words.includes("PID") || !words.every((w) => HEADER_WORD.test(w)))
    return undefined;
  const cols = words.map((w) => HEADER_COLUMNS[w] ?? "other");
  // COMMAND is the header of both `args` and `comm`: the caller's column list tells them apart.
  const last = cols.length - 1;
  if (words[last] === "COMMAND" && spec?.[spec.length - 1] === "comm") cols[last] = "comm";
  return cols;
}

/** `[[dd-]hh:]mm:ss` -> seconds. */
export function etimeSeconds(text: string): number | undefined {
  const m = ETIME.exec(text);
  if (!m) return undefined;
  const [, d, h, min, s] = m;
  if (Number(min) > 59 || Number(s) > 59) return undefined;
  return ((Number(d ?? 0) * 24 + Number(h ?? 0)) * 60 + Number(min)) * 60 + Number(s);
}

/** `Wed Nov 25 11:46:05 2026` (ctime, host local time) -> UTC ISO. */
export function lstartToUtc(words: readonly string[], utcOffsetMinutes: number): string | undefined {
  const [weekday, monthName, day, clock, year] = words;
  if (!weekday || !/^[A-Za-z]{3}$/.test(weekday) || !monthName || !day || !clock || !year) return undefined;
  const month = monthNumber(monthName);
  const t = /^(\d\d):(\d\d):(\d\d)$/.exec(clock);
  if (month === undefined || !t || !/^\d{1,2}$/.test(day) || !/^\d{4}$/.test(year)) return undefined;
  return localToUtc(
    Number(year),
    month,
    Number(day),
    Number(t[1]),
    Number(t[2]),
    Number(t[3]),
    0,
    utcOffsetMinutes,
  );
}

/**
 * Command name from a command line: `/usr/bin/python3 -m x` -> python3, `nginx: worker` -> nginx; kernel
 * threads and zombies, which ps shows as `[kthreadd]` and `[sleep] <defunct>`, -> the name in brackets.
 */
export function commOf(args: string): string {
  const bracketed = /^\[(.+?)\](?: <defunct>)?$/.exec(args);
  if (bracketed?.[1]) return bracketed[1];
  let word = args.split(/\s/, 1)[0] ?? "";
  if (word.length > 1 && word.endsWith(":")) word = word.slice(0, -1);
  if (/^\.{0,2}\//.test(word)) word = word.slice(word.lastIndexOf("/") + 1);
  return word;
}

const INT = /^\d+$/;

export const psParser: Parser<PsRecord> = {
  kind: "ps",
  schema: PsRecord,
  start(ctx: ParseContext, sink: Sink<PsRecord>): LineFeeder {
    const spec = ctx.options?.columns === undefined ? undefined : columnsFromSpec(ctx.options.columns);
    let columns: Column[] = spec && spec.length > 0 ? spec : DEFAULT_COLUMNS;
    const now = ctx.now === undefined ? Number.NaN : Date.parse(ctx.now);

    const row = (text: string, lineNo: number): string | undefined => {
      const words = /\S+/g;
      let exhausted = false;
      const take = (): string | undefined => {
        const m = exhausted ? null : words.exec(text);
        if (!m) exhausted = true;
        return m?.[0];
      };
      let pid: number | undefined;
      let ppid: number | undefined;
      let user: string | undefined;
      let startTime: string | undefined;
      let elapsed: number | undefined;
      let args = "";
      let comm: string | undefined;
      for (const [i, col] of columns.entries()) {
        if ((col === "args" || col === "comm") && i === columns.length - 1) {
          const m = /\S/.exec(text.slice(words.lastIndex));
          if (!m) return "no command";
          args = text.slice(words.lastIndex + m.index).trimEnd();
          if (col === "comm") comm = args;
          break;
        }
        if (col === "lstart") {
          const parts = [take(), take(), take(), take(), take()].filter((p) => p !== undefined);
          startTime = lstartToUtc(parts, ctx.utcOffsetMinutes);
          if (startTime === undefined) return parts.length < 5 ? "truncated start time" : "bad start time";
          continue;
        }
        const word = take();
        if (word === undefined) return `missing ${col} column`;
        if (col === "pid" || col === "ppid") {
          if (!INT.test(word)) return `${col} is not a number`;
          if (col === "pid") pid = Number(word);
          else ppid = Number(word);
        } else if (col === "user") user = word;
        else if (col === "etimes" || (col === "elapsed" && INT.test(word))) {
          if (!INT.test(word)) return "elapsed seconds is not a number";
          elapsed = Number(word);
        } else if (col === "etime" || col === "elapsed") {
          elapsed = etimeSeconds(word);
          if (elapsed === undefined) return "bad elapsed time";
        } else if (col === "args" || col === "comm") {
          args = word;
          if (col === "comm") comm = word;
        }
      }
      if (pid === undefined) return "no pid column";
      if (startTime === undefined && elapsed !== undefined && !Number.isNaN(now))
        startTime = new Date(now - elapsed * 1000).toISOString();
      if (startTime === undefined) return "no start time (lstart, or etimes with the host's current time)";
      const record: PsRecord = {
        host: ctx.host,
        source: ctx.source,
        line: lineNo,
        text,
        time: startTime,
        pid,
        startTime,
        args,
        comm: comm ?? commOf(args),
      };
      if (ppid !== undefined) record.ppid = ppid;
      if (user !== undefined) record.user = user;
      if (elapsed !== undefined) record.elapsedSeconds = elapsed;
      sink.record(record);
      return undefined;
    };

    return {
      line(text, lineNo) {
        const trimmed = text.trim();
        if (trimmed === "") return;
        const header = headerColumns(trimmed.split(/\s+/), spec);
        if (header) {
          columns = header;
          return;
        }
        const reason = row(text, lineNo);
        if (reason !== undefined) sink.unreadable({ line: lineNo, text, reason });
      },
      end() {},
    };
  },
};
