import { readFileSync } from "node:fs";
import { causeNeedsTarget, classify, connectTarget, type Verdict } from "./nginx-error-causes.js";
import { NginxLevel } from "./nginx-error-head.js";
import { errnoIn, lastWhileAt } from "./nginx-error-message.js";
import { NginxErrorLine } from "./nginx-error-record.js";
import { stampToUtc } from "./nginx-error-stamp.js";
import type { EachLine, ParseContext } from "./types.js";

/**
 * The nginx error log read a block of lines at a time (feedLines for `why502 parse`, parseText for the
 * diagnosis, each for ASCII text without `\r`): the scanner (assembly/nginx-error-scan.ts, WebAssembly) reads the head of each line, where its
 * trailing fields start and which message it repeats; this turns its rows into the records the line parser
 * makes (the same NginxErrorLine, field for field) and hands every line the scanner is unsure of to the
 * line parser whole. Each distinct message and action is read once, with the line parser's own functions
 * (lastWhileAt, errnoIn, classify), and kept while the scanner's table keeps its id.
 *
 * Why WebAssembly: the JavaScript line parser runs at about 130 MB/s here however its string searches are
 * arranged (a parser doing only the head, three searches and one record reaches 270-380 MB/s), and the
 * goal is 250 MB/s; the scanner looks at 16 bytes at a time and lets JavaScript make strings only for
 * what a record holds.
 */

/**
 * Row fields, as assembly/nginx-error-scan.ts writes them (16 i32 a line): constants here, for the loop that
 * reads them; nginx-error-block.test.ts checks them against the scanner's exported globals.
 */
const ROW = 16;
const R_START = 0;
const R_END = 1;
const R_KIND = 2;
const R_LEVEL = 3;
const R_PID = 4;
const R_TID = 5;
const R_CONN = 6;
const R_DATE = 7;
const R_CLOCK = 8;
const R_MESSAGE = 9;
const R_CORE_END = 10;
const R_FIELDS = 11;
const R_ID = 12;
const R_CUT = 13;
const FAST = 0;
/** The scanner numbers a level by its place in NginxLevel. */
const LEVELS = NginxLevel.options;
export const ROW_LAYOUT = {
  ROW_INTS: ROW,
  R_START,
  R_END,
  R_KIND,
  R_LEVEL,
  R_PID,
  R_TID,
  R_CONN,
  R_DATE,
  R_CLOCK,
  R_MESSAGE,
  R_CORE_END,
  R_FIELDS,
  R_ID,
  R_CUT,
  FAST,
} as const;

/** The part of WebAssembly's JavaScript API used here (the project's lib has no WebAssembly types). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const wasm = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

interface ScannerExports {
  memory: { buffer: ArrayBuffer };
  inPtr(): number;
  inCap(): number;
  outPtr(): number;
  scan(from: number, length: number): number;
  consumed(): number;
  resets(): number;
}

interface Scanner {
  exports: ScannerExports;
  /** The scanner's memory as bytes (a Buffer, to decode a message from it). */
  memory: Buffer;
  inAt: number;
  inCap: number;
  rows: Int32Array;
}

const WASM = new URL("../../build/nginx-error-scan.wasm", import.meta.url);

/** undefined: not loaded yet; null: it could not be (the lines are then read one by one). */
let scanner: Scanner | null | undefined;

/** A block is being read: the scanner's memory is in use. */
let reading = false;

/**
 * The scanner, loaded once. Without it (a build that did not compile it) the lines are read one by one,
 * to the same records, and Node prints one warning saying what to run.
 */
function loadScanner(): Scanner | null {
  if (scanner !== undefined) return scanner;
  let bytes: Buffer;
  try {
    bytes = readFileSync(WASM);
  } catch {
    process.emitWarning(
      `the nginx error-log scanner ${WASM.pathname} is missing, so error logs are read line by line (slower): run npm run build`,
    );
    scanner = null;
    return scanner;
  }
  const instance = new wasm.Instance(new wasm.Module(bytes), {});
  const exports = instance.exports as unknown as ScannerExports;
  // The memory never grows: views made once stay valid.
  const memory = Buffer.from(exports.memory.buffer);
  scanner = {
    exports,
    memory,
    inAt: exports.inPtr(),
    inCap: exports.inCap(),
    rows: new Int32Array(exports.memory.buffer, exports.outPtr()),
  };
  return scanner;
}

/** The scanner's exported global `name` (a number), for tests. */
export function scannerGlobal(name: string): number | undefined {
  const g = (loadScanner()?.exports as unknown as Record<string, { value?: unknown }> | undefined)?.[name];
  return typeof g?.value === "number" ? g.value : undefined;
}

/** What one message with its action (`connect() failed (111: ...) while connecting to upstream`) is. */
interface Message {
  message: string;
  action: string | undefined;
  errno: number | undefined;
  errnoText: string | undefined;
  /** undefined when the cause needs the target from the line's fields (errno 2, 13, 11). */
  verdict: Verdict | undefined;
  /** An errno opened and not closed: a line cut short, unless nginx cut it or the fields follow. */
  open: boolean;
}

/** By the scanner's message id; emptied when the scanner empties its table (and reuses its ids). */
let messages: (Message | undefined)[] = [];
let resetsSeen = 0;

/** The message and action of a line, read as parseInner reads them from its message start to its fields. */
function messageOf(key: string): Message {
  const whileAt = lastWhileAt(key, 0, key.length - 1);
  const action = whileAt >= 0 ? key.slice(whileAt + 7) : undefined;
  const msgEnd = whileAt >= 0 ? whileAt : key.length;
  const message = key.slice(0, msgEnd);
  const e = errnoIn(key, 0, msgEnd);
  const found = e === "open" ? undefined : e;
  const errno = found?.errno;
  // For errno 2, 13 and 11 the cause turns on the target (a unix socket or not): known here when the
  // message names it (`connect() to unix:/run/app.sock failed`), else read from each line's fields.
  const needsTarget = causeNeedsTarget(errno);
  const target = needsTarget ? connectTarget(message) : undefined;
  const verdict =
    needsTarget && target === undefined
      ? undefined
      : classify({ message, errno, action, target, stream: false, subrequest: false });
  return { message, action, errno, errnoText: found?.text, verdict, open: e === "open" };
}

export class NginxErrorBlocks {
  readonly #ctx: ParseContext;
  readonly #record: (r: NginxErrorLine) => void;
  readonly #line: (text: string, lineNo: number) => void;
  /** The last stamp turned into a time, as the scanner gives it (yyyymmdd, hhmmss). */
  #date = -1;
  #clock = -1;
  #time = "";

  /** `record` takes each record read here; `line` each line the line parser must read. */
  constructor(
    ctx: ParseContext,
    record: (r: NginxErrorLine) => void,
    line: (text: string, lineNo: number) => void,
  ) {
    this.#ctx = ctx;
    this.#record = record;
    this.#line = line;
  }

  /**
   * Read the lines of `text[from, to)`, which `bytes` holds in the same places (ASCII), each ending with
   * `\n` and none with `\r`; the first is line `lineNo`. Returns how many lines there were. `each` is told
   * of every line, in order, once its records (or why it is unreadable) have been given.
   */
  read(bytes: Uint8Array, text: string, from: number, to: number, lineNo: number, each?: EachLine): number {
    const sc = loadScanner();
    if (reading || sc === null) return this.#byLines(text, from, to, lineNo, each);
    reading = true;
    try {
      return this.#scan(sc, bytes, text, from, to, lineNo, each);
    } finally {
      reading = false;
    }
  }

  /** A line for the line parser; then `each`. */
  #slow(text: string, lineNo: number, each: EachLine | undefined): void {
    this.#line(text, lineNo);
    each?.(text, lineNo);
  }

  /**
   * The lines one by one: without the scanner, or for a block given while another is being read (a sink
   * that reads a log of its own as it takes a record), when the scanner's memory holds the other's rows.
   */
  #byLines(text: string, from: number, to: number, lineNo: number, each: EachLine | undefined): number {
    let next = lineNo;
    for (let at = from; at < to; ) {
      const nl = text.indexOf("\n", at);
      this.#slow(text.slice(at, nl), next++, each);
      at = nl + 1;
    }
    return next - lineNo;
  }

  #scan(
    sc: Scanner,
    bytes: Uint8Array,
    text: string,
    from: number,
    to: number,
    lineNo: number,
    each: EachLine | undefined,
  ): number {
    let next = lineNo;
    let at = from;
    while (at < to) {
      let end = to;
      if (end - at > sc.inCap) {
        end = text.lastIndexOf("\n", at + sc.inCap - 1) + 1;
        if (end <= at) {
          // One line longer than the scanner holds.
          const nl = text.indexOf("\n", at);
          this.#slow(text.slice(at, nl), next++, each);
          at = nl + 1;
          continue;
        }
      }
      sc.memory.set(bytes.subarray(at, end), sc.inAt);
      const length = end - at;
      let offset = 0;
      let stalled = 0;
      while (offset < length) {
        const n = sc.exports.scan(offset, length);
        const resets = sc.exports.resets();
        if (resets !== resetsSeen) {
          messages = [];
          resetsSeen = resets;
        }
        next = this.#rows(sc, text, at, n, next, each);
        // A full table stops a scan before its first line once; the next scan empties the table first.
        stalled = n === 0 ? stalled + 1 : 0;
        if (stalled > 1) throw new Error(`the nginx error-log scanner stopped at byte ${at + offset}`);
        offset = sc.exports.consumed();
      }
      at = end;
    }
    return next - lineNo;
  }

  /** Make the records of the scanner's `n` rows for the piece of `text` at `at`; returns the next line number. */
  #rows(
    sc: Scanner,
    text: string,
    at: number,
    n: number,
    lineNo: number,
    each: EachLine | undefined,
  ): number {
    const rows = sc.rows;
    const ctx = this.#ctx;
    let next = lineNo;
    for (let k = 0; k < n; k++) {
      const r = k * ROW;
      const s = at + (rows[R_START + r] as number);
      const e = at + (rows[R_END + r] as number);
      const ln = next++;
      if (rows[R_KIND + r] !== FAST) {
        this.#slow(text.slice(s, e), ln, each);
        continue;
      }
      const id = rows[R_ID + r] as number;
      // Learned from the first line that has it since the table was last emptied.
      let m = messages[id];
      if (m === undefined) {
        // A string of its own, decoded from the scanner's copy, so that it does not keep the chunk.
        const keyAt = sc.inAt + (s - at);
        m = messageOf(
          sc.memory.toString(
            "latin1",
            keyAt + (rows[R_MESSAGE + r] as number),
            keyAt + (rows[R_CORE_END + r] as number),
          ),
        );
        messages[id] = m;
      }
      const line = text.slice(s, e);
      const cut = rows[R_CUT + r] === 1;
      const fieldsAt = rows[R_FIELDS + r] as number;
      if (m.open && !cut && fieldsAt < 0) {
        // The line parser says why it is unreadable.
        this.#slow(line, ln, each);
        continue;
      }
      const date = rows[R_DATE + r] as number;
      const clock = rows[R_CLOCK + r] as number;
      if (date !== this.#date || clock !== this.#clock) {
        const t = stampToUtc(line, ctx.utcOffsetMinutes);
        if (typeof t !== "string") {
          this.#slow(line, ln, each);
          continue;
        }
        this.#date = date;
        this.#clock = clock;
        this.#time = t;
      }
      const conn = rows[R_CONN + r] as number;
      this.#record(
        new NginxErrorLine(
          ctx.host,
          ctx.source,
          ln,
          line,
          this.#time,
          LEVELS[rows[R_LEVEL + r] as number] as NginxLevel,
          rows[R_PID + r],
          rows[R_TID + r],
          conn < 0 ? undefined : conn,
          m.message,
          m.errno,
          m.errnoText,
          m.action,
          cut,
          line,
          fieldsAt,
          undefined,
          m.verdict,
        ),
      );
      each?.(line, ln);
    }
    return next;
  }
}
