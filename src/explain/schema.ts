import { z } from "zod";
import { CauseId } from "../evidence/types.js";

/** What kind of log a pasted line is from. */
export const ExplainKind = z.enum([
  "nginx-error",
  "nginx-access",
  "kernel",
  "systemd",
  "supervisor",
  "app",
  "unknown",
]);
export type ExplainKind = z.infer<typeof ExplainKind>;

/**
 * What one pasted line (or one multi-line crash report) means. Every string is safe to print: secrets are
 * masked and control characters are shown as `\xNN` / `\u{NNNN}` escapes, never raw. They are not escaped
 * for Slack (host text may hold `<!channel>`): renderExplainMrkdwn does that. `meaning` and `next` quote
 * values from the line in backticks.
 */
export const ExplainedLine = z.object({
  /** 1-based line number in the paste (the first line of a folded crash report). */
  line: z.number().int().positive(),
  /** How many lines this entry covers: set when a crash report's frames were folded into it. */
  lines: z.number().int().min(2).optional(),
  /** The line as pasted (the first line of a folded report), masked, control characters made visible. */
  text: z.string(),
  kind: ExplainKind,
  /**
   * The cause id the evidence parsers give this line (`connection_refused`, `premature_close`, `oom_kill`...).
   * For a fragment that no parser reads alone (a bare `code=killed, status=9/KILL`), the id the parser gives
   * the whole line.
   */
  cause: CauseId.optional(),
  /** What the client saw: nginx's 502/504 for an error-log line, the access log's status. */
  status: z.number().int().optional(),
  /** One or two plain sentences: what happened. */
  meaning: z.string(),
  /** What to check next, concretely. */
  next: z.string(),
  /** The backend the line is about: `host:port`, `unix:/path` or an upstream{} group name. */
  upstream: z.string().optional(),
  /** When the line says when, with a zone (or in UTC): ISO 8601 UTC. */
  time: z.string().optional(),
  /**
   * When the line's stamp has no zone (nginx's error log, syslog, `dmesg -T`): the wall-clock time as
   * written, `YYYY-MM-DDTHH:MM:SS`, local to the host that wrote it.
   */
  localTime: z.string().optional(),
  /** Secrets masked in `text`. */
  masked: z.number().int().positive().optional(),
});
export type ExplainedLine = z.infer<typeof ExplainedLine>;

/** What a recogniser found in a line, before the orchestrator adds line number, text and time. */
export interface Reading {
  kind: Exclude<ExplainKind, "unknown">;
  cause?: CauseId | undefined;
  status?: number | undefined;
  meaning: string;
  next: string;
  upstream?: string | undefined;
  /** UTC ISO from the parser, computed with the context's UTC offset. */
  time?: string | undefined;
  /** The time came from a synthetic stamp or was inherited: do not report it. */
  timeless?: boolean;
  /** A crash report or exception starts here: indented frames right after it belong to it. */
  opensReport?: boolean;
}
