import { isAscii } from "node:buffer";
import { StringDecoder } from "node:string_decoder";
import { parseArgs } from "node:util";
import { jsonForTerminal, oneLine } from "../diagnosis/render/escape.js";
import { UserError } from "../errors.js";
import { parsers } from "../evidence/registry.js";
import { parseOffset } from "../evidence/time.js";
import {
  EvidenceKind,
  type LineFeeder,
  type ParseContext,
  type Parser,
  type RecordBase,
  type Unreadable,
} from "../evidence/types.js";
import type { Io } from "./io.js";

export const parseHelp = `Usage: why502 parse <kind> [options] < input

Reads text from stdin and prints one JSON record per line (NDJSON): what why502 sees in your logs.
Kinds: ${EvidenceKind.options.join(", ")}

Options:
  --host NAME           host name to put in records (default: local)
  --source NAME         source name to put in records (default: stdin)
  --utc-offset +HHMM    the host's offset from UTC, for local times without a zone (default: +0000)
  --boot-time ISO       the host's boot time, for raw dmesg uptime stamps
  --now ISO             the host's current time, for stamps without a year
  --format STRING       nginx-access: the log_format string (default: combined)
  --columns LIST        ps: the -o columns of headerless output (default: pid,lstart,etimes,args)
`;

/** A line longer than this (in characters) is skipped, its text dropped as it streams: 1 MiB of ASCII. */
export const MAX_LINE_LENGTH = 1 << 20;
/** How much of a skipped line is kept to show. */
const SKIPPED_SHOWN = 120;

export interface FeedOptions {
  /** Called after each chunk; may return a promise to wait for before the next chunk is read (a full output). */
  afterChunk?: () => Promise<void> | undefined;
  /** Lines longer than this many characters are skipped (default MAX_LINE_LENGTH). */
  maxLineLength?: number;
  /** Told of each skipped line: its number and its first characters. */
  overlong?: (lineNo: number, start: string) => void;
}

/** A copy of the first characters of `s[from, end)` that does not keep `s` (a slice would). */
function startOf(s: string, from = 0, end = s.length): string {
  return Array.from(s.slice(from, Math.min(end, from + SKIPPED_SHOWN))).join("");
}

/** Index of the first `\n` or `\r` in a chunk from `from`, -1 when none. */
function lineBreakIn(chunk: Buffer | string, from: number): number {
  const text = typeof chunk === "string";
  const nl = text ? chunk.indexOf("\n", from) : chunk.indexOf(0x0a, from);
  const cr = text ? chunk.indexOf("\r", from) : chunk.indexOf(0x0d, from);
  return cr < 0 || (nl >= 0 && nl < cr) ? nl : cr;
}

/**
 * Feed the lines of a stream to `feeder`, split as node:readline splits them (at `\n`, `\r\n` and a lone
 * `\r`, UTF-8, an unfinished character at the very end dropped), and return how many there were. Reads
 * chunk by chunk and decodes each once (an ASCII chunk as Latin-1, which costs a copy), where readline
 * decodes, searches with a regex and emits an event per line. A line longer than `maxLineLength` is not
 * fed: it is told to `overlong` and its text is dropped as it streams, so memory stays bounded by that
 * length and a chunk however long the line.
 */
export async function feedLines(
  input: AsyncIterable<Buffer | string>,
  feeder: LineFeeder,
  options: FeedOptions = {},
): Promise<number> {
  const max = options.maxLineLength ?? MAX_LINE_LENGTH;
  let lineNo = 0;
  /** The unfinished line so far. */
  let rest = "";
  /** The text so far ended with `\r`: a `\n` that starts the next is the same line break. */
  let sawReturn = false;
  /** Bytes after the last ASCII byte of the last chunk: maybe part of a character. */
  let carry: Buffer | undefined;
  /** In a line longer than `max`: what follows is dropped up to its end. */
  let skipping = false;
  let skippedStart = "";
  const overlong = (start: string) => {
    lineNo++;
    options.overlong?.(lineNo, start);
  };
  /** Where the text after the line break at `at` starts (`\r\n` is one break). */
  const after = (text: string, at: number): number => {
    if (text.charCodeAt(at) !== 13) return at + 1;
    if (at + 1 === text.length) {
      sawReturn = true;
      return at + 1;
    }
    return text.charCodeAt(at + 1) === 10 ? at + 2 : at + 1;
  };
  const split = (block: string) => {
    if (block.length === 0) return;
    let start = 0;
    if (sawReturn && block.charCodeAt(0) === 10) start = 1;
    sawReturn = false;
    const hasReturn = block.indexOf("\r", start) >= 0;
    if (rest.length > 0) {
      // The first line break ends the unfinished line: join only that line, not the whole block.
      const brk = lineBreakIn(block, start);
      if (brk < 0) {
        rest += start === 0 ? block : block.slice(start);
        if (rest.length > max) {
          skippedStart = startOf(rest);
          rest = "";
          skipping = true;
        }
        return;
      }
      if (rest.length + brk - start > max) overlong(startOf(rest + startOf(block, start, brk)));
      else feeder.line(rest + block.slice(start, brk), ++lineNo);
      rest = "";
      start = after(block, brk);
    }
    if (!hasReturn) {
      for (let nl = block.indexOf("\n", start); nl >= 0; nl = block.indexOf("\n", start)) {
        if (nl - start > max) overlong(startOf(block, start, nl));
        else feeder.line(block.slice(start, nl), ++lineNo);
        start = nl + 1;
      }
    } else {
      for (let brk = lineBreakIn(block, start); brk >= 0; brk = lineBreakIn(block, start)) {
        if (brk - start > max) overlong(startOf(block, start, brk));
        else feeder.line(block.slice(start, brk), ++lineNo);
        start = after(block, brk);
      }
    }
    rest = start === 0 ? block : block.slice(start);
    if (rest.length > max) {
      skippedStart = startOf(rest);
      rest = "";
      skipping = true;
    }
  };
  /**
   * `split` for a feeder that reads blocks: an ASCII chunk without `\r` (`bytes`, decoded as `block`),
   * no longer than a line may be. Its first line (which may end the unfinished one) and its unfinished
   * end go through split; the whole lines between go to the feeder in one call.
   */
  const splitBlock = (bytes: Buffer, block: string, read: NonNullable<LineFeeder["block"]>) => {
    const first = block.indexOf("\n");
    // The bytes' lastIndexOf (memrchr): V8's String lastIndexOf is slow. Both count the same (ASCII).
    const last = bytes.lastIndexOf(0x0a);
    if (first < 0) {
      split(block);
      return;
    }
    split(block.slice(0, first + 1));
    if (last > first) lineNo += read.call(feeder, bytes, block, first + 1, last + 1, lineNo + 1);
    split(block.slice(last + 1));
  };
  for await (const chunk of input) {
    let from = 0;
    if (skipping) {
      // Drop the over-long line's text up to its end.
      const end = lineBreakIn(chunk, 0);
      if (end >= 0) {
        skipping = false;
        overlong(skippedStart);
        skippedStart = "";
        from = end + 1;
        if (chunk[end] === "\r" || chunk[end] === 0x0d) {
          if (from === chunk.length) sawReturn = true;
          else if (chunk[from] === "\n" || chunk[from] === 0x0a) from++;
        }
      }
    }
    if (!skipping) {
      if (typeof chunk === "string") {
        split(from === 0 ? chunk : chunk.slice(from));
      } else {
        const part = from === 0 ? chunk : chunk.subarray(from);
        const bytes = carry === undefined ? part : Buffer.concat([carry, part]);
        // Decode up to the last ASCII byte: no character goes across it.
        let end = bytes.length;
        while (end > 0 && (bytes[end - 1] as number) >= 0x80) end--;
        const whole = end === bytes.length ? bytes : bytes.subarray(0, end);
        if (end > 0) {
          const ascii = isAscii(whole);
          const text = whole.toString(ascii ? "latin1" : "utf8");
          if (ascii && feeder.block !== undefined && whole.length <= max && whole.indexOf(0x0d) < 0) {
            splitBlock(whole, text, feeder.block);
          } else {
            split(text);
          }
        }
        carry = end === bytes.length || skipping ? undefined : Buffer.from(bytes.subarray(end));
      }
    }
    const wait = options.afterChunk?.();
    if (wait !== undefined) await wait;
  }
  if (carry !== undefined) split(new StringDecoder("utf8").write(carry));
  if (skipping) overlong(skippedStart);
  else if (rest.length > 0) feeder.line(rest, ++lineNo);
  return lineNo;
}

export async function runParse(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      host: { type: "string", default: "local" },
      source: { type: "string", default: "stdin" },
      "utc-offset": { type: "string", default: "+0000" },
      "boot-time": { type: "string" },
      now: { type: "string" },
      format: { type: "string" },
      columns: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    io.stdout.write(parseHelp);
    return 0;
  }
  const kindArg = positionals[0];
  if (!kindArg)
    throw new UserError(
      "usage",
      "parse needs a kind, e.g. `why502 parse nginx-error < error.log`.",
      `Kinds: ${EvidenceKind.options.join(", ")}.`,
    );
  const kind = EvidenceKind.safeParse(kindArg);
  if (!kind.success) {
    throw new UserError("usage", `Unknown kind "${kindArg}": use one of ${EvidenceKind.options.join(", ")}.`);
  }
  const offset = parseOffset(values["utc-offset"]);
  if (offset === undefined) {
    throw new UserError(
      "usage",
      `--utc-offset "${values["utc-offset"]}" is not an offset: write it like +0100 or -05:30.`,
    );
  }
  for (const [flag, v] of [
    ["--boot-time", values["boot-time"]],
    ["--now", values.now],
  ] as const) {
    if (v !== undefined && Number.isNaN(Date.parse(v))) {
      throw new UserError(
        "usage",
        `${flag} "${v}" is not a time: write it in ISO 8601, like 2026-11-25T12:00:00Z.`,
      );
    }
  }
  const options: Record<string, string> = {};
  if (values.format !== undefined) options.format = values.format;
  if (values.columns !== undefined) options.columns = values.columns;
  const ctx: ParseContext = {
    host: values.host,
    source: values.source,
    utcOffsetMinutes: offset,
    bootTime: values["boot-time"],
    now: values.now,
    options,
  };

  let records = 0;
  const unreadable: Unreadable[] = [];
  let unreadableCount = 0;
  // Records go out about 64 kB at a time, joined once (adding each to a growing string costs more).
  let pending: string[] = [];
  let pendingLength = 0;
  let drained: Promise<void> | undefined;
  const flush = () => {
    if (pending.length === 0) return;
    const out = `${pending.join("\n")}\n`;
    pending = [];
    pendingLength = 0;
    if (!io.stdout.write(out) && drained === undefined) {
      drained = new Promise((resolve) => io.stdout.once("drain", resolve));
    }
  };
  const parser = parsers[kind.data] as Parser<RecordBase>;
  const feeder = parser.start(ctx, {
    record(r: RecordBase) {
      records++;
      const json = JSON.stringify(r);
      pending.push(json);
      pendingLength += json.length;
      if (pendingLength > 65536) flush();
    },
    unreadable(u: Unreadable) {
      unreadableCount++;
      if (unreadable.length < 5) unreadable.push(u);
    },
  });
  // Lines too long to read: counted as unreadable, their text dropped as it streams.
  const skipped: Unreadable[] = [];
  let skippedCount = 0;
  // Wait for a full stdout before reading on, so that memory stays flat however big the input.
  const lineNo = await feedLines(io.stdin as AsyncIterable<Buffer | string>, feeder, {
    afterChunk: () => {
      const wait = drained;
      drained = undefined;
      return wait;
    },
    overlong: (line, start) => {
      skippedCount++;
      if (skipped.length < 5) {
        skipped.push({ line, text: start, reason: `longer than ${MAX_LINE_LENGTH} characters, skipped` });
      }
    },
  });
  feeder.end();
  flush();

  unreadableCount += skippedCount;
  const shown = [...unreadable, ...skipped].sort((a, b) => a.line - b.line).slice(0, 5);
  if (lineNo > 0 && records === 0 && unreadableCount > 0) {
    throw new UserError(
      "bad_input",
      `No line of the input reads as ${kind.data} (${unreadableCount} of ${lineNo} lines unreadable, first at line ${shown[0]?.line}).`,
      skippedCount > 0
        ? `${skippedCount} of them are longer than ${MAX_LINE_LENGTH} characters (1 MiB): split or cut such lines to read them.`
        : kind.data === "nginx-access"
          ? "If your access log uses a custom log_format, pass it with --format."
          : "Check that the input is the right kind.",
    );
  }
  if (unreadableCount > 0) {
    io.stderr.write(
      `why502 parse ${kind.data}: ${records} records, ${unreadableCount} of ${lineNo} lines unreadable:\n`,
    );
    for (const u of shown)
      io.stderr.write(
        `  line ${u.line}: ${oneLine(u.reason)}: ${jsonForTerminal(JSON.stringify(u.text.slice(0, 120)))}\n`,
      );
    if (unreadableCount > shown.length) io.stderr.write(`  ... and ${unreadableCount - shown.length} more\n`);
  }
  if (skippedCount > 0) {
    io.stderr.write(
      `why502 parse ${kind.data}: skipped ${skippedCount} line${skippedCount === 1 ? "" : "s"} longer than ${MAX_LINE_LENGTH} characters (1 MiB) without reading them; split or cut such lines (e.g. \`cut -c1-65536\`) to read them.\n`,
    );
  }
  return 0;
}
