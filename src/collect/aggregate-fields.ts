import { z } from "zod";

/**
 * Where the host's aggregate (aggregate.sh.ts) finds `$time_local`, `$status` and `$upstream_addr` in an
 * access-log line, derived here from the log_format string so that the awk program stays fixed text.
 *
 * The awk splits a line at every `"` (nginx escapes a `"` inside a value: `\x22` by default, `\"` with
 * escape=json), so a line of the format has exactly `parts` pieces, the same as the format has; each piece is
 * then split into words at blanks. A variable sits in one piece at a word index counted from the start (1 is
 * the first word) or, when a value before it may hold blanks (`$remote_user`, `$http_user_agent` unquoted),
 * from the end (-1 is the last word). `prefix` is the length of the literal text before the value in its
 * word (`[` in `[$time_local]`), `suffix` the length after it (`;` in `ua=$upstream_addr;`).
 */
export const FieldPosition = z.object({
  part: z.number().int().min(1).max(255),
  word: z
    .number()
    .int()
    .min(-255)
    .max(255)
    .refine((n) => n !== 0, "word is 1-based from the start or -1-based from the end"),
  prefix: z.number().int().min(0).max(255),
  suffix: z.number().int().min(0).max(255),
});
export type FieldPosition = z.infer<typeof FieldPosition>;

export const AggregateFields = z.object({
  /** `"`-separated pieces of every line of the format; a line with another count is not read. */
  parts: z.number().int().min(1).max(255),
  /** `$time_local`: its word holds `DD/Mon/YYYY:HH:MM:SS`, the next word the zone `+hhmm`. */
  time: FieldPosition,
  status: FieldPosition,
  /** `$upstream_addr`; null when the format has none (every response counts under target `-`). */
  upstream: FieldPosition.nullable(),
  /** escape=json: a `"` inside a value is `\"`, so the host drops backslash escapes before splitting. */
  json: z.boolean(),
});
export type AggregateFields = z.infer<typeof AggregateFields>;

/** Variables whose value is never more than one word (nginx writes `-` for an empty value). */
const ONE_WORD = new Set([
  "remote_addr",
  "remote_port",
  "server_addr",
  "server_port",
  "status",
  "body_bytes_sent",
  "bytes_sent",
  "request_length",
  "request_time",
  "msec",
  "time_iso8601",
  "connection",
  "connection_requests",
  "pipe",
  "request_id",
  "scheme",
  "server_protocol",
  "request_method",
  "pid",
  "hostname",
  "nginx_version",
  "gzip_ratio",
]);
/** `$time_local` is `25/Nov/2026:12:44:43 +0000`: always two words. */
const TWO_WORDS = new Set(["time_local"]);

type Token = { literal: string } | { variable: string };
interface Word {
  tokens: Token[];
  /** Words this one becomes in a line; null when a value in it may hold blanks. */
  width: number | null;
}

const VARIABLE = /\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))/g;

function tokens(word: string): Token[] {
  const out: Token[] = [];
  let at = 0;
  for (const m of word.matchAll(VARIABLE)) {
    if (m.index > at) out.push({ literal: word.slice(at, m.index) });
    out.push({ variable: m[1] ?? m[2] ?? "" });
    at = m.index + m[0].length;
  }
  if (at < word.length) out.push({ literal: word.slice(at) });
  return out;
}

function widthOf(name: string): number | null {
  if (TWO_WORDS.has(name)) return 2;
  return ONE_WORD.has(name) ? 1 : null;
}

function wordsOf(part: string): Word[] {
  return part
    .split(/[ \t\n]+/)
    .filter((w) => w !== "")
    .map((w) => {
      const t = tokens(w);
      let width: number | null = 1;
      for (const tok of t) {
        if (!("variable" in tok)) continue;
        const v = widthOf(tok.variable);
        width = width === null || v === null ? null : width + v - 1;
      }
      return { tokens: t, width };
    });
}

const sum = (words: Word[]): number | null =>
  words.reduce<number | null>((n, w) => (n === null || w.width === null ? null : n + w.width), 0);

function locate(
  parts: Word[][],
  name: string,
  width: number | null,
): FieldPosition | { error: string; missing?: true } {
  for (const [p, words] of parts.entries()) {
    const j = words.findIndex((w) => w.tokens.some((t) => "variable" in t && t.variable === name));
    if (j === -1) continue;
    const word = words[j] as Word;
    const vars = word.tokens.filter((t) => "variable" in t);
    if (vars.length > 1)
      return { error: `$${name} shares a word with another variable, so its position is not fixed` };
    const at = word.tokens.findIndex((t) => "variable" in t);
    const literal = (t: Token | undefined) => (t && "literal" in t ? t.literal.length : 0);
    const prefix = literal(word.tokens[at - 1]);
    const suffix = literal(word.tokens[at + 1]);
    const before = sum(words.slice(0, j));
    if (before !== null) return { part: p + 1, word: before + 1, prefix, suffix };
    const after = sum(words.slice(j + 1));
    if (after !== null) return { part: p + 1, word: -(after + (width ?? 1)), prefix, suffix };
    return {
      error: `$${name} has values that may hold blanks on both sides of it (in the same quoted or unquoted stretch)`,
    };
  }
  return { error: `the log_format has no $${name}`, missing: true };
}

/**
 * Positions of `$time_local`, `$status` and `$upstream_addr` in the lines of a log_format (quoted parts
 * joined, optionally led by `escape=json|default|none`, as `options.format` of nginx-access holds it), or
 * why the host cannot count that format.
 */
export function aggregateFields(format: string): AggregateFields | { error: string } {
  const escapeMode = /^escape=(default|json|none)\s+/.exec(format);
  const text = escapeMode ? format.slice(escapeMode[0].length) : format;
  const parts = text.split('"').map(wordsOf);
  if (parts.length > 255) return { error: "the log_format has more than 254 quotes" };
  const time = locate(parts, "time_local", 2);
  if ("error" in time) return { error: time.error };
  const status = locate(parts, "status", 1);
  if ("error" in status) return { error: status.error };
  const upstream = locate(parts, "upstream_addr", null);
  if ("error" in upstream && !upstream.missing) return { error: upstream.error };
  const fields = AggregateFields.safeParse({
    parts: parts.length,
    time,
    status,
    upstream: "error" in upstream ? null : upstream,
    json: escapeMode?.[1] === "json",
  });
  if (!fields.success) return { error: `positions out of range: ${fields.error.issues[0]?.message ?? ""}` };
  return fields.data;
}

/** The positions as the awk reads them: 12 integers, space-separated (the last is 1 for escape=json). */
export function fieldsArgument(f: AggregateFields): string {
  const u = f.upstream ?? { part: 0, word: 0, prefix: 0, suffix: 0 };
  const ints = [
    f.parts,
    f.time.part,
    f.time.word,
    f.time.prefix,
    f.status.part,
    f.status.word,
    f.status.prefix,
    u.part,
    u.word,
    u.prefix,
    u.suffix,
    f.json ? 1 : 0,
  ];
  for (const n of ints)
    if (!Number.isSafeInteger(n) || Math.abs(n) > 255) throw new Error(`fieldsArgument: bad position ${n}`);
  return ints.join(" ");
}
