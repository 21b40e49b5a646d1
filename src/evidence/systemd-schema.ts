import { z } from "zod";
import { RecordBase } from "./types.js";

export const ExitCode = z.enum(["exited", "killed", "dumped", "trapped", "stopped", "continued"]);

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

/** What a journal wording or status line yields, before the record's base fields are added. */
export type JournalFields = Omit<SystemdJournalRecord, keyof RecordBase | "entry" | "message">;
