import { escapeMrkdwn } from "../diagnosis/render/blocks.js";

/**
 * Host text (log lines, host names, alert summaries, the playbook's sentences filled with host values) is
 * never markup. One function per output: Slack mrkdwn, Markdown, a terminal.
 */

/** C0 controls but tab and newline, DEL, C1 (ESC and CSI start terminal sequences). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
/** Characters that reorder or hide text: bidi overrides and isolates, zero-width, line separators. */
const INVISIBLE = /[\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;

/** Controls and invisible characters made visible, never obeyed. */
export function visible(s: string): string {
  return s.replace(CONTROL, "\ufffd").replace(INVISIBLE, "\ufffd");
}

/** One line: newlines and tabs become spaces. */
export function oneLine(s: string): string {
  return visible(s)
    .replace(/[\r\n\t]+/g, " ")
    .trim();
}

export function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, Math.max(0, max - 1))}…`;
}

// --- Slack mrkdwn -------------------------------------------------------------------------------------

/**
 * Host text in mrkdwn: `&`, `<`, `>` escaped (no `<!channel>`, `<@U…>`, `<url|label>`), backticks replaced so
 * nothing opens a code span, and `@channel`/`@here`/`@everyone` broken so no one is paged by a log line.
 */
export function mrkdwn(s: string): string {
  return noBroadcast(escapeMrkdwn(oneLine(s)).replace(/`/g, "ˋ"));
}

function noBroadcast(s: string): string {
  return s.replace(/@(channel|here|everyone)\b/gi, "@\u2024$1");
}

/** Host text as inline code in mrkdwn. */
export function mrkdwnCode(s: string): string {
  return `\`${mrkdwn(s)}\``;
}

/** Host lines as a preformatted block in mrkdwn. */
export function mrkdwnFence(lines: string[]): string {
  const body = lines
    .map((l) => noBroadcast(escapeMrkdwn(visible(l)).replace(/```/g, "ʼʼʼ")))
    .join("\n")
    .trimEnd();
  return `\`\`\`${body || " "}\`\`\``;
}

// --- Markdown -----------------------------------------------------------------------------------------

/** Anything a Markdown renderer may turn into a link by itself (GFM autolinks URLs, `www.` and e-mail). */
const LINKISH = /(?:[a-z][a-z0-9+.-]*:\/\/|www\.)[^\s]+|[^\s@]+@[^\s@]+\.[^\s@]+/gi;

function mdEscapePlain(s: string): string {
  return s
    .replace(/[\\`*_[\]<>|~&]/g, (c) =>
      c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : `\\${c}`,
    )
    .replace(/^([#+=-]|\d+[.)])/, "\\$1");
}

/**
 * Host text in Markdown prose: punctuation that makes links, images, HTML, emphasis, code or tables escaped,
 * and anything a renderer could autolink put in a code span, so that it reads as written and links nowhere.
 */
export function md(s: string, where: "prose" | "table" = "prose"): string {
  const text = oneLine(s);
  let out = "";
  let last = 0;
  for (const m of text.matchAll(LINKISH)) {
    // Trailing punctuation is the sentence's, not the address's (as GFM's autolinks read it).
    const link = m[0].replace(/[)\].,;:!?'"]+$/, "");
    out += mdEscapePlain(text.slice(last, m.index));
    out += mdCode(link, where);
    last = (m.index ?? 0) + link.length;
  }
  return out + mdEscapePlain(text.slice(last));
}

function longestRun(s: string, c: string): number {
  let best = 0;
  let run = 0;
  for (const ch of s) {
    run = ch === c ? run + 1 : 0;
    best = Math.max(best, run);
  }
  return best;
}

/**
 * Host text as inline code: a fence longer than any backtick run inside, padded when it touches one. In a
 * table cell a `|` would end the cell even inside code, so there it is escaped (GFM shows it as `|`).
 */
export function mdCode(s: string, where: "prose" | "table" = "prose"): string {
  const raw = oneLine(s);
  const text = where === "table" ? raw.replace(/\|/g, "\\|") : raw;
  const fence = "`".repeat(longestRun(text, "`") + 1);
  const pad = text.startsWith("`") || text.endsWith("`") || text === "" ? " " : "";
  return `${fence}${pad}${text}${pad}${fence}`;
}

/** Host lines as a fenced block no line inside can close. */
export function mdFence(lines: string[]): string {
  const body = lines.map((l) => visible(l)).join("\n");
  const fence = "`".repeat(Math.max(3, longestRun(body, "`") + 1));
  return `${fence}text\n${body}\n${fence}`;
}
