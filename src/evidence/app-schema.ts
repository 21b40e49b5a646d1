import { z } from "zod";
import { RecordBase } from "./types.js";

/** Which runtime or server printed the record. */
export const AppSignature = z.enum([
  "go_panic",
  "go_fatal",
  /** An ordinary stamped log line (Go LstdFlags, ISO, python logging, logback...). */
  "log_line",
  /** A structured line: logrus logfmt (`time="..." level=... msg="..."`) or JSON with level and msg. */
  "logrus",
  "java_exception",
  "java_oom",
  "node_heap_oom",
  "node_uncaught",
  "python_traceback",
  "gunicorn",
  "uwsgi",
  "php_fpm",
  "other",
]);
export type AppSignature = z.infer<typeof AppSignature>;

/** The signatures of a crash stack or a runtime's fatal block: the process died of what they say. */
export const CRASH_STACKS: ReadonlySet<AppSignature> = new Set([
  "go_panic",
  "go_fatal",
  "java_exception",
  "java_oom",
  "node_heap_oom",
  "node_uncaught",
  "python_traceback",
]);

/** One stack frame; `raw` only when the frame line could not be split into function, file and line. */
export const AppFrame = z.object({
  fn: z.string().optional(),
  file: z.string().optional(),
  line: z.number().int().optional(),
  raw: z.string().optional(),
});
export type AppFrame = z.infer<typeof AppFrame>;

export const MAX_FRAMES = 20;

export const AppRecord = RecordBase.extend({
  signature: AppSignature,
  /** The one-line message: `panic: runtime error: ...`, `IndexError: list index out of range`, logrus msg. */
  summary: z.string().optional(),
  /** Exception class or error name: `java.lang.OutOfMemoryError`, `IndexError`, `TypeError`. */
  errorType: z.string().optional(),
  /** Earlier links of a chain: Java `Caused by:` lines, Python exceptions the last one was raised from. */
  causedBy: z.array(z.string()).optional(),
  /** Top frames, innermost (where it failed) first, at most 20. */
  frames: z.array(AppFrame).max(MAX_FRAMES).optional(),
  /** Java thread that threw (`main` ends the JVM; a worker thread's death may leave it running). */
  thread: z.string().optional(),
  /** Go goroutine that panicked. */
  goroutine: z.number().int().optional(),
  /** Pid of the process that printed the line (gunicorn `[1637]`, php-fpm master, node `[1016:0x...]`). */
  pid: z.number().int().optional(),
  /** Pid of the worker the line is about (timed out, killed, booted). */
  workerPid: z.number().int().optional(),
  /** uWSGI worker number. */
  workerId: z.number().int().optional(),
  /** php-fpm pool name. */
  pool: z.string().optional(),
  /** Signal number that ended a worker or the process (`[signal SIGSEGV: ...]` is 11). */
  signal: z.number().int().optional(),
  /** The exit code the runtime ends its process with (HotSpot -XX:+ExitOnOutOfMemoryError: 3). */
  exitCode: z.number().int().optional(),
  /** How long the request had run when its server ended it (php-fpm `execution timed out (2.56 sec)`). */
  elapsedSeconds: z.number().optional(),
  /** Log level, lower case (`warning` as `warn`); guessed as `error` for level-less fatal-ish lines. */
  level: z.string().optional(),
  /** A log line's text after its timestamp. */
  message: z.string().optional(),
  /**
   * The line could be the last words of a deliberate exit (Go `log.Fatal`, `os.Exit(1)` after an error log):
   * a serious level, or no level and fatal-ish words. The facts layer decides whether it was the last line.
   */
  fatalCandidate: z.boolean().optional(),
  /** The record had no stamp of its own: `time` is that of the nearest stamped line before it. */
  timeInherited: z.boolean().optional(),
});
export type AppRecord = z.infer<typeof AppRecord>;

/** What a recogniser says about a line or block; the parser adds host, source, line, text. */
export type AppFields = Omit<AppRecord, "host" | "source" | "line" | "text">;
