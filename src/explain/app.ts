import { type AppRecord, appParser } from "../evidence/app.js";
import { startBlock } from "../evidence/app-blocks.js";
import { parseText } from "../evidence/run.js";
import type { ParseContext } from "../evidence/types.js";
import { unwrap } from "../evidence/wrappers.js";
import { appMeaning } from "./app-meaning.js";
import { code } from "./phrases.js";
import type { Reading } from "./schema.js";

/**
 * A backend's own output: crash reports (read by the app parser over the whole paste, so a Go panic or a
 * Python traceback becomes one entry however many lines it spans), worker-server lines, structured and
 * stamped log lines, and the fragments people paste of them: an exception line without its frames, a
 * frame alone, a gunicorn message without its stamp.
 */

export interface AppBlock {
  reading: Reading;
  /** Lines the report covers (at least 2). */
  span: number;
}

/** Multi-line crash reports in the paste, by the number of their first line. */
export function readAppBlocks(lines: readonly string[], ctx: ParseContext): Map<number, AppBlock> {
  const out = new Map<number, AppBlock>();
  for (const r of parseText(appParser, lines.join("\n"), ctx).records) {
    const span = r.text.split("\n").length;
    if (span < 2) continue;
    out.set(r.line, { reading: appMeaning(r, r.timeInherited === true), span });
  }
  return out;
}

/** gunicorn messages pasted without their `[stamp] [pid] [LEVEL]` head: the level the parser expects. */
const GUNICORN_MESSAGES: ReadonlyArray<readonly [string, string]> = [
  ["WORKER TIMEOUT (pid:", "CRITICAL"],
  ["Worker with pid ", "WARNING"],
  ["Worker (pid:", "ERROR"],
  ["Booting worker with pid: ", "INFO"],
];
const LEVEL_TAG = /\[(?:DEBUG|INFO|WARNING|ERROR|CRITICAL)\] /;
/** An exception line as Node, Python and the JVM print it: `TypeError: Cannot read properties ...`. */
const EXCEPTION =
  /^(?:Uncaught )?((?:[a-zA-Z_$][\w$]*\.)*[A-Z][\w$]*(?:Error|Exception|Interrupt|Exit|Throwable))(?: \[[\w$]+\])?(?::\s?(.*))?$/;
/** Lines that continue a stack trace: indented frames and source lines, `Caused by:`, `... 3 more`. */
const CONTINUATION = /^\s+\S|^Caused by: |^\s*\.\.\. \d+ (?:more|common frames omitted)$/;
const FRAME =
  /^\s+at (?:(.+?) \()?(.+?):(\d+)(?::\d+)?\)?$|^\s*File "(.+)", line (\d+)(?:, in (.+))?$|^\s+(\/\S+\.go):(\d+)(?: \+0x[0-9a-f]+)?$/;

function parseOne(line: string, ctx: ParseContext): AppRecord | undefined {
  return parseText(appParser, line, ctx).records[0];
}

/** Is this a line that continues the crash report above it (a frame, a source line, `Caused by:`)? */
export function continuesReport(line: string): boolean {
  return CONTINUATION.test(line);
}

export function readApp(line: string, ctx: ParseContext): Reading | undefined {
  const inner = unwrap(line).inner;
  const r = parseOne(line, ctx);
  if (r && (r.signature !== "log_line" || !EXCEPTION.test(r.message ?? ""))) {
    return appMeaning(r, r.timeInherited === true);
  }
  const tag = LEVEL_TAG.exec(inner);
  if (tag && tag.index > 0) {
    const g = parseOne(inner.slice(tag.index), ctx);
    if (g) return appMeaning(g, true);
  }
  for (const [message, level] of GUNICORN_MESSAGES) {
    const at = inner.indexOf(message);
    if (at < 0) continue;
    const g = parseOne(`[${level}] ${inner.slice(at)}`, ctx);
    if (g) return appMeaning(g, true);
  }
  const rest = r?.message ?? inner;
  const e = EXCEPTION.exec(rest.trim());
  if (e?.[1] !== undefined) return exceptionLine(e[1], e[2], r?.time);
  if (startBlock(inner) === "python") {
    return {
      kind: "app",
      opensReport: true,
      cause: "python_traceback",
      meaning:
        "The start of a Python traceback: an exception nobody caught. The exception itself is on the traceback's last line.",
      next: "Paste the traceback down to its last line (`SomeError: message`): that line says what went wrong, the `File ...` line above it where.",
    };
  }
  const f = FRAME.exec(line);
  if (f) return frame(f);
  return undefined;
}

function exceptionLine(type: string, message: string | undefined, time: string | undefined): Reading {
  const java = type.includes(".");
  const oom = type === "java.lang.OutOfMemoryError";
  return {
    kind: "app",
    opensReport: true,
    cause: oom ? "java_oom" : undefined,
    meaning: oom
      ? `The JVM ran out of ${code(message ?? "memory")}. Logged alone, the thread that hit it died; the JVM may still run, slowly or not answering.`
      : `An exception: ${code(`${type}${message === undefined ? "" : `: ${message}`}`, 160)}. If nothing caught it, the program exited (${java ? "the JVM exits when its main thread dies" : "Node and Python exit with status 1"}).`,
    next: oom
      ? "Check the heap limit (`-Xmx`) against the container limit and take a heap dump (`-XX:+HeapDumpOnOutOfMemoryError`); under systemd look for `status=3` or `status=1` exits."
      : "Its stack frames say where: the `at ...` lines below it (Node, Java) or the `File ...` lines above it (Python). Did the process exit right after (`status=1/FAILURE` in the journal)?",
    time,
  };
}

function frame(f: RegExpExecArray): Reading {
  const fn = f[1] ?? f[6];
  const file = f[2] ?? f[4] ?? f[7];
  const line = f[3] ?? f[5] ?? f[8];
  return {
    kind: "app",
    opensReport: true,
    meaning: `A stack frame: ${fn === undefined ? "code" : code(fn, 80)} at ${code(`${file}:${line}`, 120)}. It belongs to an exception or panic printed next to it.`,
    next: "Paste the whole report: its first line (Go `panic:`, Node/Java) or last line (Python) says what failed; the topmost frame in your own code says where.",
  };
}
