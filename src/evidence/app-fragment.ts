import { type AppRecord, appParser } from "./app.js";
import { startBlock } from "./app-blocks.js";
import { readStamp } from "./app-lines.js";
import type { FragmentReader } from "./fragment.js";
import { parseText } from "./run.js";
import type { ParseContext } from "./types.js";
import { unwrap, unwrapPasted } from "./wrappers.js";

/**
 * A backend's one-line messages as people paste them: a gunicorn, uWSGI, php-fpm or JVM line without its
 * stamp, pid or level (`Worker with pid 7214 was terminated due to signal 9`, `child 22612 exited on
 * signal 11`), cut before its message, behind a runtime's prefix, indented, re-spaced (`(pid: 19489)`),
 * a structured line cut at its start, or wrapped. Each is completed into the shape its server writes and
 * read by the app parser. Crash reports (stacks, tracebacks) are the parser's alone.
 */

/** Where a worker server's message starts, and the head it is read with when it lost its own. */
const MESSAGES: ReadonlyArray<readonly [RegExp, string]> = [
  [/WORKER TIMEOUT \(pid:/, "[CRITICAL] "],
  [/Worker with pid \d+ was terminated/, "[WARNING] "],
  [/Worker \(pid:\d+\) was sent SIG/, "[ERROR] "],
  [/Booting worker with pid: /, "[INFO] "],
  [/Starting gunicorn /, "[INFO] "],
  [/\[pool [^\]]+\] (?:child \d+|server reached)/, "WARNING: "],
  [/child \d+(?: exited (?:on signal|with code)|, script .* execution timed out)/, "WARNING: "],
  [/server reached (?:pm\.)?max_children setting/, "WARNING: "],
  [/fpm is running, pid /, "NOTICE: "],
  [/DAMN ! worker \d+/, ""],
  [/Respawned uWSGI worker /, ""],
  [/\*\*\* HARAKIRI ON WORKER /, ""],
  [/\*\*\* Starting uWSGI /, ""],
  [/Terminating due to java\.lang\.OutOfMemoryError/, ""],
];
/** A level tag the message still has: it starts the fragment to read. */
const LEVEL_TAG =
  /\[(?:DEBUG|INFO|WARNING|ERROR|CRITICAL)\] |(?:DEBUG|NOTICE|WARNING|ERROR|ALERT): (?=\[pool |child |server reached)/;

/** What one line can say by itself: no crash report, whose lines are the parser's to gather. */
const ONE_LINE = new Set(["gunicorn", "uwsgi", "php_fpm", "java_oom", "logrus", "log_line"]);

function one(text: string, ctx: ParseContext): AppRecord | undefined {
  return parseText(appParser, text, ctx).records.find(
    (r) => r.cause !== undefined && ONE_LINE.has(r.signature),
  );
}

const FPM_TIMEOUT =
  /^(.*execution timed out \(\d+(?:\.\d+)? sec\))(?:, t(?:e(?:r(?:m(?:i(?:n(?:a(?:t(?:i(?:n)?)?)?)?)?)?)?)?)?)?$/;

/** The spaces a copy put into gunicorn's `(pid:N)`. */
const respace = (s: string) => s.replace(/\(pid: (\d)/g, "(pid:$1");

/** A JSON log line cut at its start: from its first whole `"key":` on, braced again. */
function jsonTail(s: string): string | undefined {
  if (!s.endsWith("}") || s.startsWith("{")) return undefined;
  if (/^"[\w.@-]+":/.test(s)) return `{${s}`;
  const at = s.search(/,"[\w.@-]+":/);
  return at < 0 ? undefined : `{${s.slice(at + 1)}`;
}

/** The words a worker server's messages start with: a line ending in the start of one was wrapped. */
const HEADS = [
  "WORKER TIMEOUT (pid:",
  "Worker with pid ",
  "Worker (pid:",
  "Booting worker with pid: ",
  "Starting gunicorn ",
  "DAMN ! worker ",
  "Respawned uWSGI worker ",
  "*** HARAKIRI ON WORKER ",
  "*** Starting uWSGI ",
  "Terminating due to java.lang.OutOfMemoryError",
  "java.lang.OutOfMemoryError",
  "server reached ",
  "fpm is running, pid ",
  "[pool ",
];
/** A stamp, a level or a structured line's start that lost the rest of its line. */
const CUT_HEAD =
  /^\[\d{4}-\d\d-\d\d |^\[?\d\d-[A-Z][a-z]{2}-\d{4} |\b(?:NOTICE|WARNING|ALERT): |^\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-][\d:]+)$|\blevel=|"level":"|^\{(?!.*\}$)|\[(?:DEBUG|INFO|WARNING|ERROR|CRITICAL)\]$/;

/** How a line of a backend's log begins when it begins one: a stamp, a level tag, a structured line. */
const HEAD =
  /^\[\d{4}-\d\d-\d\d |^\[\d\d-[A-Z][a-z]{2}-\d{4} |^\[(?:DEBUG|INFO|WARNING|ERROR|CRITICAL)\] |^(?:DEBUG|NOTICE|WARNING|ERROR|ALERT): |^\{|^(?:time|level|ts)=/;

/** A cut line ends in the first words of a message: `DAMN ! wo`, `***` (five letters at least, or a sign). */
function endsInHead(t: string): boolean {
  return HEADS.some((h) => {
    if (t.includes(h.trimEnd()) || (t.length >= 3 && h.startsWith(t))) return true;
    for (let k = 3; k < h.length; k++) {
      const start = h.slice(0, k).trimEnd();
      const word = start.length >= 5 || /[^A-Za-z]/.test(start) || t === start || t.endsWith(` ${start}`);
      if (word && t.endsWith(start)) return true;
    }
    return false;
  });
}

/** May this line (the parser said nothing about it) be the first half of a wrapped one? */
function joinable(text: string): boolean {
  const t = unwrap(text.trim()).inner.trim();
  if (t === "" || startBlock(t) !== undefined) return false;
  return CUT_HEAD.test(t) || (t.match(/"/g)?.length ?? 0) % 2 === 1 || endsInHead(t);
}

function read(text: string, lineNo: number, ctx: ParseContext): AppRecord | undefined {
  // A line that opens a crash report is the parser's: it gathers the report's lines.
  if (startBlock(unwrap(text).inner) !== undefined) return undefined;
  const u = unwrapPasted(text);
  const tries: string[] = [];
  // uWSGI writes `(pid: 108)`, gunicorn `(pid:7214)`: the line is read as it is, then re-spaced.
  for (const inner of new Set([u.inner.trim(), respace(u.inner.trim())])) {
    tries.push(inner);
    const tag = LEVEL_TAG.exec(inner);
    if (tag && tag.index > 0) tries.push(inner.slice(tag.index));
    for (const [re, head] of MESSAGES) {
      const m = re.exec(inner);
      if (m) tries.push(`${head}${inner.slice(m.index)}`);
    }
    const json = jsonTail(inner);
    if (json) tries.push(json);
    const level = inner.search(/\blevel=/);
    if (level > 0) tries.push(inner.slice(level));
  }
  // Cut right after a colon or comma: `Terminating due to java.lang.OutOfMemoryError:`; php-fpm's timeout
  // cut before its fixed `, terminating`.
  for (const t of [...tries]) {
    const cut = t.replace(/[:,]\s*$/, "");
    if (cut !== t) tries.push(cut);
    const fpm = FPM_TIMEOUT.exec(cut)?.[1];
    if (fpm !== undefined) tries.push(`${fpm}, terminating`);
  }
  for (const t of tries) {
    const r = one(t, ctx);
    if (!r) continue;
    // The runtime's stamp is the line's time when the fragment lost its own.
    const time = r.timeInherited === true ? undefined : (r.time ?? u.wrapperTime);
    const out: AppRecord = { ...r, line: lineNo, text };
    if (time === undefined) delete out.time;
    else out.time = time;
    delete out.timeInherited;
    return out;
  }
  return undefined;
}

export const appFragments: FragmentReader<AppRecord> = {
  strong: (r) => r.cause !== undefined,
  // A message cut in its middle (`died, killed by`) says less than it would whole.
  complete: (r) => r.cause !== undefined && !/(?:[,:]|\bkilled(?: by(?: signal)?)?)\s*$/.test(r.text),
  read,
  readsSilent: true,
  joinable,
  // A stamp, a level tag, a structured line, a worker server's message or a report's first line starts a
  // record; anything else may be the rest of the line before.
  startsRecord: (text, ctx) => {
    const t = unwrap(text).inner;
    if (startBlock(t) !== undefined || HEAD.test(t)) return true;
    if (readStamp(t, ctx.utcOffsetMinutes) !== undefined) return true;
    return MESSAGES.some(([re]) => re.exec(t)?.index === 0);
  },
};
