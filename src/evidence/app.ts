import { type Block, blockFields, startBlock, verdict } from "./app-blocks.js";
import { logLine, readStamp, structuredLine, syslogTime } from "./app-lines.js";
import { type AppFields, AppRecord } from "./app-schema.js";
import { gunicorn, phpFpm, uwsgi, uwsgiDated } from "./app-workers.js";
import { badBytes } from "./bad-bytes.js";
import type { LineFeeder, ParseContext, Parser, Sink } from "./types.js";
import { unwrap } from "./wrappers.js";

export { AppFrame, AppRecord, AppSignature } from "./app-schema.js";

// HotSpot -XX:+ExitOnOutOfMemoryError: `Terminating due to java.lang.OutOfMemoryError: Java heap space`, then
// exit(3).
const JVM_TERMINATING = /^Terminating due to (java\.lang\.OutOfMemoryError)(?:: (.*))?$/;

/** The one-line signatures, tried in order; undefined when the line is none of them. */
function knownLine(line: string, utcOffsetMinutes: number): AppFields | undefined {
  const j = JVM_TERMINATING.exec(line);
  if (j) {
    const summary = line.slice("Terminating due to ".length);
    return { signature: "java_oom", cause: "java_oom", errorType: j[1], summary, exitCode: 3 };
  }
  return (
    gunicorn(line) ?? phpFpm(line, utcOffsetMinutes) ?? uwsgi(line, utcOffsetMinutes) ?? structuredLine(line)
  );
}

// `journalctl -o short-iso` puts `host ident[pid]: ` after a zoned stamp, which unwrap() takes for a docker
// stamp and leaves the `host ident[pid]: ` part in place.
const LEFTOVER_JOURNAL_PREFIX = /^\S+ [\w./@-]+\[\d+\]: /;
const TAGGED_PID = /^(?:\S+\s+){1,4}?[\w./@-]+\[(\d+)\]:\s/;

interface OpenBlock extends Block {
  line: number;
  texts: string[];
  time: string | undefined;
}

function withoutUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/**
 * A backend's own log (stdout/stderr capture, log file, container or journald output of the app).
 * Crash reports become one record each, however many lines they span: Go panics and fatal errors, Java
 * exceptions and OOMs, Node heap OOMs and uncaught exceptions, Python tracebacks. gunicorn, uWSGI and
 * php-fpm worker lines, structured (logrus/JSON) lines and every line that starts with a timestamp are
 * records too (`log_line`: the facts layer needs the last line before an exit). App logs are free text:
 * other lines are skipped silently. A NUL or invalid UTF-8 byte does not hide a crash report or a line: it is
 * kept as U+FFFD; a line with one that reads as nothing known is unreadable (binary data).
 * A record without a stamp of its own takes the time of the nearest stamped line before it
 * (`timeInherited`).
 */
export const appParser: Parser<AppRecord> = {
  kind: "app",
  schema: AppRecord,
  start(ctx: ParseContext, sink: Sink<AppRecord>): LineFeeder {
    let block: OpenBlock | undefined;
    let lastTime: string | undefined;

    const emit = (line: number, text: string, fields: AppFields, inheritable: boolean): void => {
      const inherit = fields.time === undefined && inheritable && lastTime !== undefined;
      sink.record(
        withoutUndefined({
          host: ctx.host,
          source: ctx.source,
          line,
          text,
          ...fields,
          time: inherit ? lastTime : fields.time,
          timeInherited: inherit || undefined,
        }),
      );
    };

    const close = (): void => {
      const b = block;
      if (!b) return;
      block = undefined;
      while (b.lines.length > 1 && (b.lines[b.lines.length - 1] ?? "").trim() === "") {
        b.lines.pop();
        b.texts.pop();
      }
      const fields = blockFields(b);
      if (fields) {
        emit(b.line, b.texts.join("\n"), { ...fields, time: b.time }, true);
        return;
      }
      // Not a crash report after all: read its other lines again, one by one.
      b.texts.slice(1).forEach((t, i) => {
        feed(t, b.line + 1 + i);
      });
    };

    /** Reads a line outside a block; false when it said nothing (no block, no record). */
    const fresh = (
      text: string,
      readable: string,
      lineNo: number,
      inner: string,
      wrapperTime: string | undefined,
    ): boolean => {
      if (inner.trim() === "") return false;
      const kind = startBlock(inner);
      if (kind) {
        block = { kind, lines: [inner], phase: 0, line: lineNo, texts: [text], time: wrapperTime };
        return true;
      }
      // A wrapper's time (docker, journald) is the host's clock; the app's own stamp may use another zone.
      const known = knownLine(inner, ctx.utcOffsetMinutes);
      if (known) {
        const time = wrapperTime ?? known.time;
        emit(lineNo, text, { ...known, time }, true);
        if (time !== undefined) lastTime = time;
        return true;
      }
      const stamp = readStamp(inner, ctx.utcOffsetMinutes);
      const time = wrapperTime ?? stamp?.time;
      if (time === undefined) return false;
      lastTime = time;
      const rest = stamp?.time === undefined ? inner : stamp.rest;
      const fields = stamp?.shape === "ctime" && stamp.time !== undefined ? uwsgiDated(rest) : logLine(rest);
      // `stamp [LEVEL] name[pid]: msg` (syslog style, many app loggers): the pid says whose line it is.
      const tag = fields.pid === undefined ? TAGGED_PID.exec(readable) : null;
      emit(lineNo, text, { ...fields, ...(tag?.[1] ? { pid: Number(tag[1]) } : {}), time }, false);
      return true;
    };

    const feed = (raw: string, lineNo: number): void => {
      // NUL and invalid bytes are kept as U+FFFD; runs of them at the ends (padding a crash left in the file,
      // a character cut by the byte cap) are not read, so that a report or a stamp after them still is.
      const bad = badBytes(raw);
      const text = bad?.shown ?? raw;
      const readable = bad?.readable ?? raw;
      const unwrapped = unwrap(readable);
      let inner = unwrapped.inner;
      if (unwrapped.wrapperTime !== undefined) inner = inner.replace(LEFTOVER_JOURNAL_PREFIX, "");
      const wrapperTime = unwrapped.wrapperTime ?? syslogTime(readable, ctx.utcOffsetMinutes, ctx.now);
      if (block) {
        const v = verdict(block, inner);
        if (v !== "end") {
          block.lines.push(inner);
          block.texts.push(text);
          if (v === "take_and_end") close();
          return;
        }
        close();
        if (block) {
          feed(text, lineNo);
          return;
        }
      }
      if (!fresh(text, readable, lineNo, inner, wrapperTime) && bad) {
        sink.unreadable({ line: lineNo, text, reason: "binary data (NUL bytes or invalid UTF-8)" });
      }
    };

    return {
      line(text, lineNo) {
        try {
          feed(text, lineNo);
        } catch {
          sink.unreadable({ line: lineNo, text, reason: "internal parser error" });
        }
      },
      end() {
        // Closing may replay lines that open another block.
        while (block) close();
      },
    };
  },
};
