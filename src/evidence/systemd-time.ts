import { localToUtc, monthNumber, parseOffset, uptimeToUtc, yearOf } from "./time.js";
import type { ParseContext } from "./types.js";

/**
 * Zone abbreviations systemd prints (`Wed 2017-03-15 11:01:59 CET`) -> minutes east of UTC. Ambiguous ones
 * list candidates: the one equal to the host's offset wins, else the first.
 */
const ZONES: Record<string, number | readonly number[]> = {
  UTC: 0,
  UT: 0,
  GMT: 0,
  Z: 0,
  WET: 0,
  WEST: 60,
  BST: 60,
  CET: 60,
  CEST: 120,
  MET: 60,
  MEST: 120,
  EET: 120,
  EEST: 180,
  MSK: 180,
  SAST: 120,
  WAT: 60,
  CAT: 120,
  EAT: 180,
  PKT: 300,
  IST: [330, 60, 120],
  HKT: 480,
  AWST: 480,
  JST: 540,
  KST: 540,
  ACST: 570,
  ACDT: 630,
  AEST: 600,
  AEDT: 660,
  NZST: 720,
  NZDT: 780,
  HST: -600,
  AKST: -540,
  AKDT: -480,
  PST: -480,
  PDT: -420,
  MST: -420,
  MDT: -360,
  CST: [-360, 480],
  CDT: -300,
  EST: -300,
  EDT: -240,
  AST: -240,
  ADT: -180,
  NST: -210,
  NDT: -150,
};

function zoneOffset(zone: string | undefined, fallback: number): number {
  if (zone === undefined) return fallback;
  const numeric = /^([+-])(\d\d)(?::?(\d\d))?$/.exec(zone);
  if (numeric) return parseOffset(`${numeric[1]}${numeric[2]}${numeric[3] ?? "00"}`) ?? fallback;
  const known = ZONES[zone.toUpperCase()];
  if (known === undefined) return fallback;
  if (typeof known === "number") return known;
  return known.includes(fallback) ? fallback : (known[0] ?? fallback);
}

function fraction(digits: string | undefined): number {
  return digits ? Math.floor(Number(`0.${digits}`) * 1000) : 0;
}

const SYSTEMD_TIME =
  /^(?:[A-Za-z]{2,3},? )?(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?: ?([A-Za-z]{1,6}|[+-]\d\d(?::?\d\d)?))?$/;

/** `Wed 2017-03-15 11:01:59 CET` -> UTC ISO; an unknown zone counts as host local time. */
export function systemdTimestamp(text: string, utcOffsetMinutes: number): string | undefined {
  const m = SYSTEMD_TIME.exec(text.trim());
  if (!m) return undefined;
  const offset = zoneOffset(m[8], utcOffsetMinutes);
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  return localToUtc(y ?? 0, mo ?? 0, d ?? 0, h ?? 0, mi ?? 0, s ?? 0, fraction(m[7]), offset);
}

export interface Prefix {
  time?: string | undefined;
  identifier?: string | undefined;
  identifierPid?: number | undefined;
  message: string;
}

/** The host field: anything without spaces that does not end in `:` (which would make it an identifier). */
const HOST = String.raw`\S*[^\s:]`;
const IDENT = String.raw`([^\s\[\]:]+)(?:\[(\d+)\])?: ?(.*)$`;
const SHORT = new RegExp(
  String.raw`^([A-Za-z\u00C0-\u024F]{3,}\.?) +(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))? ${HOST} ${IDENT}`,
);
const ISO = new RegExp(
  String.raw`^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?(Z|[+-]\d\d(?::?\d\d)?)? ${HOST} ${IDENT}`,
);
const FULL = new RegExp(
  String.raw`^([A-Za-z]{3} \d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{1,9})? \S+) ${HOST} ${IDENT}`,
);
const UNIX = new RegExp(String.raw`^(\d{9,})\.(\d{1,9}) ${HOST} ${IDENT}`);
const MONOTONIC = new RegExp(String.raw`^\[\s*(\d+\.\d+)\] ${HOST} ${IDENT}`);
const BARE = /^([^\s[\]:]+)\[(\d+)\]: ?(.*)$/;
/** systemd's lines in the kernel log: `[uptime] ident[pid]: `, alone (dmesg) or inside a syslog line. */
const RELAYED = /^\[\s*(\d+\.\d+)\] ([^\s[\]:]+)(?:\[(\d+)\])?: ?(.*)$/;

function shortTime(m: RegExpExecArray, ctx: ParseContext): string | undefined {
  const month = monthNumber(m[1] ?? "");
  if (month === undefined) return undefined;
  const fields = [Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])] as const;
  const at = (year: number) => localToUtc(year, month, ...fields, fraction(m[6]), ctx.utcOffsetMinutes);
  const year = yearOf(ctx.now);
  const guess = at(year);
  const now = ctx.now === undefined ? Number.NaN : Date.parse(ctx.now);
  // A December line read in January belongs to last year.
  if (guess !== undefined && Date.parse(guess) > now + 86_400_000) return at(year - 1);
  return guess;
}

function isoTime(m: RegExpExecArray, ctx: ParseContext): string | undefined {
  const offset = m[8] === undefined ? ctx.utcOffsetMinutes : zoneOffset(m[8], ctx.utcOffsetMinutes);
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  return localToUtc(y ?? 0, mo ?? 0, d ?? 0, h ?? 0, mi ?? 0, s ?? 0, fraction(m[7]), offset);
}

function withIdent(time: string | undefined, m: RegExpExecArray, first: number): Prefix {
  const pid = m[first + 1];
  const prefix: Prefix = { time, identifier: m[first], message: m[first + 2] ?? "" };
  if (pid !== undefined) prefix.identifierPid = Number(pid);
  const relayed = RELAYED.exec(prefix.message);
  if (relayed) {
    prefix.identifier = relayed[2];
    prefix.identifierPid = relayed[3] === undefined ? undefined : Number(relayed[3]);
    prefix.message = relayed[4] ?? "";
  }
  return prefix;
}

export function journalPrefix(text: string, ctx: ParseContext): Prefix | undefined {
  let m = ISO.exec(text);
  if (m) return withIdent(isoTime(m, ctx), m, 9);
  m = SHORT.exec(text);
  if (m) return withIdent(shortTime(m, ctx), m, 7);
  m = FULL.exec(text);
  if (m) return withIdent(systemdTimestamp(m[1] ?? "", ctx.utcOffsetMinutes), m, 2);
  m = UNIX.exec(text);
  if (m) return withIdent(new Date(Number(m[1]) * 1000 + fraction(m[2])).toISOString(), m, 3);
  m = MONOTONIC.exec(text);
  if (m) return withIdent(uptimeToUtc(Number(m[1]), ctx.bootTime), m, 2);
  m = RELAYED.exec(text);
  if (m) return withIdent(uptimeToUtc(Number(m[1]), ctx.bootTime), m, 2);
  m = BARE.exec(text);
  if (m) return withIdent(undefined, m, 1);
  return undefined;
}
