import type { z } from "zod";
import { causeOf, classify, exitFields, resultCause } from "./systemd-journal.js";
import {
  ExitCode,
  type JournalFields,
  type SystemdJournalRecord,
  SystemdRecord,
  type SystemdShowRecord,
} from "./systemd-schema.js";
import { journalPrefix, type Prefix, systemdTimestamp } from "./systemd-time.js";
import type { LineFeeder, ParseContext, Parser, Sink } from "./types.js";

export { SystemdEvent, SystemdJournalRecord, SystemdRecord, SystemdShowRecord } from "./systemd-schema.js";
export { systemdTimestamp } from "./systemd-time.js";

const SYSTEMD_IDENT = /^(?:systemd|init)$/;
const KEY_VALUE = /^([A-Z][A-Za-z0-9]*)=(.*)$/;
const STATUS_HEAD = /^[●○×*↻] (\S+)(?: - .*)?$/u;
const MAIN_PID = /^\s*Main PID: (\d+)(?: \((.*)\))?\s*$/;
// A line cut after the state and its parentheses still says them (`Active: failed (Result: oom-kill) s`).
const ACTIVE = /^\s*Active: (\w+)((?: \([^)]*\))*)(?: since ([^;]+))?(?:;.*)?(?: .*)?$/;
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
      fields: Partial<JournalFields>,
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
        const fields: Partial<JournalFields> = exit?.code
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
        const fields: Partial<JournalFields> = result
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
