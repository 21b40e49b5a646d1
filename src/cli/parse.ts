import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { UserError } from "../errors.js";
import { parsers } from "../evidence/registry.js";
import { parseOffset } from "../evidence/time.js";
import {
  EvidenceKind,
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
  let buffer = "";
  const flush = () => {
    if (buffer) io.stdout.write(buffer);
    buffer = "";
  };
  const parser = parsers[kind.data] as Parser<RecordBase>;
  const feeder = parser.start(ctx, {
    record(r: RecordBase) {
      records++;
      buffer += `${JSON.stringify(r)}\n`;
      if (buffer.length > 65536) flush();
    },
    unreadable(u: Unreadable) {
      unreadableCount++;
      if (unreadable.length < 5) unreadable.push(u);
    },
  });
  const rl = createInterface({ input: io.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  let lineNo = 0;
  for await (const line of rl) feeder.line(line, ++lineNo);
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
