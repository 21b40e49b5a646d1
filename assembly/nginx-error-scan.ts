// The nginx error log's fast path, compiled to WebAssembly (AssemblyScript): it reads a block of whole
// lines and, for each, either the head (stamp, level, pid#tid, connection), where the trailing fields start
// and the message's id, or "read this line in JavaScript". It decides nothing the JavaScript parser decides
// differently: every line it is unsure of (a wrapper, stderr text, an unusual head, a quote that may stay
// open, a resolver or stream line, a line nginx cut) goes to the JavaScript parser whole. The message and
// its action (`connect() failed (111: Connection refused) while connecting to upstream`) are looked up in a
// table of the ones seen before: most lines repeat one, so JavaScript reads each only once (src/evidence/
// nginx-error-block.ts). Nothing here allocates: the memory map below is fixed.

/** The block's bytes. */
const IN: usize = 65536;
const IN_CAP: usize = 1 << 20;
/** One row of ROW_INTS i32 per line (exported, as the row fields below). */
export const ROW_INTS: i32 = 16;
const OUT: usize = IN + IN_CAP + 64;
const ROW: usize = <usize>ROW_INTS * 4;
const MAX_ROWS: i32 = 16384;
/** The message table: open addressing, a slot is (hash, key offset in the arena, key length, id). */
const SLOTS: usize = OUT + <usize>MAX_ROWS * ROW;
const SLOT_COUNT: u32 = 8192;
const ARENA: usize = SLOTS + <usize>SLOT_COUNT * 16;
const ARENA_CAP: u32 = 2 << 20;
/** Longer messages are read in JavaScript each time. */
const MAX_KEY: u32 = 1024;
/**
 * Ids stay below this (at most half the slots are used, so a probe always ends); the table is emptied at
 * the start of a scan once it holds RESET_AT.
 */
const MAX_IDS: i32 = 4096;
const RESET_AT: i32 = 2048;

/** Row fields (i32 index), exported so that a test can check nginx-error-block.ts reads the same. */
export const R_START: i32 = 0;
export const R_END: i32 = 1;
export const R_KIND: i32 = 2;
export const R_LEVEL: i32 = 3;
export const R_PID: i32 = 4;
export const R_TID: i32 = 5;
export const R_CONN: i32 = 6;
export const R_DATE: i32 = 7;
export const R_CLOCK: i32 = 8;
export const R_MESSAGE: i32 = 9;
export const R_CORE_END: i32 = 10;
export const R_FIELDS: i32 = 11;
export const R_ID: i32 = 12;
export const R_CUT: i32 = 13;

/** Row kinds. */
export const FAST: i32 = 0;
export const SLOW: i32 = 1;
/** Not a row: the table is full, scan again (it is emptied first). */
const STOP = 2;

/** nginx cuts a line at 2048 bytes (NGX_MAX_ERROR_STR): its end may be missing (R_CUT). */
const NGINX_LINE_LIMIT: usize = 2040;

let consumedAt: i32 = 0;
let nextId: i32 = 0;
let arenaUsed: u32 = 0;
let resetCount: i32 = 0;
/** The line being scanned holds `sent in stderr: "`. */
let stderrSeen = false;
/** Where the line being scanned has its first `, client: `, `, resolver: `, `, bytes from/to client:` (0: none). */
let clientAt: usize = 0;
let resolverAt: usize = 0;
let bytesAt: usize = 0;

export function inPtr(): usize {
  return IN;
}
export function inCap(): usize {
  return IN_CAP;
}
export function outPtr(): usize {
  return OUT;
}
/** Where the last scan stopped, from IN: the start of the first line it did not read. */
export function consumed(): i32 {
  return consumedAt;
}
/** How many times the message table was emptied: ids from before mean nothing after. */
export function resets(): i32 {
  return resetCount;
}

function resetTable(): void {
  memory.fill(SLOTS, 0, <usize>SLOT_COUNT * 16);
  nextId = 0;
  arenaUsed = 0;
  resetCount++;
}

/**
 * Read the lines of IN[from, from + len): each that ends with `\n` gets a row. Returns the number of rows;
 * consumed() says where the next scan starts (a line without its `\n`, or the first line of a full table).
 */
export function scan(from: i32, len: i32): i32 {
  if (nextId >= RESET_AT || arenaUsed > ARENA_CAP / 2) resetTable();
  const end = IN + <usize>len;
  let s = IN + <usize>from;
  let n: i32 = 0;
  while (n < MAX_ROWS) {
    stderrSeen = false;
    clientAt = 0;
    resolverAt = 0;
    bytesAt = 0;
    const e = lineEnd(s, end);
    if (e >= end) break;
    const row = OUT + <usize>n * ROW;
    const kind = readLine(s, e, row);
    if (kind === STOP) break;
    store<i32>(row + R_START * 4, <i32>(s - IN));
    store<i32>(row + R_END * 4, <i32>(e - IN));
    store<i32>(row + R_KIND * 4, kind);
    n++;
    s = e + 1;
  }
  consumedAt = <i32>(s - IN);
  return n;
}

/** `sent in stderr: ` in the 16 bytes before `q` (two little-endian words). */
function isStderr(q: usize): bool {
  return load<u64>(q - 16) === 0x206e6920746e6573 && load<u64>(q - 8) === 0x203a727265647473;
}

/** A comma at `at`: the first `, client: `, `, resolver: ` and `, bytes from/to client:` of the line noted. */
function atComma(at: usize): void {
  if (clientAt !== 0) return;
  // Each compare ends before the line does: none of the bytes compared is a `\n`.
  const w = load<u64>(at);
  if (w === 0x746e65696c63202c /* , client */ && load<u16>(at + 8) === 0x203a /* :_ */) {
    clientAt = at;
  } else if (
    resolverAt === 0 &&
    w === 0x766c6f736572202c /* , resolv */ &&
    load<u32>(at + 8) === 0x203a7265
  ) {
    resolverAt = at;
  } else if (
    bytesAt === 0 &&
    w === 0x207365747962202c /* , bytes_ */ &&
    load<u64>(at + 8) === 0x206f742f6d6f7266 /* from/to_ */ &&
    load<u32>(at + 16) === 0x65696c63 /* clie */ &&
    load<u16>(at + 20) === 0x746e /* nt */ &&
    load<u8>(at + 22) === 58
  ) {
    bytesAt = at;
  }
}

/**
 * Index of the `\n` that ends the line at `p` (`end` when none), in one pass noting a `sent in stderr: "`
 * and where the trailing fields may start (atComma). A line with a head has no comma in it, so the first
 * of each from the line's start is the first from its message.
 */
function lineEnd(p: usize, end: usize): usize {
  const nl = i8x16.splat(10);
  const quote = i8x16.splat(34);
  const comma = i8x16.splat(44);
  while (p + 16 <= end) {
    const v = v128.load(p);
    let m = i8x16.bitmask(v128.or(v128.or(i8x16.eq(v, nl), i8x16.eq(v, quote)), i8x16.eq(v, comma)));
    while (m !== 0) {
      const at = p + <usize>ctz(m);
      const c = load<u8>(at);
      if (c === 10) return at;
      if (c === 44) atComma(at);
      else if (isStderr(at)) stderrSeen = true;
      m &= m - 1;
    }
    p += 16;
  }
  while (p < end) {
    const c = load<u8>(p);
    if (c === 10) return p;
    if (c === 44) atComma(p);
    else if (c === 34 && isStderr(p)) stderrSeen = true;
    p++;
  }
  return end;
}

/** Two decimal digits at `p`, -1 when they are not. */
function two(p: usize): i32 {
  const a = <u32>load<u8>(p) - 48;
  const b = <u32>load<u8>(p + 1) - 48;
  return a < 10 && b < 10 ? <i32>(a * 10 + b) : -1;
}

function isDigit(c: u32): bool {
  return c - 48 < 10;
}

/** The level at `p` followed by `] `, as its index in NginxLevel's order; -1 when none. */
function levelAt(p: usize): i32 {
  const w = load<u64>(p);
  switch (<u32>(w & 0xff)) {
    case 0x65 /* e */:
      if ((w & 0xffffffffffffff) === 0x205d726f727265) return 3; // error]_
      if ((w & 0xffffffffffffff) === 0x205d6772656d65) return 0; // emerg]_
      return -1;
    case 0x77 /* w */:
      return (w & 0xffffffffffff) === 0x205d6e726177 ? 4 : -1; // warn]_
    case 0x6e /* n */:
      return w === 0x205d656369746f6e ? 5 : -1; // notice]_
    case 0x69 /* i */:
      return (w & 0xffffffffffff) === 0x205d6f666e69 ? 6 : -1; // info]_
    case 0x63 /* c */:
      return (w & 0xffffffffffff) === 0x205d74697263 ? 2 : -1; // crit]_
    case 0x61 /* a */:
      return (w & 0xffffffffffffff) === 0x205d7472656c61 ? 1 : -1; // alert]_
    case 0x64 /* d */:
      return (w & 0xffffffffffffff) === 0x205d6775626564 ? 7 : -1; // debug]_
    default:
      return -1;
  }
}

/** Length of each level's name, in NginxLevel's order. */
function levelLength(level: i32): usize {
  return level === 5 ? 6 : level === 2 || level === 4 || level === 6 ? 4 : 5;
}

/** `key:` at `at` before `e`: lower-case letters, spaces and `/`, then a colon (nginx-error-fields.ts keyEnd). */
function isKey(at: usize, e: usize): bool {
  const limit = at + 24 < e ? at + 24 : e;
  for (let i = at; i < limit; i++) {
    const c = load<u8>(i);
    if (c === 58) return i > at;
    if (!((c >= 97 && c <= 122) || c === 32 || c === 47)) return false;
  }
  return false;
}

/** Fill the row of the line [s, e): FAST with its head, fields and message id, SLOW, or STOP. */
function readLine(s: usize, e: usize, row: usize): i32 {
  const length = e - s;
  if (length < 32 || stderrSeen) return SLOW;
  const cut = length >= NGINX_LINE_LIMIT;
  // `2026/11/25 13:19:16 [`
  if (
    load<u8>(s + 4) !== 47 ||
    load<u8>(s + 7) !== 47 ||
    load<u8>(s + 10) !== 32 ||
    load<u8>(s + 13) !== 58 ||
    load<u8>(s + 16) !== 58 ||
    load<u8>(s + 19) !== 32 ||
    load<u8>(s + 20) !== 91
  ) {
    return SLOW;
  }
  const century = two(s);
  const year = two(s + 2);
  const month = two(s + 5);
  const day = two(s + 8);
  const hour = two(s + 11);
  const minute = two(s + 14);
  const second = two(s + 17);
  if ((century | year | month | day | hour | minute | second) < 0) return SLOW;
  const level = levelAt(s + 21);
  if (level < 0) return SLOW;
  // `22593#22593: `, each number at most 9 digits
  let p = s + 21 + levelLength(level) + 2;
  let k = p;
  let pid: i32 = 0;
  while (isDigit(load<u8>(p))) {
    pid = pid * 10 + <i32>load<u8>(p) - 48;
    p++;
  }
  if (p === k || p - k > 9 || load<u8>(p) !== 35) return SLOW;
  p++;
  k = p;
  let tid: i32 = 0;
  while (isDigit(load<u8>(p))) {
    tid = tid * 10 + <i32>load<u8>(p) - 48;
    p++;
  }
  if (p === k || p - k > 9 || load<u8>(p) !== 58 || load<u8>(p + 1) !== 32) return SLOW;
  p += 2;
  // `*3 `
  let conn: i32 = -1;
  if (load<u8>(p) === 42) {
    p++;
    k = p;
    conn = 0;
    while (isDigit(load<u8>(p))) {
      conn = conn * 10 + <i32>load<u8>(p) - 48;
      p++;
    }
    if (p === k || p - k > 9 || load<u8>(p) !== 32) return SLOW;
    p++;
  }
  if (p >= e || (!cut && load<u8>(e - 1) === 36) /* a pager's $ */) return SLOW;

  // The trailing fields (nginx-error.ts fieldsStart): the first `, client: `, else the first
  // `, resolver: `, else the first `, bytes from/to client:` (noted by lineEnd).
  const fieldsAt = clientAt !== 0 ? clientAt : resolverAt !== 0 ? resolverAt : bytesAt;
  const hasFields = fieldsAt !== 0;
  const coreEnd = hasFields ? fieldsAt : e;
  if (hasFields && !cut && mayLeaveQuoteOpen(fieldsAt, e)) return SLOW;

  // The message and its action: an id in the table.
  const keyLength = <u32>(coreEnd - p);
  if (keyLength > MAX_KEY) return SLOW;
  const hash = hashOf(p, keyLength);
  let slot = hash & (SLOT_COUNT - 1);
  let id: i32 = -1;
  for (;;) {
    const at = SLOTS + <usize>slot * 16;
    const used = load<u32>(at + 12);
    if (used === 0) break;
    if (
      load<u32>(at) === hash &&
      load<u32>(at + 8) === keyLength &&
      same(ARENA + <usize>load<u32>(at + 4), p, keyLength)
    ) {
      id = <i32>used - 1;
      break;
    }
    slot = (slot + 1) & (SLOT_COUNT - 1);
  }
  if (id < 0) {
    if (nextId >= MAX_IDS || arenaUsed + keyLength > ARENA_CAP) return STOP;
    const at = SLOTS + <usize>slot * 16;
    memory.copy(ARENA + <usize>arenaUsed, p, <usize>keyLength);
    store<u32>(at, hash);
    store<u32>(at + 4, arenaUsed);
    store<u32>(at + 8, keyLength);
    id = nextId++;
    store<u32>(at + 12, <u32>id + 1);
    arenaUsed += keyLength;
  }
  store<i32>(row + R_LEVEL * 4, level);
  store<i32>(row + R_PID * 4, pid);
  store<i32>(row + R_TID * 4, tid);
  store<i32>(row + R_CONN * 4, conn);
  store<i32>(row + R_DATE * 4, ((century * 100 + year) * 100 + month) * 100 + day);
  store<i32>(row + R_CLOCK * 4, (hour * 100 + minute) * 100 + second);
  store<i32>(row + R_MESSAGE * 4, <i32>(p - s));
  store<i32>(row + R_CORE_END * 4, <i32>(coreEnd - s));
  store<i32>(row + R_FIELDS * 4, hasFields ? <i32>(fieldsAt - s) : -1);
  store<i32>(row + R_ID * 4, id);
  store<i32>(row + R_CUT * 4, cut ? 1 : 0);
  return FAST;
}

/**
 * nginx-error-fields.ts mayLeaveQuoteOpen for the fields [at, e): whether a quoted value may never close.
 * Not when they hold no quote; not when their last quote cannot open a value and ends the line or is
 * followed by `, key:`.
 */
function mayLeaveQuoteOpen(at: usize, e: usize): bool {
  let q = e - 1;
  if (load<u8>(q) !== 34) {
    while (q >= at && load<u8>(q) !== 34) q--;
    if (q < at) return false;
    if (load<u8>(q + 1) !== 44 || load<u8>(q + 2) !== 32 || !isKey(q + 3, e)) return true;
  }
  const before = load<u8>(q - 1);
  return before === 32 || before === 58;
}

function hashOf(p: usize, length: u32): u32 {
  let h: u64 = 0x9e3779b97f4a7c15 ^ <u64>length;
  let i: usize = 0;
  const n = <usize>length;
  for (; i + 8 <= n; i += 8) {
    h = (h ^ load<u64>(p + i)) * 0xff51afd7ed558ccd;
    h ^= h >> 32;
  }
  if (i < n) {
    const tail = load<u64>(p + i) & (((<u64>1) << (<u64>(n - i) * 8)) - 1);
    h = (h ^ tail) * 0xc4ceb9fe1a85ec53;
    h ^= h >> 29;
  }
  return <u32>(h ^ (h >> 32));
}

function same(a: usize, b: usize, length: u32): bool {
  const n = <usize>length;
  let i: usize = 0;
  for (; i + 8 <= n; i += 8) if (load<u64>(a + i) !== load<u64>(b + i)) return false;
  for (; i < n; i++) if (load<u8>(a + i) !== load<u8>(b + i)) return false;
  return true;
}
