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

/** Values that may hold `, ` or ` : ` separated lists (one entry per upstream attempt or proxy hop). */
const LIST_VARIABLES = new Set([
  "upstream_addr",
  "upstream_status",
  "upstream_response_time",
  "upstream_connect_time",
  "upstream_header_time",
  "upstream_response_length",
  "upstream_bytes_received",
  "upstream_bytes_sent",
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
