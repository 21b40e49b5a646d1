import { plainRecord } from "./nginx-error-record.js";
import { parseText } from "./run.js";
import type { LineFeeder, ParseContext, Parser, RecordBase, Sink, Unreadable } from "./types.js";

/**
 * What a kind knows about fragments of its lines: people paste lines cut at either end, without their
 * head (stamp, level, pid), behind a container runtime's prefix, wrapped over two lines, or with spaces a
 * translation put into fixed tokens (`connect ()`, `unix: /path`). The kind's own parser reads whole
 * lines, fast and strict; this reads what it could not.
 */
export interface FragmentReader<R extends RecordBase> {
  /** The record says what the kind is read for (a cause, the key field). */
  strong(record: R): boolean;
  /**
   * The parser's record of a whole line needs no second look: strong, and nothing in its text says it
   * was read from a fragment (a runtime's prefix, a cut carrier). Default: `strong`.
   */
  complete?(record: R): boolean;
  /**
   * A strong record from a line the parser could not read, or read without what `strong` wants; undefined
   * when the fragment holds nothing more. `text` may be two wrapped lines joined by a space.
   */
  read(text: string, lineNo: number, ctx: ParseContext): R | undefined;
  /**
   * Free-text logs: the parser says nothing about lines it does not know, so the reader is asked about
   * those too (it must then know better than to read a line that belongs to a multi-line report).
   */
  readsSilent?: boolean;
  /**
   * With `readsSilent`: a line the parser said nothing about that may be the first half of a wrapped
   * line (a head without its message, an open quote), so the next line is tried as its rest.
   */
  joinable?(text: string): boolean;
  /** The line starts a record of its own (it has the kind's head): it continues no wrapped line. */
  startsRecord(text: string, ctx: ParseContext): boolean;
  /**
   * The fields a line's text says outright (not derived from others, never made up to complete a
   * fragment): joining two lines must lose none of the first's and contradict none of the second's.
   * Default: every field but the line, text, message and time.
   */
  fields?: readonly string[];
}

const NONE: never[] = [];
const NOT_BLANK = /\S/;

type Said<R> = { record: R; unreadable?: undefined } | { record?: undefined; unreadable: Unreadable };

const lineOf = <R extends RecordBase>(s: Said<R>): number => s.record?.line ?? s.unreadable?.line ?? 0;

interface Held<R> {
  /** The line as read, wrapped lines joined with a space. */
  flat: string;
  text: string;
  lineNo: number;
  /** What was said about the line (its records, or why it is unreadable). */
  said: Said<R>[];
}

/** Fields that differ between readings of the same line without contradicting them. */
const LOOSE = new Set(["line", "text", "message", "time"]);

function said(r: RecordBase, fields: readonly string[] | undefined): [string, unknown][] {
  const all = Object.entries(plainRecord(r)).filter(([k, v]) => v !== undefined && !LOOSE.has(k));
  return fields === undefined ? all : all.filter(([k]) => fields.includes(k));
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** `got` has every field `want` has (joining lost nothing); objects field by field. */
function has(got: unknown, want: unknown): boolean {
  if (got === undefined) return false;
  if (!isObject(want) || !isObject(got)) return true;
  return Object.entries(want).every(([k, v]) => v === undefined || has(got[k], v));
}

/** `got` says nothing against `want`: equal where both have a value; objects field by field. */
function fits(got: unknown, want: unknown): boolean {
  if (got === undefined || want === undefined) return true;
  if (isObject(want) && isObject(got)) return Object.entries(want).every(([k, v]) => fits(got[k], v));
  return JSON.stringify(got) === JSON.stringify(want);
}

/** How much a record says: its fields with a value, those of its objects counted one by one. */
function size(v: unknown): number {
  if (!isObject(v)) return v === undefined ? 0 : 1;
  return Object.values(plainRecord(v)).reduce((n: number, x) => n + size(x), 0);
}

/** `r` has every field `before` has. */
function covers(r: RecordBase, before: RecordBase, fields: readonly string[] | undefined): boolean {
  const got = r as unknown as Record<string, unknown>;
  return said(before, fields).every(([k, v]) => has(got[k], v));
}

/** `r` says nothing against what `alone` said (a fragment read by itself, whose head was made up). */
function agrees(r: RecordBase, alone: RecordBase, fields: readonly string[] | undefined): boolean {
  const got = r as unknown as Record<string, unknown>;
  return said(alone, fields).every(([k, v]) => fits(got[k], v));
}

/** A line that ends inside brackets, parentheses or quotes it opened was cut before its end. */
function openEnded(text: string): boolean {
  let square = -1;
  let closeSquare = -1;
  let round = -1;
  let closeRound = -1;
  let quotes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 91 /* [ */) {
      // A colour code (`\u001b[36m`, or its remnant `[0m`) opens nothing.
      let k = i + 1;
      while (k < text.length && /[0-9;]/.test(text[k] ?? "")) k++;
      if (k < text.length && text.charCodeAt(k) === 109 /* m */ && k > i + 1) i = k;
      else square = i;
    } else if (c === 93) closeSquare = i;
    else if (c === 40) round = i;
    else if (c === 41) closeRound = i;
    else if (c === 34) quotes++;
  }
  return square > closeSquare || round > closeRound || quotes % 2 === 1;
}

/** The reader's answer; a reader that throws has read nothing (parsers never throw on input). */
function attempt<R>(f: () => R | undefined): R | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

/**
 * The kind's parser, with fragments read too. A line the parser found unreadable, or read without a cause
 * (or key field), is given to the reader. A line without the kind's head is tried as the rest of the line
 * before it (a wrapped line): when the two read as one with the cause, losing nothing the first said and
 * contradicting nothing the second said alone, they become one record (its `text` both lines, joined
 * with `\n`). Whole lines are the parser's alone, and what it says passes on unchanged, one line later.
 */
export function withFragments<R extends RecordBase>(core: Parser<R>, reader: FragmentReader<R>): Parser<R> {
  return {
    kind: core.kind,
    schema: core.schema,
    start(ctx: ParseContext, sink: Sink<R>): LineFeeder {
      let said: Said<R>[] = [];
      const feeder = core.start(ctx, {
        record: (record) => said.push({ record }),
        unreadable: (unreadable) => said.push({ unreadable }),
      });
      let held: Held<R> | undefined;
      const pass = (items: readonly Said<R>[]) => {
        for (const s of items) {
          if (s.record) sink.record(s.record);
          else if (s.unreadable) sink.unreadable(s.unreadable);
        }
      };
      const isStrong = (r: R) => reader.strong(r);
      const isComplete = reader.complete ?? reader.strong;
      const strongOf = (items: readonly Said<R>[]): R | undefined => {
        for (const s of items) if (s.record && isStrong(s.record)) return s.record;
        return undefined;
      };
      const flush = () => {
        if (held) pass(held.said);
        held = undefined;
      };
      /**
       * The previous line and this one read as one, when that loses nothing the previous line said and
       * contradicts nothing this one said alone. A line with a head of its own continues only a line the
       * parser could not read at all (a wrapper alone on its line), and only when joining keeps all it says.
       */
      const joined = (h: Held<R>, text: string, alone: R | undefined, silent: boolean): R | undefined => {
        if (h.said.length === 0 && !(reader.readsSilent && attempt(() => reader.joinable?.(h.text)) === true))
          return;
        const before = strongOf(h.said);
        // Two lines each whole by itself are two records (the common case; also `journalctl -o cat`, a
        // console capture); a line the parser says nothing about after a whole one is another program's.
        if (before !== undefined && isComplete(before) && (alone !== undefined || silent)) return;
        const heads = attempt(() => reader.startsRecord(text, ctx)) !== false;
        if (heads) {
          // A line of its own continues only the cut start of one (a wrapper, a stamp) that has no head.
          // (The cheap tests first: most lines before one with a head have a head themselves.)
          if (before !== undefined || attempt(() => reader.startsRecord(h.flat, ctx)) !== false) return;
          if (!h.said.every((s) => s.unreadable) && !openEnded(h.flat)) return;
        }
        const sep = /\s$/.test(h.flat) || /^\s/.test(text) ? "" : " ";
        const both = `${h.flat}${sep}${text}`;
        const usable = (r: R | undefined): r is R =>
          r !== undefined &&
          isStrong(r) &&
          (before === undefined ||
            (covers(r, before, reader.fields) && (!isComplete(before) || size(r) > size(before)))) &&
          (alone === undefined ||
            (size(r) >= size(alone) &&
              (heads ? covers(r, alone, undefined) : agrees(r, alone, reader.fields))));
        const whole = attempt(() => parseText(core, both, ctx).records.find(isStrong));
        let r = whole && isComplete(whole) ? whole : undefined;
        if (!usable(r)) r = attempt(() => reader.read(both, h.lineNo, ctx));
        if (!usable(r)) r = whole;
        return usable(r) ? { ...plainRecord(r), line: h.lineNo, text: `${h.text}\n${text}` } : undefined;
      };
      /** The rest of `line`, once the parser has said what it says of the line (in `said`). */
      const after = (text: string, lineNo: number) => {
        const now = said;
        // Most lines say one thing about themselves.
        const single = now.length === 1 && lineOf(now[0] as Said<R>) === lineNo;
        const mine = single ? now : now.filter((s) => lineOf(s) === lineNo);
        const others = single ? NONE : now.filter((s) => lineOf(s) !== lineNo);
        if (!NOT_BLANK.test(text)) {
          // A blank line ends nothing and continues nothing; what the parser said passes on.
          flush();
          pass(now);
          return;
        }
        let alone = strongOf(mine);
        let fromReader: R | undefined;
        const silent = mine.length === 0 && others.length === 0;
        if (
          (mine.length > 0 || (silent && reader.readsSilent)) &&
          (alone === undefined || !isComplete(alone))
        ) {
          const r = attempt(() => reader.read(text, lineNo, ctx));
          // Against the parser's own strong reading, the fragment's must say at least as much.
          if (r && isStrong(r) && (alone === undefined || size(r) >= size(alone))) alone = fromReader = r;
        }
        if (held) {
          const both = joined(held, text, alone, silent);
          if (both) {
            held.said = [{ record: both }];
            held.flat = `${held.flat}${/\s$/.test(held.flat) || /^\s/.test(text) ? "" : " "}${text}`;
            held.text = both.text;
            pass(others);
            return;
          }
        }
        flush();
        pass(others);
        const own: Said<R>[] = fromReader ? [{ record: fromReader }] : mine;
        held = { flat: text, text, lineNo, said: own };
      };
      const wrapped: LineFeeder = {
        line(text, lineNo) {
          said = [];
          feeder.line(text, lineNo);
          after(text, lineNo);
        },
        end() {
          said = [];
          feeder.end();
          flush();
          pass(said);
        },
      };
      const block = feeder.block;
      if (block !== undefined) {
        // The parser's block, with this one's look at each line as it goes: what `line` does, line by line.
        wrapped.block = (bytes, text, from, to, lineNo) => {
          said = [];
          return block.call(feeder, bytes, text, from, to, lineNo, (t, n) => {
            after(t, n);
            said = [];
          });
        };
      }
      return wrapped;
    },
  };
}
