import type { FragmentReader } from "../fragment.js";
import { parseText } from "../run.js";
import type { ParseContext } from "../types.js";
import { unwrapRuntime } from "../wrappers.js";
import { type SupervisordRecord, supervisordParser } from "./supervisord.js";

/**
 * supervisord's lines as people paste them: its log cut before or inside the stamp (`INFO exited:
 * checkout (exit status 1; not expected)`, or just the message), cut after what says the program's fate,
 * behind a runtime's prefix, indented, or wrapped; `supervisorctl status` rows indented. A fragment
 * without its stamp is read with a made-up one that is never reported as its time.
 */

const SYNTHETIC = "2000-01-01 00:00:00,000";
const LEVEL = /(?:^|\s)(CRIT|ERRO|WARN|INFO|DEBG|TRAC|BLAT) (?=\S)/;
const MESSAGE =
  /(?:spawned: '|success: \S+ entered|(?:exited|stopped): \S+ \(|gave up: \S+ entered|spawnerr: )/;
const GAVE_UP = /^(.* gave up: \S+ entered FATAL state)(?!, too many start retries too quickly$)/;
/** A half-written `; not expected)` at the end of a cut exit line. */
const CUT_EXPECTED =
  /;(?: n(?:o(?:t(?: (?:e(?:x(?:p(?:e(?:c(?:t(?:e(?:d)?)?)?)?)?)?)?)?)?)?)?| e(?:x(?:p(?:e(?:c(?:t(?:e(?:d)?)?)?)?)?)?)?)?$/;

function one(text: string, ctx: ParseContext): SupervisordRecord | undefined {
  return parseText(supervisordParser, text, ctx).records.find((r) => r.cause !== undefined);
}

/**
 * A log line cut after what says the program's fate: `gave up: typo entered FATAL state` (the rest is
 * fixed words), `exited: native (terminated by SIGSEGV (core dumped)` (a half-written `; not expec`
 * dropped, parentheses closed).
 */
function mended(line: string): string | undefined {
  const gaveUp = GAVE_UP.exec(line);
  if (gaveUp?.[1]) return `${gaveUp[1]}, too many start retries too quickly`;
  if (!/ (?:exited|stopped): \S+ \(/.test(line)) return undefined;
  const s = line.replace(CUT_EXPECTED, "").trimEnd();
  const open = (s.match(/\(/g) ?? []).length - (s.match(/\)/g) ?? []).length;
  return open > 0 ? s + ")".repeat(open) : undefined;
}

function oneMended(line: string, ctx: ParseContext): SupervisordRecord | undefined {
  const m = mended(line);
  return one(line, ctx) ?? (m === undefined ? undefined : one(m, ctx));
}

function read(text: string, lineNo: number, ctx: ParseContext): SupervisordRecord | undefined {
  const inner = unwrapRuntime(text.trim()).inner.trim();
  const whole = oneMended(inner, ctx);
  if (whole) return { ...whole, line: lineNo, text };
  const m = MESSAGE.exec(inner);
  if (!m) return undefined;
  const level = LEVEL.exec(inner.slice(0, m.index))?.[1] ?? "INFO";
  const r = oneMended(`${SYNTHETIC} ${level} ${inner.slice(m.index)}`, ctx);
  if (!r) return undefined;
  const out: SupervisordRecord = { ...r, line: lineNo, text };
  delete out.time;
  return out;
}

export const supervisordFragments: FragmentReader<SupervisordRecord> = {
  strong: (r) => r.cause !== undefined,
  complete: (r) => r.cause !== undefined && unwrapRuntime(r.text).inner === r.text,
  read,
  // A status row is supervisorctl's columns (`%-32s %-10s %s`): a word wrapped onto a line of its own
  // before `FATAL state` is none.
  startsRecord: (text, ctx) => {
    const t = unwrapRuntime(text.trim()).inner;
    const r = parseText(supervisordParser, t, ctx).records[0];
    return r !== undefined && (r.entry === "log" || /^\S{32,} |^\S+ {2,}/.test(t));
  },
  fields: ["pid", "exitCode", "signal", "coreDumped"],
};
