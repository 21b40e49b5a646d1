import { z } from "zod";

/** Every kind of source the bot knows how to read. Adding one means adding a parser to the registry. */
export const EvidenceKind = z.enum([
  "nginx-error",
  "nginx-access",
  "nginx-conf",
  "ps",
  "systemd",
  "kernel",
  "app",
  "ss",
  "supervisord",
  "pm2",
  "docker",
  "nginx-access-aggregate",
]);
export type EvidenceKind = z.infer<typeof EvidenceKind>;

/** Root-cause ids a symptom line points to. Use exactly these. */
export const CauseId = z.enum([
  "connection_refused",
  "connection_reset",
  "premature_close",
  "no_live_upstreams",
  "no_route",
  "connect_timeout",
  "read_timeout",
  "too_big_header",
  "invalid_header",
  "fastcgi_socket",
  "pool_exhausted",
  "tls_upstream",
  "dns",
  "oom_kill",
  "segfault",
  "service_exit",
  "service_killed",
  "restart",
  "go_panic",
  "go_fatal",
  "log_fatal",
  "java_oom",
  "node_heap_oom",
  "python_traceback",
  "worker_timeout",
  "other",
]);
export type CauseId = z.infer<typeof CauseId>;

/** Fields every evidence record carries, whatever its kind. */
export const RecordBase = z.object({
  /** Host the text came from (inventory name). */
  host: z.string(),
  /** File or command the text came from, e.g. `/var/log/nginx/error.log` or `dmesg`. */
  source: z.string(),
  /** 1-based line number in the source text (first line of a multi-line record). */
  line: z.number().int().positive(),
  /** The original text, unchanged (all lines of a multi-line record, joined with \n). */
  text: z.string(),
  /** UTC time in ISO 8601 with milliseconds, when the line has one. */
  time: z.string().optional(),
  /** The root cause this line is a symptom of, when it is one. */
  cause: CauseId.optional(),
});
export type RecordBase = z.infer<typeof RecordBase>;

/** A line a parser could not read. Parsers never throw on input; they report these. */
export const Unreadable = z.object({
  line: z.number().int().positive(),
  text: z.string(),
  reason: z.string(),
});
export type Unreadable = z.infer<typeof Unreadable>;

/**
 * What a parser needs to know about where the text came from.
 * Times without a zone (nginx error log, syslog, ps lstart) are local to the host: `utcOffsetMinutes`
 * turns them into UTC. Raw dmesg stamps are seconds since boot: `bootTime` turns them into UTC.
 * Formats without a year (syslog) take the year of `now`.
 */
export interface ParseContext {
  host: string;
  source: string;
  /** Host's offset from UTC in minutes (east positive, e.g. +60 for CET). Default 0. */
  utcOffsetMinutes: number;
  /** Host's boot time (UTC ISO), when known. */
  bootTime?: string | undefined;
  /** Host's current time (UTC ISO), when known; used for year-less stamps. */
  now?: string | undefined;
  /** Kind-specific options, e.g. `{ format: "..." }` for nginx-access log_format. */
  options?: Readonly<Record<string, string>> | undefined;
}

/** Where a parser sends what it reads. */
export interface Sink<R> {
  record(record: R): void;
  unreadable(entry: Unreadable): void;
}

/** Told of a line after a feeder has read it. */
export type EachLine = (text: string, lineNo: number) => void;

/** Fed one line at a time (without its newline), then `end()`. Multi-line parsers keep state. */
export interface LineFeeder {
  line(text: string, lineNo: number): void;
  /**
   * Optional, for speed: the lines of `text[from, to)`, each ending with `\n` (none with `\r`), the first
   * numbered `lineNo`, with `bytes` holding the same text in the same places (ASCII). Feeds them as
   * `line` would, one after the other, and returns how many there were; `each`, when given, is called
   * after each line has been fed, as a caller of `line` would go on after each call.
   */
  block?(bytes: Uint8Array, text: string, from: number, to: number, lineNo: number, each?: EachLine): number;
  end(): void;
}

/** One parser per kind: pure, streaming, never throws on input. */
export interface Parser<R extends RecordBase = RecordBase> {
  kind: EvidenceKind;
  /** zod schema of one record: the record's type is `z.infer` of it. */
  schema: z.ZodType<R>;
  start(ctx: ParseContext, sink: Sink<R>): LineFeeder;
}

export interface ParseResult<R> {
  records: R[];
  unreadable: Unreadable[];
}
