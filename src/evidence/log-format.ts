/**
 * Compiles an nginx `log_format` string into one anchored regex, the way ngx_http_log_module writes lines:
 * literal text verbatim, each `$variable` (or `${variable}`) replaced by its value. Variable values are
 * escaped by nginx (`escape=default`: `"`, `\` and non-printable bytes become `\xHH`; `escape=json`: JSON
 * string escapes), so a value inside quotes never holds a bare quote and `[^"]*` is exact.
 */

export type LogEscape = "default" | "json" | "none";

export interface CompiledLogFormat {
  /** The format text, without any leading `escape=` parameter. */
  format: string;
  escape: LogEscape;
  /** Variable names in the order of the regex's capture groups (a name may repeat). */
  variables: string[];
  regex: RegExp;
}

/** nginx's built-in `combined` format, always defined. */
export const COMBINED_FORMAT =
  '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"';

type Segment = { kind: "literal"; text: string } | { kind: "variable"; name: string };

const NAME_CHAR = /[A-Za-z0-9_]/;
const ESCAPE_PREFIX = /^escape=(default|json|none)\s+/;

/** The upstream module's numbers: one per attempt, in a `, ` or ` : ` separated list when several were made. */
const UPSTREAM_NUMBERS = [
  "upstream_status",
  "upstream_response_time",
  "upstream_connect_time",
  "upstream_header_time",
  "upstream_response_length",
  "upstream_bytes_received",
  "upstream_bytes_sent",
];
/** Values that may hold `, ` or ` : ` separated lists (one entry per upstream attempt or proxy hop). */
const LIST_VARIABLES = new Set([
  "upstream_addr",
  ...UPSTREAM_NUMBERS,
  "upstream_cache_status",
  "http_x_forwarded_for",
  "proxy_add_x_forwarded_for",
]);
/** Values with spaces whose shape is fixed, so they can be matched without quotes around them. */
const SHAPED_VARIABLES: Record<string, string> = {
  time_local: "\\d{1,2}/[A-Za-z]{3}/\\d{4}:\\d\\d:\\d\\d:\\d\\d [+-]\\d{4}",
};
/** Free text that may hold spaces; unquoted, it can only be matched lazily. */
const FREE_TEXT_VARIABLES = new Set(["request", "http_user_agent", "http_referer", "status_line"]);

const LIST_PATTERN = "(?:[^\\s,]+(?:(?:, | : )[^\\s,]+)*)?";

function splitFormat(format: string): Segment[] | { error: string } {
  const segments: Segment[] = [];
  let literal = "";
  let i = 0;
  while (i < format.length) {
    const ch = format[i];
    if (ch !== "$") {
      literal += ch;
      i++;
      continue;
    }
    let name = "";
    if (format[i + 1] === "{") {
      const close = format.indexOf("}", i + 2);
      if (close === -1) return { error: `missing closing bracket in variable at offset ${i}` };
      name = format.slice(i + 2, close);
      if (!/^[A-Za-z0-9_]+$/.test(name)) return { error: `invalid variable name "${name}"` };
      i = close + 1;
    } else {
      let j = i + 1;
      while (j < format.length && NAME_CHAR.test(format[j] ?? "")) j++;
      name = format.slice(i + 1, j);
      if (name === "") return { error: `invalid variable name at offset ${i}` };
      i = j;
    }
    if (literal !== "") segments.push({ kind: "literal", text: literal });
    literal = "";
    segments.push({ kind: "variable", name });
  }
  if (literal !== "") segments.push({ kind: "literal", text: literal });
  return segments;
}

function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
}

function groupFor(name: string, next: Segment | undefined, mode: LogEscape): string {
  if (next === undefined) return ".*";
  if (next.kind === "variable") return ".*?";
  const c = next.text[0] ?? "";
  if (c === '"') return mode === "json" ? '(?:[^"\\\\]|\\\\.)*' : '[^"]*';
  if (c === "]") return "[^\\]]*";
  if (/\s/.test(c) || c === ",") {
    const shaped = SHAPED_VARIABLES[name];
    if (shaped !== undefined) return `(?:${shaped}|-)`;
    if (LIST_VARIABLES.has(name)) return LIST_PATTERN;
    if (FREE_TEXT_VARIABLES.has(name)) return ".*?";
  }
  return `[^${escapeRegex(c)}]*`;
}

const cache = new Map<string, CompiledLogFormat | { error: string }>();

/**
 * Compile a log_format string (its quoted parts already joined). A leading `escape=json` (or
 * `escape=default|none`), as written after the format's name, is honoured; `mode` overrides it.
 * Results are cached per format and escape.
 */
export function compileLogFormat(format: string, mode?: LogEscape): CompiledLogFormat | { error: string } {
  const key = `${mode ?? ""}\u0000${format}`;
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  const result = compile(format, mode);
  if (cache.size > 256) cache.clear();
  cache.set(key, result);
  return result;
}

function compile(format: string, escapeOption: LogEscape | undefined): CompiledLogFormat | { error: string } {
  let text = format;
  let mode: LogEscape = "default";
  const prefix = ESCAPE_PREFIX.exec(text);
  if (prefix) {
    mode = prefix[1] as LogEscape;
    text = text.slice(prefix[0].length);
  }
  if (escapeOption !== undefined) mode = escapeOption;
  if (text.trim() === "") return { error: "empty log_format" };
  const segments = splitFormat(text);
  if ("error" in segments) return segments;
  const variables: string[] = [];
  let source = "^";
  segments.forEach((segment, index) => {
    if (segment.kind === "literal") {
      source += escapeRegex(segment.text);
      return;
    }
    variables.push(segment.name);
    source += `(${groupFor(segment.name, segments[index + 1], mode)})`;
  });
  if (variables.length === 0) return { error: "log_format has no variables" };
  try {
    return { format: text, escape: mode, variables, regex: new RegExp(`${source}$`) };
  } catch (err) {
    return { error: `cannot compile log_format: ${(err as Error).message}` };
  }
}

/** Match one line; returns every variable's raw value (the first occurrence of a repeated name wins). */
export function matchLogFormat(
  compiled: CompiledLogFormat,
  line: string,
): Record<string, string> | undefined {
  const m = compiled.regex.exec(line);
  if (!m) return undefined;
  const vars: Record<string, string> = {};
  compiled.variables.forEach((name, i) => {
    if (!(name in vars)) vars[name] = m[i + 1] ?? "";
  });
  return vars;
}

/** Values that are numbers (or `-`), lists of them where several attempts are logged. */
const NUMBERS = new Set([
  "status",
  "body_bytes_sent",
  "bytes_sent",
  "connection",
  "connection_requests",
  "request_length",
  "request_time",
  "msec",
  ...UPSTREAM_NUMBERS,
]);
const NUMBER_PATTERN = String.raw`(?:\d+(?:\.\d+)?|-)`;
/** Empty too: `escape=json` logs an unset value as `""`. */
const NUMBER_LIST_PATTERN = `(?:${NUMBER_PATTERN}(?:(?:, | : )${NUMBER_PATTERN})*)?`;

/**
 * A variable's pattern in a part of a line: numbers as numbers, so that a part cannot be placed where a
 * looser pattern would also fit; `partial` for a value cut at the fragment's end (a list maybe cut after
 * its separator).
 */
function partGroup(name: string, next: Segment | undefined, mode: LogEscape, partial = false): string {
  if (NUMBERS.has(name)) {
    const list = LIST_VARIABLES.has(name);
    if (partial) return list ? "[\\d.,: -]*" : String.raw`[\d.-]*`;
    return list ? NUMBER_LIST_PATTERN : `${NUMBER_PATTERN}?`;
  }
  const group = groupFor(name, next, mode);
  if (!partial) return group;
  // A list cut after its separator; a JSON string cut inside an escape (`agent with \`).
  return `${group}${LIST_VARIABLES.has(name) ? "(?:,| :|, | : )?" : ""}${mode === "json" ? "\\\\?" : ""}`;
}

/** `(?:a|ab|abc)`: what is left of a literal cut inside it, at its end or at its start. */
function pieces(text: string, fromEnd: boolean): string {
  const out: string[] = [];
  for (let k = 1; k < text.length; k++)
    out.push(escapeRegex(fromEnd ? text.slice(text.length - k) : text.slice(0, k)));
  return out.length === 0 ? "" : `(?:${out.join("|")})?`;
}

/**
 * What a fragment may hold before the literal that starts a part: the end of the value before it (and
 * of the literal before that). A value's pattern stops at the character that ends it, so the part cannot
 * be found at a wrong place.
 */
function partialBefore(segments: Segment[], a: number, mode: LogEscape): string {
  const value = segments[a - 1];
  if (value?.kind !== "variable") return "";
  const lit = segments[a - 2];
  const cut = lit?.kind === "literal" ? pieces(lit.text, true) : a - 2 >= 0 ? ".*?" : "";
  return `${cut}(?:${partGroup(value.name, segments[a], mode, true)})`;
}

/** What a fragment may hold after the literal that ends a part: the start of the next value (and literal). */
function partialAfter(segments: Segment[], b: number, mode: LogEscape): string {
  const value = segments[b + 1];
  if (value?.kind !== "variable") return ".*";
  const lit = segments[b + 2];
  const cut = lit === undefined ? "" : lit.kind === "literal" ? pieces(lit.text, false) : ".*";
  return `(?:${partGroup(value.name, lit, mode, true)})${cut}`;
}

interface Part {
  regex: RegExp;
  variables: string[];
}

const parts = new WeakMap<CompiledLogFormat, Map<string, Part[]>>();

/**
 * The runs of a format's segments a fragment of a line can hold whole: from a literal (or the line's
 * start) to a literal (or the line's end), holding the variable `needed`; most variables first.
 */
function partsOf(compiled: CompiledLogFormat, needed: string): Part[] {
  let byNeed = parts.get(compiled);
  if (!byNeed) {
    byNeed = new Map();
    parts.set(compiled, byNeed);
  }
  const cached = byNeed.get(needed);
  if (cached) return cached;
  const segments = splitFormat(compiled.format);
  const out: (Part & { size: number })[] = [];
  if (!("error" in segments)) {
    const n = segments.length;
    const literal = (i: number) => segments[i]?.kind === "literal";
    for (let a = 0; a < n; a++) {
      if (a > 0 && !literal(a)) continue;
      for (let b = n - 1; b >= a; b--) {
        if ((b < n - 1 && !literal(b)) || (a === 0 && b === n - 1)) continue;
        const variables: string[] = [];
        let source = a === 0 ? "^" : `^${partialBefore(segments, a, compiled.escape)}`;
        for (let k = a; k <= b; k++) {
          const segment = segments[k];
          if (segment === undefined) continue;
          if (segment.kind === "literal") source += escapeRegex(segment.text);
          else {
            variables.push(segment.name);
            source += `(${partGroup(segment.name, k === b ? undefined : segments[k + 1], compiled.escape)})`;
          }
        }
        if (!variables.includes(needed)) continue;
        source += b === n - 1 ? "$" : `${partialAfter(segments, b, compiled.escape)}$`;
        try {
          out.push({ regex: new RegExp(source), variables, size: variables.length });
        } catch {
          // a part that does not compile is no part
        }
      }
    }
  }
  out.sort((x, y) => y.size - x.size);
  byNeed.set(needed, out);
  return out;
}

/**
 * Match a fragment of a line (cut at either end): the variables of the longest run of the format that
 * the fragment holds whole, from a literal to a literal, with `needed` among them; undefined when none.
 */
export function matchLogFormatPart(
  compiled: CompiledLogFormat,
  line: string,
  needed: string,
): Record<string, string> | undefined {
  for (const part of partsOf(compiled, needed)) {
    const m = part.regex.exec(line);
    if (!m) continue;
    const vars: Record<string, string> = {};
    part.variables.forEach((name, i) => {
      if (!(name in vars)) vars[name] = m[i + 1] ?? "";
    });
    return vars;
  }
  return undefined;
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8");

/** Undo nginx's escaping of a variable value (`\xHH` bytes, or JSON escapes with escape=json). */
export function unescapeValue(raw: string, mode: LogEscape): string {
  if (mode === "json") {
    if (!raw.includes("\\")) return raw;
    try {
      const parsed: unknown = JSON.parse(`"${raw}"`);
      return typeof parsed === "string" ? parsed : raw;
    } catch {
      return raw;
    }
  }
  if (mode === "none" || !raw.includes("\\x")) return raw;
  const bytes: number[] = [];
  let i = 0;
  while (i < raw.length) {
    const hex = raw[i] === "\\" && raw[i + 1] === "x" ? raw.slice(i + 2, i + 4) : "";
    if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 4;
      continue;
    }
    const cp = raw.codePointAt(i) ?? 0;
    const ch = String.fromCodePoint(cp);
    for (const b of utf8.encode(ch)) bytes.push(b);
    i += ch.length;
  }
  return utf8Decoder.decode(new Uint8Array(bytes));
}
