/**
 * Multi-line crash reports in an app's stdout/stderr: Go panics and runtime fatal errors, Python tracebacks
 * (with chained exceptions), Java exception traces and the JVM's OOM abort banner, Node's heap-OOM report and
 * uncaught-exception report. A block starts on a recognised first line, takes the lines that fit its shape,
 * and is turned into record fields when the first line that does not fit arrives.
 */

import { signalNumber } from "./app-lines.js";
import { type AppFields, type AppFrame, MAX_FRAMES } from "./app-schema.js";

export type BlockKind = "go" | "python" | "java" | "java_abort" | "node_oom" | "node_uncaught";

export interface Block {
  kind: BlockKind;
  /** Unwrapped lines (wrappers such as docker or journald prefixes removed). */
  lines: string[];
  /** Where the block is in its shape; meaning depends on the kind. */
  phase: number;
}

const GO_START = /^(panic|fatal error): /;
const PY_START = "Traceback (most recent call last):";
const JAVA_THREAD = /^Exception in thread "(.*?)" (.*)$/;
// A bare exception line as loggers print it (`java.lang.OutOfMemoryError: Java heap space`).
const JAVA_BARE = /^((?:[a-zA-Z_$][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error|Throwable))(?::\s?(.*))?$/;
const JAVA_ABORT = /^Aborting due to (java\.lang\.OutOfMemoryError)(?::\s?(.*))?$/;
const NODE_OOM_START = /^(?:<--- Last few GCs --->|FATAL ERROR: )/;
// Node's first line of an uncaught exception: `/srv/app.js:12`, `file:///srv/app.mjs:3`, `node:internal/x:288`.
const NODE_LOCATION = /^(?:file:\/\/)?(?:\/[^:]*|node:[\w/]+|[A-Za-z]:\\[^:]*):\d+$/;

export function startBlock(line: string): BlockKind | undefined {
  if (GO_START.test(line)) return "go";
  if (line === PY_START) return "python";
  if (JAVA_THREAD.test(line) || JAVA_BARE.test(line)) return "java";
  if (JAVA_ABORT.test(line)) return "java_abort";
  if (NODE_OOM_START.test(line)) return "node_oom";
  if (NODE_LOCATION.test(line)) return "node_uncaught";
  return undefined;
}

export type Verdict = "take" | "take_and_end" | "end";

const blank = (line: string): boolean => line.trim() === "";

const GO_GOROUTINE = /^goroutine \d+ .*\[.*\]:$/;
// U+FFFD: a byte of the name that was not UTF-8 (or a NUL) does not end the trace.
const GO_FUNCTION = /^[A-Za-z_\uFFFD][\w./\-*()%~[\]\uFFFD]*\(.*\)$/;
const GO_OTHER =
  /^(?:\s|\[signal |created by |runtime stack:$|exit status \d+$|\.\.\.additional frames elided\.\.\.$|PC=|r[a-z0-9]{1,3} +0x)/;

function goTakes(line: string): boolean {
  return blank(line) || GO_GOROUTINE.test(line) || GO_OTHER.test(line) || GO_FUNCTION.test(line);
}

const PY_CHAIN =
  /^(?:The above exception was the direct cause of the following exception:|During handling of the above exception, another exception occurred:)$/;

/** Python: 0 inside a traceback, 1 after its final `Type: message` line, 2 after a chain sentence. */
function pythonVerdict(b: Block, line: string): Verdict {
  if (blank(line)) return "take";
  if (b.phase === 0) {
    if (!/^\s/.test(line)) b.phase = 1;
    return "take";
  }
  if (PY_CHAIN.test(line)) {
    b.phase = 2;
    return "take";
  }
  if (b.phase === 2 && line === PY_START) {
    b.phase = 0;
    return "take";
  }
  return "end";
}

const JAVA_MORE = /^\s+(?:at |\.\.\. \d+ (?:more|common frames omitted))|^\s*(?:Caused by|Suppressed): /;

const NODE_OOM_MORE =
  /^(?:\[\d+:0x[0-9a-f]+\]|<--- .* --->$|FATAL ERROR: |----- Native stack trace -----$|==== JS stack trace|Security context: |\s)/;

/** Node uncaught: 0 after the location, 1 after the source line, 2 after the caret, 3 after the error line. */
function nodeUncaughtVerdict(b: Block, line: string): Verdict {
  switch (b.phase) {
    case 0:
      b.phase = 1;
      return "take";
    case 1:
      if (!/^\s*\^+\s*$/.test(line)) return "end";
      b.phase = 2;
      return "take";
    case 2:
      if (!blank(line)) b.phase = 3;
      return "take";
    default:
      if (/^Node\.js v\d/.test(line)) return "take_and_end";
      if (blank(line) || /^\s/.test(line) || line === "}" || /^\(Use `node --trace-/.test(line))
        return "take";
      return "end";
  }
}

/** Does the open block take this (unwrapped) line? */
export function verdict(b: Block, line: string): Verdict {
  switch (b.kind) {
    case "go":
      return goTakes(line) ? "take" : "end";
    case "python":
      return pythonVerdict(b, line);
    case "java":
      return JAVA_MORE.test(line) ? "take" : "end";
    case "java_abort":
      return line.startsWith("#") ? "take" : "end";
    case "node_oom":
      return blank(line) || NODE_OOM_MORE.test(line) ? "take" : "end";
    case "node_uncaught":
      return nodeUncaughtVerdict(b, line);
  }
}

const capped = (frames: AppFrame[]): AppFrame[] | undefined =>
  frames.length === 0 ? undefined : frames.slice(0, MAX_FRAMES);

function goFields(lines: string[]): AppFields {
  const first = lines[0] ?? "";
  const fatal = first.startsWith("fatal error: ");
  const signalLine = lines.find((l) => l.startsWith("[signal "));
  const signalName = signalLine ? /^\[signal (SIG[A-Z]+)/.exec(signalLine)?.[1] : undefined;
  const start = lines.findIndex((l) => GO_GOROUTINE.test(l));
  const goroutine = start >= 0 ? Number(/^goroutine (\d+)/.exec(lines[start] ?? "")?.[1]) : undefined;
  const frames: AppFrame[] = [];
  let skipNextFile = false;
  for (const l of start >= 0 ? lines.slice(start + 1) : []) {
    if (blank(l) || GO_GOROUTINE.test(l)) break;
    const file = /^\s+(.+?):(\d+)(?: \+0x[0-9a-f]+)?$/.exec(l);
    const last = frames[frames.length - 1];
    if (file) {
      if (!skipNextFile && last && last.file === undefined) {
        last.file = file[1];
        last.line = Number(file[2]);
      }
      skipNextFile = false;
    } else if (l.startsWith("created by ")) {
      skipNextFile = true;
    } else if (GO_FUNCTION.test(l)) {
      frames.push({ fn: l });
    }
  }
  return {
    signature: fatal ? "go_fatal" : "go_panic",
    cause: fatal ? "go_fatal" : "go_panic",
    summary: first,
    signal: signalName ? signalNumber(signalName) : undefined,
    goroutine,
    frames: capped(frames),
  };
}

function pythonFields(lines: string[]): AppFields {
  const finals: string[] = [];
  let sectionStart = 0;
  let inSection = false;
  lines.forEach((l, i) => {
    if (l === PY_START) {
      inSection = true;
      sectionStart = i;
    } else if (inSection && !blank(l) && !/^\s/.test(l)) {
      finals.push(l);
      inSection = false;
    }
  });
  const summary = finals[finals.length - 1];
  const frames: AppFrame[] = [];
  for (const l of lines.slice(sectionStart)) {
    const m = /^\s*File "(.+)", line (\d+)(?:, in (.+))?$/.exec(l);
    if (m) frames.push({ fn: m[3], file: m[1], line: Number(m[2]) });
  }
  frames.reverse();
  return {
    signature: "python_traceback",
    cause: "python_traceback",
    summary,
    errorType: summary ? /^([\w.]+)(?::|$)/.exec(summary)?.[1] : undefined,
    causedBy: finals.length > 1 ? finals.slice(0, -1) : undefined,
    frames: capped(frames),
  };
}

const JAVA_FRAME = /^\s*at (.+?)\((.*?)(?::(\d+))?\)$/;
const isJavaOom = (s: string): boolean => s.startsWith("java.lang.OutOfMemoryError");

/** Undefined for a bare exception line that no frame followed (a log message naming an exception). */
function javaFields(lines: string[]): AppFields | undefined {
  const first = lines[0] ?? "";
  const threaded = JAVA_THREAD.exec(first);
  const summary = threaded ? (threaded[2] ?? "") : first;
  const causedBy = lines.flatMap((l) => {
    const m = /^\s*Caused by: (.*)$/.exec(l);
    return m?.[1] !== undefined ? [m[1]] : [];
  });
  const frames: AppFrame[] = [];
  for (const l of lines.slice(1)) {
    if (/^\s*(?:Caused by|Suppressed): /.test(l)) break;
    const m = JAVA_FRAME.exec(l);
    if (m) frames.push({ fn: m[1], file: m[2], line: m[3] === undefined ? undefined : Number(m[3]) });
  }
  const oom = isJavaOom(summary) || causedBy.some(isJavaOom);
  if (!threaded && frames.length === 0 && !oom) return undefined;
  return {
    signature: oom ? "java_oom" : "java_exception",
    // `Exception in thread` is the JVM's uncaught handler; a bare trace is usually a logged, caught exception.
    cause: oom ? "java_oom" : threaded ? "other" : undefined,
    summary,
    errorType: /^([\w.$]+)(?::|$)/.exec(summary)?.[1],
    thread: threaded?.[1],
    causedBy: causedBy.length > 0 ? causedBy : undefined,
    frames: capped(frames),
  };
}

function javaAbortFields(lines: string[]): AppFields {
  const m = JAVA_ABORT.exec(lines[0] ?? "");
  const pid = lines.map((l) => /\bpid=(\d+)/.exec(l)?.[1]).find((p) => p !== undefined);
  return {
    signature: "java_oom",
    cause: "java_oom",
    summary: (lines[0] ?? "").slice("Aborting due to ".length),
    errorType: m?.[1],
    pid: pid === undefined ? undefined : Number(pid),
  };
}

function nodeOomFields(lines: string[]): AppFields {
  const fatal = lines.find((l) => l.startsWith("FATAL ERROR: "));
  const pid = lines.map((l) => /^\[(\d+):0x/.exec(l)?.[1]).find((p) => p !== undefined);
  const frames: AppFrame[] = [];
  for (const l of lines) {
    const m = /^\s*\d+: 0x[0-9a-f]+ (.*?)\s*\[(.+)\]$/.exec(l);
    if (m) frames.push(m[1] ? { fn: m[1], file: m[2] } : { raw: l.trim() });
  }
  const heap = fatal === undefined || /heap out of memory|heap limit|Ineffective mark-compacts/.test(fatal);
  return {
    signature: heap ? "node_heap_oom" : "other",
    cause: heap ? "node_heap_oom" : "other",
    summary: fatal,
    pid: pid === undefined ? undefined : Number(pid),
    frames: capped(frames),
    // V8's fatal OOM handler aborts: SIGABRT (a shell's exit status 134, systemd's `status=6/ABRT`).
    ...(heap ? { signal: 6 } : {}),
  };
}

const NODE_FRAME = /^\s+at (?:(.*?) \()?(.+?):(\d+):\d+\)?$/;

/** Undefined when no error line followed the location and caret (then it was not Node's report). */
function nodeUncaughtFields(lines: string[]): AppFields | undefined {
  const errorLine = lines.slice(3).find((l) => !blank(l) && !/^\s/.test(l));
  if (errorLine === undefined || /^Node\.js v\d/.test(errorLine)) return undefined;
  const frames: AppFrame[] = [];
  for (const l of lines) {
    const m = NODE_FRAME.exec(l);
    if (m) frames.push({ fn: m[1], file: m[2], line: Number(m[3]) });
    else if (/^\s+at /.test(l)) frames.push({ raw: l.trim() });
  }
  return {
    signature: "node_uncaught",
    cause: "other",
    summary: errorLine,
    errorType: /^\[?([\w$]+)(?:\s*\[[\w$]+\])?(?::|$|\s*\{)/.exec(errorLine)?.[1],
    frames: capped(frames),
  };
}

/** Record fields of a finished block, or undefined when the block turned out not to be a crash report. */
export function blockFields(b: Block): AppFields | undefined {
  switch (b.kind) {
    case "go":
      return goFields(b.lines);
    case "python":
      return pythonFields(b.lines);
    case "java":
      return javaFields(b.lines);
    case "java_abort":
      return javaAbortFields(b.lines);
    case "node_oom":
      return nodeOomFields(b.lines);
    case "node_uncaught":
      return nodeUncaughtFields(b.lines);
  }
}
