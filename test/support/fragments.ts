import fc from "fast-check";
import { parsers } from "../../src/evidence/registry.js";
import { parseText } from "../../src/evidence/run.js";
import type { CauseId, EvidenceKind, ParseContext, Parser, RecordBase } from "../../src/evidence/types.js";

/**
 * Fragments of real log lines, as people paste them: cut at either end, without the head (stamp, level,
 * pid), behind a container runtime's prefix, wrapped over two lines, with the spaces a translation or a
 * chat client puts into fixed tokens, indented. Each variant says which part of the original line it
 * kept whole (`kept`), so a check asserts only what is still there; the part that says the cause (`span`)
 * is never cut. The arbitraries are exported so that a longer run can use them with more runs or seeds.
 */

/**
 * How a case's text may be varied: free log lines, table rows, multi-line reports, JSON, configuration,
 * and why502's own machine output (read as sent, never pasted: only a CR the transport may add).
 */
export type Family = "line" | "table" | "block" | "json" | "conf" | "exact";

/** A value the whole line yields and where in the line it is written; asserted when kept whole. */
export interface Field {
  /** A record path: `pid`, `upstream`, `vars.upstream_addr`. */
  path: string;
  value: unknown;
  range: readonly [number, number];
}

export interface Case {
  /** Fixture path relative to src/evidence, and the line's number in it. */
  where: string;
  kind: EvidenceKind;
  ctx: ParseContext;
  family: Family;
  /** The line (line, table, conf families) or the record's lines joined with `\n` (block, json). */
  line: string;
  /** Lines that stay around the variant: a table's header, the rest of a configuration. */
  before: readonly string[];
  after: readonly string[];
  cause: CauseId | undefined;
  /** What says the cause (or the key field), [start, end) in `line`: variants never cut into it. */
  span: readonly [number, number];
  fields: readonly Field[];
  /** conf: the values to compare, from any record of the parse (the upstream's servers). */
  compare?: (records: readonly RecordBase[]) => unknown;
  expected?: unknown;
}

export interface Variant {
  name: string;
  lines: string[];
  /** The part of `line`, [start, end), that the variant still holds whole (maybe re-spaced or wrapped). */
  kept: readonly [number, number];
}

/** Container runtimes' prefixes: containerd/CRI-O log files, compose, `docker logs --timestamps`. */
export type Runtime = "cri" | "compose" | "docker" | "indent";
export const RUNTIMES: readonly Runtime[] = ["cri", "compose", "docker", "indent"];

const DEFAULT_WRAPPER_TIME = "2026-11-25T12:00:00.123456789Z";

/** The wrapper stamp a runtime would have written for a line logged at `time` (UTC ISO). */
function wrapperStamp(time: string | undefined): string {
  return time === undefined ? DEFAULT_WRAPPER_TIME : time.replace(/(?:\.\d+)?Z$/, ".123456789Z");
}

export function prefixed(runtime: Runtime, text: string, time: string | undefined): string {
  switch (runtime) {
    case "cri":
      return `${wrapperStamp(time)} stderr F ${text}`;
    case "compose":
      return `web-1  | ${text}`;
    case "docker":
      return `${wrapperStamp(time)} ${text}`;
    case "indent":
      return `    ${text}`;
  }
}

/**
 * Spaces a translation or a chat client puts into fixed tokens: `connect ()`, `unix: /path`,
 * `1706 # 1706`, `* 795218`, `(111 : Connection refused)`, `(pid: 19489)`.
 */
const SPACINGS: ReadonlyArray<readonly [RegExp, string]> = [
  [/(\w)\(\)/g, "$1 ()"],
  [/unix:\//g, "unix: /"],
  [/(\d)#(\d)/g, "$1 # $2"],
  [/(^|\s)\*(\d)/g, "$1* $2"],
  [/\((\d+): ([A-Z])/g, "($1 : $2"],
  [/\(pid:(\d)/g, "(pid: $1"],
];

export function spaced(text: string): string {
  let s = text;
  for (const [re, to] of SPACINGS) s = s.replace(re, to);
  return s;
}

export function hasSpacing(text: string): boolean {
  return spaced(text) !== text;
}

/** Indices of the spaces in `s` from `from` to `to`. */
function spacesIn(s: string, from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = s.indexOf(" ", from); i >= 0 && i < to; i = s.indexOf(" ", i + 1)) out.push(i);
  return out;
}

/** At most `n` items, spread over the list, first and last included. */
function spread<T>(items: readonly T[], n: number): T[] {
  if (items.length <= n) return [...items];
  const out: T[] = [];
  for (let k = 0; k < n; k++) {
    const item = items[Math.round((k * (items.length - 1)) / (n - 1))];
    if (item !== undefined && !out.includes(item)) out.push(item);
  }
  return out;
}

/** Split at the space at `p`: the space becomes the newline, or stays at the end of the first line. */
function wrapAt(s: string, p: number, keepSpace: boolean): string[] {
  return [s.slice(0, keepSpace ? p + 1 : p), s.slice(p + 1)];
}

/** Spaces a line can be wrapped at: with words on both sides (a wrap leaves no blank line). */
function wrapPoints(s: string, from: number, to: number): number[] {
  return spacesIn(s, from, to).filter((p) => s.slice(0, p).trim() !== "" && s.slice(p + 1).trim() !== "");
}

function timeOf(c: Case): string | undefined {
  const t = c.fields.find((f) => f.path === "time")?.value;
  return typeof t === "string" ? t : undefined;
}

/** The fixed variants of a line-family case: each kind of fragment at its telling places. */
function lineVariants(c: Case): Variant[] {
  const s = c.line;
  const [start, end] = c.span;
  const len = s.length;
  const out: Variant[] = [{ name: "whole", lines: [s], kept: [0, len] }];
  // Without its head: from each word before the cause (no stamp, `[error] ...`, `*N ...`, the message).
  const heads = [...spacesIn(s, 0, start).map((i) => i + 1), start].filter((b, i, a) => a.indexOf(b) === i);
  for (const b of spread(heads, 5)) out.push({ name: `from ${b}`, lines: [s.slice(b)], kept: [b, len] });
  // Cut at the end: right after the cause, between fields, inside the last word.
  const tails = [end, ...spacesIn(s, end, len).map((i) => i + 1), len - 1].filter(
    (b, i, a) => b <= len && b >= end && a.indexOf(b) === i,
  );
  for (const b of spread(tails, 4)) out.push({ name: `to ${b}`, lines: [s.slice(0, b)], kept: [0, b] });
  const firstHead = heads[0] ?? start;
  out.push({ name: "both ends", lines: [s.slice(firstHead, end)], kept: [firstHead, end] });
  for (const r of RUNTIMES) {
    out.push({ name: `${r} prefix`, lines: [prefixed(r, s, timeOf(c))], kept: [0, len] });
    out.push({
      name: `${r} prefix, from ${start}`,
      lines: [prefixed(r, s.slice(start), undefined)],
      kept: [start, len],
    });
  }
  spread(wrapPoints(s, 0, len), 6).forEach((p, i) => {
    out.push({ name: `wrapped at ${p}`, lines: wrapAt(s, p, i % 2 === 1), kept: [0, len] });
  });
  if (hasSpacing(s)) {
    out.push({ name: "re-spaced", lines: [spaced(s)], kept: [0, len] });
    for (const b of spread(heads, 3).slice(-2)) {
      out.push({ name: `re-spaced, from ${b}`, lines: [spaced(s.slice(b))], kept: [b, len] });
    }
  }
  out.push({ name: "trailing spaces", lines: [`${s}   `], kept: [0, len] });
  return out;
}

/** Table rows (ps, ss, supervisorctl status, systemctl show): cut after the key, columns re-spaced. */
function tableVariants(c: Case): Variant[] {
  const s = c.line;
  const [, end] = c.span;
  const len = s.length;
  const out: Variant[] = [{ name: "whole", lines: [s], kept: [0, len] }];
  const tails = [end, ...spacesIn(s, end, len).map((i) => i + 1), len - 1].filter(
    (b, i, a) => b <= len && b >= end && a.indexOf(b) === i,
  );
  for (const b of spread(tails, 3)) out.push({ name: `to ${b}`, lines: [s.slice(0, b)], kept: [0, b] });
  // Column gaps widened (a paste re-aligning them); spaces inside the last column are its text.
  const respaced = s.slice(0, end).replace(/ +/g, (m) => `${m} `) + s.slice(end);
  out.push({ name: "columns re-spaced", lines: [respaced], kept: [0, len] });
  out.push({ name: "indented", lines: [`  ${s}`], kept: [0, len] });
  out.push({ name: "trailing spaces", lines: [`${s}   `], kept: [0, len] });
  const after = wrapPoints(s, end, len);
  const p = after[Math.floor(after.length / 2)];
  if (p !== undefined) out.push({ name: `wrapped at ${p}`, lines: wrapAt(s, p, false), kept: [0, p] });
  return out;
}

/** Multi-line reports: every line behind a runtime's prefix, as `docker logs` shows a crashing container. */
function blockVariants(c: Case): Variant[] {
  const lines = c.line.split("\n");
  const out: Variant[] = [{ name: "whole", lines, kept: [0, c.line.length] }];
  for (const r of RUNTIMES) {
    if (r === "indent") continue;
    out.push({
      name: `${r} prefix`,
      lines: lines.map((l) => prefixed(r, l, timeOf(c))),
      kept: [0, c.line.length],
    });
  }
  return out;
}

/** JSON (docker inspect, pm2 jlist): re-indented, on one line, spaces after `:` and `,`, a trailing comma. */
function jsonVariants(c: Case): Variant[] {
  const lines = c.line.split("\n");
  const all: [number, number] = [0, c.line.length];
  return [
    { name: "whole", lines, kept: all },
    {
      name: "re-indented",
      lines: lines.map((l) => `\t${l.replace(/^ +/, (m) => "  ".repeat(m.length))}`),
      kept: all,
    },
    { name: "one line", lines: [lines.map((l) => l.trim()).join(" ")], kept: all },
    {
      name: "spaced",
      lines: lines.map((l) => l.replace(/":(?=\S)/g, '": ').replace(/,(?=")/g, ", ")),
      kept: all,
    },
    // An object copied out of docker inspect's array keeps the comma after it.
    ...(c.kind !== "docker" || c.line.trimEnd().endsWith(",")
      ? []
      : [{ name: "trailing comma", lines: [...lines.slice(0, -1), `${lines.at(-1) ?? ""},`], kept: all }]),
  ];
}

/** A configuration line: wrapped between its words (nginx reads a newline as a space), re-spaced, CRLF. */
function confVariants(c: Case): Variant[] {
  const s = c.line;
  const all: [number, number] = [0, s.length];
  const out: Variant[] = [{ name: "whole", lines: [s], kept: all }];
  const body = s.search(/\S/);
  for (const p of spread(wrapPoints(s, body, s.length), 3)) {
    out.push({ name: `wrapped at ${p}`, lines: wrapAt(s, p, false), kept: all });
  }
  out.push({ name: "tabs", lines: [s.replace(/ /g, "\t")], kept: all });
  out.push({ name: "spaces doubled", lines: [s.replace(/ /g, "  ")], kept: all });
  out.push({ name: "CRLF", lines: [`${s}\r`], kept: all });
  return out;
}

export function fixedVariants(c: Case): Variant[] {
  switch (c.family) {
    case "exact":
      return [
        { name: "whole", lines: [c.line], kept: [0, c.line.length] },
        { name: "CRLF", lines: [`${c.line}\r`], kept: [0, c.line.length] },
      ];
    case "line":
      return lineVariants(c);
    case "table":
      return tableVariants(c);
    case "block":
      return blockVariants(c);
    case "json":
      return jsonVariants(c);
    case "conf":
      return confVariants(c);
  }
}

/**
 * Random fragments of a line-family case: cut anywhere before and after the cause, maybe behind a runtime's
 * prefix, maybe re-spaced, maybe wrapped at one of its spaces.
 */
export function lineFragment(c: Case): fc.Arbitrary<Variant> {
  const [start, end] = c.span;
  const len = c.line.length;
  return fc
    .record({
      from: fc.integer({ min: 0, max: start }),
      to: fc.integer({ min: end, max: len }),
      runtime: fc.option(fc.constantFrom(...RUNTIMES), { nil: undefined }),
      respace: fc.boolean(),
      wrap: fc.option(fc.nat(), { nil: undefined }),
      keepSpace: fc.boolean(),
    })
    .map(({ from: cutAt, to, runtime, respace, wrap, keepSpace }) => {
      let from = cutAt;
      // A prefix stands before a word: the spaces a cut left are no part of what it kept.
      if (runtime !== undefined) while (from < c.span[0] && /\s/.test(c.line[from] ?? "")) from++;
      let text = c.line.slice(from, to);
      if (respace) text = spaced(text);
      if (runtime !== undefined) text = prefixed(runtime, text, from === 0 ? timeOf(c) : undefined);
      const spaces = wrapPoints(text, 0, text.length);
      const p = wrap === undefined || spaces.length === 0 ? undefined : spaces[wrap % spaces.length];
      const lines = p === undefined ? [text] : wrapAt(text, p, keepSpace);
      const name = `[${from}, ${to})${respace ? " re-spaced" : ""}${runtime ? ` ${runtime}` : ""}${p === undefined ? "" : ` wrapped at ${p}`}`;
      return { name, lines, kept: [from, to] as const };
    });
}

/** Random variants of any case: line fragments for free lines, the fixed variants for the others. */
export function arbitraryVariant(c: Case): fc.Arbitrary<Variant> {
  return c.family === "line" ? lineFragment(c) : fc.constantFrom(...fixedVariants(c));
}

function get(record: unknown, path: string): unknown {
  let v: unknown = record;
  for (const key of path.split("."))
    v = typeof v === "object" && v !== null ? (v as Record<string, unknown>)[key] : undefined;
  return v;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Parse the variant (between the case's context lines) with the kind's parser and say what is wrong:
 * undefined when a record of the variant's lines has the case's cause and every field it kept whole.
 */
export function checkVariant(c: Case, v: Variant): string | undefined {
  const parser = parsers[c.kind] as Parser<RecordBase>;
  const text = [...c.before, ...v.lines, ...c.after].join("\n");
  const { records } = parseText(parser, text, c.ctx);
  if (c.compare) {
    const got = c.compare(records);
    return same(got, c.expected)
      ? undefined
      : `got ${JSON.stringify(got)}, want ${JSON.stringify(c.expected)}`;
  }
  const first = c.before.length + 1;
  const last = first + v.lines.length - 1;
  const own = records.filter((r) => r.line >= first && r.line <= last);
  const kept = c.fields.filter((f) => f.range[0] >= v.kept[0] && f.range[1] <= v.kept[1]);
  const ok = own.find((r) => r.cause === c.cause && kept.every((f) => same(get(r, f.path), f.value)));
  const wrong = own.find((r) => r.cause !== undefined && c.cause !== undefined && r.cause !== c.cause);
  if (ok && !wrong) return undefined;
  const want = { cause: c.cause, ...Object.fromEntries(kept.map((f) => [f.path, f.value])) };
  const got = own.map((r) => ({
    cause: r.cause,
    ...Object.fromEntries(kept.map((f) => [f.path, get(r, f.path)])),
  }));
  return `want ${JSON.stringify(want)}, got ${JSON.stringify(got)}`;
}
