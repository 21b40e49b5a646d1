import { isAscii } from "node:buffer";
import { StringDecoder } from "node:string_decoder";
import { parseArgs } from "node:util";
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

/**
 * Feed the lines of a stream to `feeder`, split as node:readline splits them (at `\n`, `\r\n` and a lone
 * `\r`, UTF-8, an unfinished character at the very end dropped), and return how many there were. Reads
 * chunk by chunk and decodes each once (an ASCII chunk as Latin-1, which costs a copy), where readline
 * decodes, searches with a regex and emits an event per line. `afterChunk` may return a promise to wait
 * for before the next chunk is read (a full output).
 */
export async function feedLines(
  input: AsyncIterable<Buffer | string>,
  feeder: LineFeeder,
  afterChunk?: () => Promise<void> | undefined,
): Promise<number> {
  let lineNo = 0;
  /** The unfinished line so far. */
  let rest = "";
  /** The text so far ended with `\r`: a `\n` that starts the next is the same line break. */
  let sawReturn = false;
  /** Bytes after the last ASCII byte of the last chunk: maybe part of a character. */
  let carry: Buffer | undefined;
  const split = (block: string) => {
    let text = rest.length > 0 ? rest + block : block;
    let start = 0;
    if (sawReturn && text.charCodeAt(0) === 10) start = 1;
    sawReturn = false;
    if (text.indexOf("\r", start) < 0) {
      for (let nl = text.indexOf("\n", start); nl >= 0; nl = text.indexOf("\n", start)) {
        feeder.line(text.slice(start, nl), ++lineNo);
        start = nl + 1;
      }
    } else {
      for (;;) {
        const nl = text.indexOf("\n", start);
        const cr = text.indexOf("\r", start);
        if (nl < 0 && cr < 0) break;
        if (cr < 0 || (nl >= 0 && nl < cr)) {
          feeder.line(text.slice(start, nl), ++lineNo);
          start = nl + 1;
        } else {
          feeder.line(text.slice(start, cr), ++lineNo);
          if (cr + 1 === text.length) sawReturn = true;
          start = text.charCodeAt(cr + 1) === 10 ? cr + 2 : cr + 1;
        }
      }
    }
    if (start > 0) text = text.slice(start);
    rest = text;
  };
  for await (const chunk of input) {
    if (typeof chunk === "string") {
      split(chunk);
    } else {
      const bytes = carry === undefined ? chunk : Buffer.concat([carry, chunk]);
      // Decode up to the last ASCII byte: no character goes across it.
      let end = bytes.length;
      while (end > 0 && (bytes[end - 1] as number) >= 0x80) end--;
      const whole = end === bytes.length ? bytes : bytes.subarray(0, end);
      if (end > 0) split(whole.toString(isAscii(whole) ? "latin1" : "utf8"));
      carry = end === bytes.length ? undefined : Buffer.from(bytes.subarray(end));
    }
    const wait = afterChunk?.();
    if (wait !== undefined) await wait;
  }
  if (carry !== undefined) split(new StringDecoder("utf8").write(carry));
  if (rest.length > 0) feeder.line(rest, ++lineNo);
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
  // Wait for a full stdout before reading on, so that memory stays flat however big the input.
  const lineNo = await feedLines(io.stdin as AsyncIterable<Buffer | string>, feeder, () => {
    const wait = drained;
    drained = undefined;
    return wait;
  });
  feeder.end();
  flush();

  if (lineNo > 0 && records === 0 && unreadableCount > 0) {
    throw new UserError(
      "bad_input",
      `No line of the input reads as ${kind.data} (${unreadableCount} of ${lineNo} lines unreadable, first at line ${unreadable[0]?.line}).`,
      kind.data === "nginx-access"
        ? "If your access log uses a custom log_format, pass it with --format."
        : "Check that the input is the right kind.",
    );
  }
  if (unreadableCount > 0) {
    io.stderr.write(
      `why502 parse ${kind.data}: ${records} records, ${unreadableCount} of ${lineNo} lines unreadable:\n`,
    );
    for (const u of unreadable)
      io.stderr.write(`  line ${u.line}: ${u.reason}: ${JSON.stringify(u.text.slice(0, 120))}\n`);
    if (unreadableCount > unreadable.length)
      io.stderr.write(`  ... and ${unreadableCount - unreadable.length} more\n`);
  }
  return 0;
}
