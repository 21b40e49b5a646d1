import { ExitCode, type JournalFields } from "./systemd-schema.js";
import type { CauseId } from "./types.js";

/** Linux signal names by number (x86, arm, most others). */
const SIGNALS = [
  "",
  ..."HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM STKFLT".split(" "),
  ..."CHLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO PWR SYS".split(" "),
];

const UNIT =
  /^((?:[\w:@.-]|\\x[0-9a-fA-F]{2})+\.(?:service|socket|device|mount|automount|swap|target|path|timer|slice|scope)):? (.*)$/;
const STATUS = /code=(\w+),? (?:status=(\d+)(?:\/([\w/-]+))?|signal=(\w+))/;
const BARE_STATUS = /(?:^|[\s(])status=(\d+)(?:\/([\w/-]+))?/;

/** `code=killed, status=9/KILL` / `code=exited status=1` / `code=killed, signal=TERM` -> fields. */
export function exitFields(text: string): Partial<JournalFields> | undefined {
  const m = STATUS.exec(text);
  if (!m) {
    const s = BARE_STATUS.exec(text);
    if (!s) return undefined;
    return s[2] === undefined ? { status: Number(s[1]) } : { status: Number(s[1]), statusName: s[2] };
  }
  const parsed = ExitCode.safeParse(m[1]);
  const fields: Partial<JournalFields> = parsed.success ? { code: parsed.data } : {};
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

export function resultCause(result: string | undefined): CauseId | undefined {
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

function exitCause(f: Partial<JournalFields>): CauseId | undefined {
  if (f.code === "exited") return f.status !== undefined && f.status !== 0 ? "service_exit" : undefined;
  if (f.code === "killed" || f.code === "dumped") return f.signal === "SEGV" ? "segfault" : "service_killed";
  return undefined;
}

/** A wording's fields, or a reason when the wording is there but its values are cut off. */
export type Classified = Partial<JournalFields> | string;

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
function describedUnit(text: string | undefined): Partial<JournalFields> {
  const m = /^(\S+\.(?:service|socket|mount|timer|target|scope|slice)) - /.exec(text ?? "");
  return m?.[1] ? { unit: m[1] } : {};
}

/** A systemd message (after any journal prefix) -> fields, a reason it is cut off, or undefined if unknown. */
export function classify(message: string): Classified | undefined {
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

export function causeOf(f: Partial<JournalFields>): CauseId | undefined {
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
