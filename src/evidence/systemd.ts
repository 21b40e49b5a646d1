import { z } from "zod";
import { localToUtc, monthNumber, parseOffset, uptimeToUtc, yearOf } from "./time.js";
import type { CauseId, LineFeeder, ParseContext, Parser, Sink } from "./types.js";
import { RecordBase } from "./types.js";

/**
 * systemd evidence from three outputs:
 * - `systemctl show [-p ...] UNIT...`: `Key=Value` blocks, one per unit, separated by blank lines
 *   (`entry: "show"`). The unit is `Id=` when printed, else the n-th name of `ctx.options.unit` (a comma
 *   list, one name per block, in order).
 * - journal lines (`journalctl`, syslog files) with or without a `short`, `short-precise`, `short-iso`,
 *   `short-iso-precise`, `short-full`, `short-unix`, `short-monotonic` or rsyslog RFC 3339 prefix
 *   (`entry: "journal"`). Zone-less stamps are host local time; year-less ones take the year of `ctx.now`;
 *   monotonic ones count from `ctx.bootTime`.
 * - `systemctl status UNIT`: the `Active:` and `Main PID:` lines become journal-like records of the unit
 *   named by the `● unit` line. Its other fields (Loaded, Docs, Tasks, Memory, CPU, CGroup and the tree
 *   under it) and journalctl's `-- ... --` markers are skipped without a report.
 * Lines with a journal prefix whose message is not a known systemd wording are kept as `event: "other"`.
 */
const ExitCode = z.enum(["exited", "killed", "dumped", "trapped", "stopped", "continued"]);

export const SystemdShowRecord = RecordBase.extend({
  entry: z.literal("show"),
  unit: z.string().optional(),
  /** `ExecMainPID` (else `MainPID`); 0 (no process) is left out. */
  mainPid: z.number().int().positive().optional(),
  /** Automatic restarts since the last manual start. */
  nRestarts: z.number().int().nonnegative().optional(),
  activeState: z.string().optional(),
  subState: z.string().optional(),
  /** `success`, `exit-code`, `signal`, `core-dump`, `oom-kill`, `timeout`, `start-limit-hit`, ... */
  result: z.string().optional(),
  execMainCode: ExitCode.optional(),
  execMainStatus: z.number().int().optional(),
  execMainStartTimestamp: z.string().optional(),
  execMainExitTimestamp: z.string().optional(),
  activeEnterTimestamp: z.string().optional(),
  inactiveEnterTimestamp: z.string().optional(),
  /** Every key as printed. An empty value means never / not set. */
  props: z.record(z.string(), z.string()),
});
export type SystemdShowRecord = z.infer<typeof SystemdShowRecord>;

export const SystemdEvent = z.enum([
  "main_exited",
  "control_exited",
  "failed",
  "oom_killed_notice",
  "scheduled_restart",
  "holdoff_restart",
  "start_limit",
  "started",
  "stopped",
  "other",
]);
export type SystemdEvent = z.infer<typeof SystemdEvent>;

export const SystemdJournalRecord = RecordBase.extend({
  entry: z.literal("journal"),
  event: SystemdEvent,
  unit: z.string().optional(),
  /** Syslog identifier and pid of the writer: `systemd` and 1 in `systemd[1]: `. */
  identifier: z.string().optional(),
  identifierPid: z.number().int().nonnegative().optional(),
  /** The text after the journal prefix. */
  message: z.string(),
  code: ExitCode.optional(),
  /** Exit code when `code` is `exited`, else the signal number. */
  status: z.number().int().optional(),
  /** Name after the slash: `FAILURE`, `INVALIDARGUMENT`, `KILL`, `SEGV`, `n/a`. */
  statusName: z.string().optional(),
  /** Signal name (`KILL`, `SEGV`, `TERM`) when `code` is `killed` or `dumped`. `9/n/a` exited is exit code 9. */
  signal: z.string().optional(),
  result: z.string().optional(),
  restartCounter: z.number().int().nonnegative().optional(),
  mainPid: z.number().int().positive().optional(),
});
export type SystemdJournalRecord = z.infer<typeof SystemdJournalRecord>;

export const SystemdRecord = z.discriminatedUnion("entry", [SystemdShowRecord, SystemdJournalRecord]);
export type SystemdRecord = z.infer<typeof SystemdRecord>;

/** Linux signal names by number (x86, arm, most others). */
const SIGNALS = [
  "",
  ..."HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM STKFLT".split(" "),
  ..."CHLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO PWR SYS".split(" "),
];

/**
 * Zone abbreviations systemd prints (`Wed 2017-03-15 11:01:59 CET`) -> minutes east of UTC. Ambiguous ones
 * list candidates: the one equal to the host's offset wins, else the first.
 */
const ZONES: Record<string, number | readonly number[]> = {
  UTC: 0,
  UT: 0,
  GMT: 0,
  Z: 0,
  WET: 0,
  WEST: 60,
  BST: 60,
  CET: 60,
  CEST: 120,
  MET: 60,
  MEST: 120,
  EET: 120,
  EEST: 180,
  MSK: 180,
  SAST: 120,
  WAT: 60,
  CAT: 120,
  EAT: 180,
  PKT: 300,
  IST: [330, 60, 120],
  HKT: 480,
  AWST: 480,
  JST: 540,
  KST: 540,
  ACST: 570,
  ACDT: 630,
  AEST: 600,
  AEDT: 660,
  NZST: 720,
  NZDT: 780,
  HST: -600,
  AKST: -540,
  AKDT: -480,
  PST: -480,
  PDT: -420,
  MST: -420,
  MDT: -360,
  CST: [-360, 480],
  CDT: -300,
  EST: -300,
  EDT: -240,
  AST: -240,
  ADT: -180,
  NST: -210,
  NDT: -150,
};

function zoneOffset(zone: string | undefined, fallback: number): number {
  if (zone === undefined) return fallback;
  const numeric = /^([+-])(\d\d)(?::?(\d\d))?$/.exec(zone);
  if (numeric) return parseOffset(`${numeric[1]}${numeric[2]}${numeric[3] ?? "00"}`) ?? fallback;
  const known = ZONES[zone.toUpperCase()];
  if (known === undefined) return fallback;
  if (typeof known === "number") return known;
  return known.includes(fallback) ? fallback : (known[0] ?? fallback);
}

function fraction(digits: string | undefined): number {
  return digits ? Math.floor(Number(`0.${digits}`) * 1000) : 0;
}

const SYSTEMD_TIME =
  /^(?:[A-Za-z]{2,3},? )?(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?: ?([A-Za-z]{1,6}|[+-]\d\d(?::?\d\d)?))?$/;

/** `Wed 2017-03-15 11:01:59 CET` -> UTC ISO; an unknown zone counts as host local time. */
export function systemdTimestamp(text: string, utcOffsetMinutes: number): string | undefined {
  const m = SYSTEMD_TIME.exec(text.trim());
  if (!m) return undefined;
  const offset = zoneOffset(m[8], utcOffsetMinutes);
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  return localToUtc(y ?? 0, mo ?? 0, d ?? 0, h ?? 0, mi ?? 0, s ?? 0, fraction(m[7]), offset);
}

interface Prefix {
  time?: string | undefined;
  identifier?: string | undefined;
  identifierPid?: number | undefined;
  message: string;
}

/** The host field: anything without spaces that does not end in `:` (which would make it an identifier). */
const HOST = String.raw`\S*[^\s:]`;
const IDENT = String.raw`([^\s\[\]:]+)(?:\[(\d+)\])?: ?(.*)$`;
const SHORT = new RegExp(
  String.raw`^([A-Za-z\u00C0-\u024F]{3,}\.?) +(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))? ${HOST} ${IDENT}`,
);
const ISO = new RegExp(
  String.raw`^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?(Z|[+-]\d\d(?::?\d\d)?)? ${HOST} ${IDENT}`,
);
const FULL = new RegExp(
  String.raw`^([A-Za-z]{3} \d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{1,9})? \S+) ${HOST} ${IDENT}`,
);
const UNIX = new RegExp(String.raw`^(\d{9,})\.(\d{1,9}) ${HOST} ${IDENT}`);
const MONOTONIC = new RegExp(String.raw`^\[\s*(\d+\.\d+)\] ${HOST} ${IDENT}`);
const BARE = /^([^\s[\]:]+)\[(\d+)\]: ?(.*)$/;
/** systemd's lines in the kernel log: `[uptime] ident[pid]: `, alone (dmesg) or inside a syslog line. */
const RELAYED = /^\[\s*(\d+\.\d+)\] ([^\s[\]:]+)(?:\[(\d+)\])?: ?(.*)$/;

function shortTime(m: RegExpExecArray, ctx: ParseContext): string | undefined {
  const month = monthNumber(m[1] ?? "");
  if (month === undefined) return undefined;
  const fields = [Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])] as const;
  const at = (year: number) => localToUtc(year, month, ...fields, fraction(m[6]), ctx.utcOffsetMinutes);
  const year = yearOf(ctx.now);
  const guess = at(year);
  const now = ctx.now === undefined ? Number.NaN : Date.parse(ctx.now);
  // A December line read in January belongs to last year.
  if (guess !== undefined && Date.parse(guess) > now + 86_400_000) return at(year - 1);
  return guess;
}

function isoTime(m: RegExpExecArray, ctx: ParseContext): string | undefined {
  const offset = m[8] === undefined ? ctx.utcOffsetMinutes : zoneOffset(m[8], ctx.utcOffsetMinutes);
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  return localToUtc(y ?? 0, mo ?? 0, d ?? 0, h ?? 0, mi ?? 0, s ?? 0, fraction(m[7]), offset);
}

function withIdent(time: string | undefined, m: RegExpExecArray, first: number): Prefix {
  const pid = m[first + 1];
  const prefix: Prefix = { time, identifier: m[first], message: m[first + 2] ?? "" };
  if (pid !== undefined) prefix.identifierPid = Number(pid);
  const relayed = RELAYED.exec(prefix.message);
  if (relayed) {
    prefix.identifier = relayed[2];
    prefix.identifierPid = relayed[3] === undefined ? undefined : Number(relayed[3]);
    prefix.message = relayed[4] ?? "";
  }
  return prefix;
}

function journalPrefix(text: string, ctx: ParseContext): Prefix | undefined {
  let m = ISO.exec(text);
  if (m) return withIdent(isoTime(m, ctx), m, 9);
  m = SHORT.exec(text);
  if (m) return withIdent(shortTime(m, ctx), m, 7);
  m = FULL.exec(text);
  if (m) return withIdent(systemdTimestamp(m[1] ?? "", ctx.utcOffsetMinutes), m, 2);
  m = UNIX.exec(text);
  if (m) return withIdent(new Date(Number(m[1]) * 1000 + fraction(m[2])).toISOString(), m, 3);
  m = MONOTONIC.exec(text);
  if (m) return withIdent(uptimeToUtc(Number(m[1]), ctx.bootTime), m, 2);
  m = RELAYED.exec(text);
  if (m) return withIdent(uptimeToUtc(Number(m[1]), ctx.bootTime), m, 2);
  m = BARE.exec(text);
  if (m) return withIdent(undefined, m, 1);
  return undefined;
}

type Fields = Omit<SystemdJournalRecord, keyof RecordBase | "entry" | "message">;

const UNIT =
  /^((?:[\w:@.-]|\\x[0-9a-fA-F]{2})+\.(?:service|socket|device|mount|automount|swap|target|path|timer|slice|scope)):? (.*)$/;
const STATUS = /code=(\w+),? (?:status=(\d+)(?:\/([\w/-]+))?|signal=(\w+))/;
const BARE_STATUS = /(?:^|[\s(])status=(\d+)(?:\/([\w/-]+))?/;

/** `code=killed, status=9/KILL` / `code=exited status=1` / `code=killed, signal=TERM` -> fields. */
function exitFields(text: string): Partial<Fields> | undefined {
  const m = STATUS.exec(text);
  if (!m) {
    const s = BARE_STATUS.exec(text);
    if (!s) return undefined;
    return s[2] === undefined ? { status: Number(s[1]) } : { status: Number(s[1]), statusName: s[2] };
  }
  const parsed = ExitCode.safeParse(m[1]);
  const fields: Partial<Fields> = parsed.success ? { code: parsed.data } : {};
  if (m[4] !== undefined) {
    fields.signal = m[4];
    const n = SIGNALS.indexOf(m[4]);
    if (n > 0) fields.status = n;
    return fields;
  }
  fields.status = Number(m[2]);
  if (m[3] !== undefined) fields.statusName = m[3];
  if (fields.code === "killed" || fields.code === "dumped") {
    fields.signal = m[3] !== undefined && m[3] !== "n/a" ? m[3] : SIGNALS[fields.status];
  }
  return fields;
}

function resultCause(result: string | undefined): CauseId | undefined {
  switch (result) {
    case "oom-kill":
      return "oom_kill";
    case "exit-code":
    case "start-limit-hit":
    case "resources":
    case "protocol":
      return "service_exit";
    case "signal":
    case "core-dump":
    case "timeout":
    case "watchdog":
      return "service_killed";
    default:
      return undefined;
  }
}

function exitCause(f: Partial<Fields>): CauseId | undefined {
  if (f.code === "exited") return f.status !== undefined && f.status !== 0 ? "service_exit" : undefined;
  if (f.code === "killed" || f.code === "dumped") return f.signal === "SEGV" ? "segfault" : "service_killed";
  return undefined;
}

/** A wording's fields, or a reason when the wording is there but its values are cut off. */
type Classified = Partial<Fields> | string;

function exited(event: "main_exited" | "control_exited", rest: string | undefined): Classified {
  const fields = exitFields(rest ?? "");
  return fields?.code === undefined ? "truncated exit status" : { event, ...fields };
}

const WORDINGS: ReadonlyArray<readonly [RegExp, (m: RegExpExecArray) => Classified]> = [
  [/^[Mm]ain process exited,? ?(.*)$/, (m) => exited("main_exited", m[1])],
  [/^Control process exited,? ?(.*)$/, (m) => exited("control_exited", m[1])],
  [/^Failed with result '([\w-]+)'\.?$/, (m) => ({ event: "failed", result: m[1] })],
  [/^A process of this unit has been killed by the OOM killer\.?$/, () => ({ event: "oom_killed_notice" })],
  [
    /^Scheduled restart job(?:, restart counter is at (\d+))?\.?$/,
    (m) =>
      m[1] === undefined
        ? { event: "scheduled_restart" }
        : { event: "scheduled_restart", restartCounter: Number(m[1]) },
  ],
  [
    /^(?:Service )?(?:hold-?off time over|has no hold-off time(?: \(RestartSec=0\))?), scheduling restart\.?$/i,
    () => ({ event: "holdoff_restart" }),
  ],
  [/^Start request repeated too quickly\.?$/, () => ({ event: "start_limit" })],
  [/^Started (.+?)\.?$/, (m) => ({ event: "started", ...describedUnit(m[1]) })],
  [/^Stopped (.+?)\.?$/, (m) => ({ event: "stopped", ...describedUnit(m[1]) })],
  [/^(?:Deactivated successfully|Succeeded)\.?$/, () => ({ event: "stopped" })],
  [/^Failed to start (.+?)\.?$/, (m) => ({ event: "failed", ...describedUnit(m[1]) })],
  [/^Unit (\S+) entered failed state\.?$/, (m) => ({ event: "failed", unit: m[1] })],
  [/^failed\.?$/, () => ({ event: "failed" })],
];

/** `nginx.service - A high performance web server` (systemd 253+) names the unit; a bare description does not. */
function describedUnit(text: string | undefined): Partial<Fields> {
  const m = /^(\S+\.(?:service|socket|mount|timer|target|scope|slice)) - /.exec(text ?? "");
  return m?.[1] ? { unit: m[1] } : {};
}

/** A systemd message (after any journal prefix) -> fields, a reason it is cut off, or undefined if unknown. */
function classify(message: string): Classified | undefined {
  const u = UNIT.exec(message);
  const unit = u?.[1];
  const rest = u ? (u[2] ?? "") : message;
  for (const [re, build] of WORDINGS) {
    const m = re.exec(rest);
    if (!m) continue;
    const fields = build(m);
    if (typeof fields === "string" || unit === undefined) return fields;
    return { ...fields, unit };
  }
  const exit = exitFields(rest);
  if (exit) return { event: "other", ...exit, ...(unit === undefined ? {} : { unit }) };
  return unit === undefined ? undefined : { event: "other", unit };
}

function causeOf(f: Partial<Fields>): CauseId | undefined {
  switch (f.event) {
    case "main_exited":
    case "control_exited":
      return exitCause(f);
    case "failed":
      return resultCause(f.result);
    case "oom_killed_notice":
      return "oom_kill";
    case "scheduled_restart":
    case "holdoff_restart":
      return "restart";
    case "start_limit":
      return "service_exit";
    default:
      return undefined;
  }
}

const SYSTEMD_IDENT = /^(?:systemd|init)$/;
const KEY_VALUE = /^([A-Z][A-Za-z0-9]*)=(.*)$/;
const STATUS_HEAD = /^[●○×*↻] (\S+)(?: - .*)?$/u;
const MAIN_PID = /^\s*Main PID: (\d+)(?: \((.*)\))?\s*$/;
const ACTIVE = /^\s*Active: (\w+)((?: \([^)]*\))*)(?: since ([^;]+))?(?:;.*)?$/;
const PROCESS = /^\s*Process: (\d+) \S+ .*\((code=.*)\)\s*$/;
const STATUS_FIELD =
  /^\s*(?:Loaded|Drop-In|Docs|Tasks|Memory|CPU|CGroup|Status|TriggeredBy|Triggers|Invocation|IP|IO|Notify|Listen|Accepted|Connected|Warning|Mem \w+|FD Store|Condition|Assert):/;
const TREE = /^\s*(?:[└├│]|─)/u;
const MARKER = /^-- .* --$|^-- No entries --$/;

const TIMESTAMP_KEYS = {
  ExecMainStartTimestamp: "execMainStartTimestamp",
  ExecMainExitTimestamp: "execMainExitTimestamp",
  ActiveEnterTimestamp: "activeEnterTimestamp",
  InactiveEnterTimestamp: "inactiveEnterTimestamp",
} as const;
const CODES: Record<string, z.infer<typeof ExitCode>> = {
  1: "exited",
  2: "killed",
  3: "dumped",
  4: "trapped",
  5: "stopped",
  6: "continued",
};

export const systemdParser: Parser<SystemdRecord> = {
  kind: "systemd",
  schema: SystemdRecord,
  start(ctx: ParseContext, sink: Sink<SystemdRecord>): LineFeeder {
    const optionUnits = (ctx.options?.unit ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
    let block: { line: number; lines: string[]; keys: Array<[string, string, number]> } | undefined;
    let blocks = 0;
    let statusUnit: string | undefined;

    const flush = () => {
      if (!block) return;
      const b = block;
      block = undefined;
      const props: Record<string, string> = {};
      for (const [k, v] of b.keys) props[k] = v;
      const record: SystemdShowRecord = {
        host: ctx.host,
        source: ctx.source,
        line: b.line,
        text: b.lines.join("\n"),
        entry: "show",
        props,
      };
      const unit = props.Id || optionUnits[blocks] || (optionUnits.length === 1 ? optionUnits[0] : undefined);
      blocks++;
      if (unit) record.unit = unit;
      const int = (key: string, lineNo: () => number): number | undefined => {
        const v = props[key];
        if (v === undefined || v === "" || v === "[not set]") return undefined;
        if (/^-?\d+$/.test(v)) return Number(v);
        sink.unreadable({ line: lineNo(), text: `${key}=${v}`, reason: `${key} is not a number` });
        return undefined;
      };
      const lineOf = (key: string) => () => b.keys.find(([k]) => k === key)?.[2] ?? b.line;
      const pid = int("ExecMainPID", lineOf("ExecMainPID")) || int("MainPID", lineOf("MainPID"));
      if (pid) record.mainPid = pid;
      const restarts = int("NRestarts", lineOf("NRestarts"));
      if (restarts !== undefined) record.nRestarts = restarts;
      if (props.ActiveState) record.activeState = props.ActiveState;
      if (props.SubState) record.subState = props.SubState;
      if (props.Result) record.result = props.Result;
      const code = props.ExecMainCode;
      if (code) {
        const named = CODES[code] ?? ExitCode.safeParse(code).data;
        if (named) record.execMainCode = named;
      }
      const status = int("ExecMainStatus", lineOf("ExecMainStatus"));
      if (status !== undefined) record.execMainStatus = status;
      for (const [key, field] of Object.entries(TIMESTAMP_KEYS)) {
        const v = props[key];
        if (v === undefined || v === "" || v === "n/a") continue;
        const t = systemdTimestamp(v, ctx.utcOffsetMinutes);
        if (t === undefined)
          sink.unreadable({ line: lineOf(key)(), text: `${key}=${v}`, reason: "unreadable timestamp" });
        else record[field] = t;
      }
      if (record.execMainStartTimestamp) record.time = record.execMainStartTimestamp;
      const crashed = record.result === "core-dump" || record.result === "signal";
      const cause = crashed && record.execMainStatus === 11 ? "segfault" : resultCause(record.result);
      if (cause) record.cause = cause;
      sink.record(record);
    };

    const journal = (
      text: string,
      lineNo: number,
      prefix: Prefix,
      fields: Partial<Fields>,
      time?: string,
    ) => {
      const record: SystemdJournalRecord = {
        host: ctx.host,
        source: ctx.source,
        line: lineNo,
        text,
        entry: "journal",
        event: fields.event ?? "other",
        message: prefix.message,
      };
      const at = time ?? prefix.time;
      if (at !== undefined) record.time = at;
      if (prefix.identifier !== undefined) record.identifier = prefix.identifier;
      if (prefix.identifierPid !== undefined) record.identifierPid = prefix.identifierPid;
      const unit = fields.unit ?? statusUnit ?? (optionUnits.length === 1 ? optionUnits[0] : undefined);
      if (unit !== undefined) record.unit = unit;
      for (const key of [
        "code",
        "status",
        "statusName",
        "signal",
        "result",
        "restartCounter",
        "mainPid",
      ] as const) {
        if (fields[key] !== undefined) Object.assign(record, { [key]: fields[key] });
      }
      const cause = causeOf(fields);
      if (cause) record.cause = cause;
      sink.record(record);
    };

    const statusLine = (text: string, lineNo: number): boolean => {
      const head = STATUS_HEAD.exec(text);
      if (head) {
        statusUnit = head[1];
        return true;
      }
      const main = MAIN_PID.exec(text);
      if (main) {
        const exit = main[2] === undefined ? undefined : exitFields(main[2]);
        const fields: Partial<Fields> = exit?.code
          ? { event: "main_exited", ...exit, mainPid: Number(main[1]) }
          : { event: "other", mainPid: Number(main[1]) };
        journal(text, lineNo, { message: text.trim() }, fields);
        return true;
      }
      const active = ACTIVE.exec(text);
      if (active) {
        const parens = [...(active[2] ?? "").matchAll(/\(([^)]*)\)/g)].map((m) => m[1] ?? "");
        const result = parens.find((p) => p.startsWith("Result: "))?.slice("Result: ".length);
        const state = active[1];
        const fields: Partial<Fields> = result
          ? { event: "failed", result }
          : { event: state === "active" ? "started" : state === "inactive" ? "stopped" : "other" };
        const since = active[3] === undefined ? undefined : systemdTimestamp(active[3], ctx.utcOffsetMinutes);
        journal(text, lineNo, { message: text.trim() }, fields, since);
        return true;
      }
      const process = PROCESS.exec(text);
      if (process) {
        journal(
          text,
          lineNo,
          { message: text.trim() },
          { event: "control_exited", ...exitFields(process[2] ?? "") },
        );
        return true;
      }
      return STATUS_FIELD.test(text) || TREE.test(text);
    };

    return {
      line(text, lineNo) {
        const trimmed = text.trim();
        const kv = KEY_VALUE.exec(trimmed);
        if (kv && kv[1] !== undefined) {
          if (block?.keys.some(([k]) => k === kv[1])) flush();
          block ??= { line: lineNo, lines: [], keys: [] };
          block.lines.push(text);
          block.keys.push([kv[1], kv[2] ?? "", lineNo]);
          return;
        }
        flush();
        if (trimmed === "" || MARKER.test(trimmed)) return;
        if (statusLine(text, lineNo)) return;
        const prefix = journalPrefix(trimmed, ctx);
        // Another program's line in the same journal (`app[123]: Started worker`) is not systemd speaking.
        const foreign = prefix?.identifier !== undefined && !SYSTEMD_IDENT.test(prefix.identifier);
        const fields = foreign ? undefined : classify(prefix?.message ?? trimmed);
        if (typeof fields === "string") {
          sink.unreadable({ line: lineNo, text, reason: fields });
        } else if (prefix) {
          journal(text, lineNo, prefix, fields ?? { event: "other" });
        } else if (fields) {
          journal(text, lineNo, { message: trimmed }, fields);
        } else {
          sink.unreadable({ line: lineNo, text, reason: "not a systemd show, status or journal line" });
        }
      },
      end() {
        flush();
      },
    };
  },
};
