import type { RichTextBlock } from "@slack/types";

/**
 * Host text (evidence lines, host names, failure messages, the playbook's sentences filled with host values,
 * names from config) is never markup and never a terminal command. One function per output:
 *
 * - a terminal: control characters and escape sequences shown as `\xNN`, never obeyed;
 * - Markdown: nothing becomes a link, image, HTML, heading, emphasis or table cell; code cannot be closed;
 * - Slack mrkdwn: `&`, `<`, `>` as entities (Slack's documented escaping, so no `<!channel>`, `<@U…>`,
 *   `<#C…>`, `<!subteam^…>` or `<url|label>`), and no bold, italics, strike, code or quote from host text;
 * - Slack evidence: a `rich_text_preformatted` element, whose text Slack shows as written. Mentions and links
 *   in rich text are their own element types, so nothing in a text element can ping or link, and unlike a
 *   mrkdwn ``` block no backtick run can close it: the evidence keeps every character, with no look-alike
 *   or zero-width character put in.
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;
/** Characters that reorder or hide text: bidi overrides and isolates, zero-width, line separators, BOM. */
const INVISIBLE = /[\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;

function hex(c: string): string {
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`;
}

// --- Terminal -----------------------------------------------------------------------------------------

/**
 * One line of host text for a terminal: C0 controls (but tab), DEL and C1 controls (U+0080-U+009F, CSI
 * among them) and invisible characters as visible `\x1b`, `\x9b`, `\u{202e}`. An escape sequence is left
 * as harmless text (`\x1b]0;title\x07`), a newline or carriage return shows as `\x0a`/`\x0d`: split lines
 * first where they should be kept.
 */
export function forTerminal(s: string): string {
  return s.replace(CONTROL, hex).replace(INVISIBLE, hex);
}

/** Host text on one line: newlines and tabs become spaces, every other control is made visible. */
export function oneLine(s: string): string {
  return forTerminal(s.replace(/\r?\n|\t/g, " "));
}

/** At most `max` characters (a surrogate pair is not split), with `…` when cut. */
export function clip(s: string, max: number): string {
  if (s.length <= max) return s;
  let end = Math.max(0, max - 1);
  const c = s.charCodeAt(end - 1);
  if (c >= 0xd800 && c < 0xdc00) end--;
  return `${s.slice(0, end)}…`;
}

/**
 * JSON text that a terminal cannot obey: `JSON.stringify` already writes C0 controls as `\u001b`, but leaves
 * DEL, C1 (U+009B is CSI) and the invisible characters raw. Written as `\u009b` they are the same string to
 * any JSON reader.
 */
export function jsonForTerminal(json: string): string {
  return json.replace(/[\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g, (c) => {
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}

// --- Markdown -----------------------------------------------------------------------------------------

/** Anything a Markdown renderer may turn into a link by itself (GFM autolinks URLs, `www.` and e-mail). */
const LINKISH = /(?:[a-z][a-z0-9+.-]*:\/\/|www\.)[^\s]*|[^\s@]+@[^\s@]+\.[^\s@]+/gi;

/**
 * A backslash before every character that starts markup (`\\ \` * _ [ ] ! # | ~` and a leading list or
 * heading marker), and `&`, `<`, `>` as entities, which no Markdown flavour reads as HTML. Parentheses are
 * left alone: a link or image needs an unescaped `]` right before its `(`.
 */
function mdEscapePlain(s: string): string {
  return s
    .replace(/[\\`*_[\]!#|~&<>]/g, (c) =>
      c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : `\\${c}`,
    )
    .replace(/^([+=-])/, "\\$1")
    .replace(/^(\d+)([.)])/, "$1\\$2");
}

/**
 * Host text in Markdown prose or a table cell, on one line: the punctuation that makes links, images, HTML,
 * headings, emphasis, code, strike or cells escaped with a backslash, and anything a renderer could autolink
 * put in a code span, so that it reads as written and links nowhere.
 */
export function forMarkdown(s: string, where: "prose" | "table" = "prose"): string {
  // leading spaces would make an indented code block of a line that starts with host text
  return mdText(oneLine(s).trim(), where);
}

/**
 * `forMarkdown` for one line's text already made one line, not trimmed: for a piece of a line, between the
 * renderer's own code spans. A leading `-` or `1.` is escaped even there (`\-` reads as `-`).
 */
export function mdText(text: string, where: "prose" | "table" = "prose"): string {
  let out = "";
  let last = 0;
  for (const m of text.matchAll(LINKISH)) {
    // Trailing punctuation is the sentence's, not the address's (as GFM's autolinks read it).
    const link = m[0].replace(/[)\].,;:!?'"]+$/, "");
    if (link === "") continue;
    out += mdEscapePlain(text.slice(last, m.index));
    out += mdInlineCode(link, where);
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
export function mdInlineCode(s: string, where: "prose" | "table" = "prose"): string {
  const raw = oneLine(s);
  const text = where === "table" ? raw.replace(/\|/g, "\\|") : raw;
  const fence = "`".repeat(longestRun(text, "`") + 1);
  const pad = text.startsWith("`") || text.endsWith("`") || text.trim() === "" ? " " : "";
  return `${fence}${pad}${text}${pad}${fence}`;
}

/**
 * Host lines as a fenced code block no line inside can close: the fence is longer than any backtick run in
 * the body, and every line is indented by `indent` (a block inside a list item keeps all its lines in it);
 * `info` is the fence's info string (`text`), ours, never host text.
 */
export function inCodeBlock(lines: string[], indent = "", info = ""): string {
  const body = lines.flatMap((l) => l.split("\n")).map((l) => forTerminal(l.replace(/\r$/, "")));
  const fence = "`".repeat(Math.max(3, longestRun(body.join("\n"), "`") + 1));
  return [`${fence}${info}`, ...body, fence].map((l) => `${indent}${l}`).join("\n");
}

// --- Slack mrkdwn -------------------------------------------------------------------------------------

/** Slack's control characters as entities: what Slack documents as the escaping for `&`, `<` and `>`. */
export function mrkdwnEntities(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * Clip mrkdwn the renderer built to `max` characters without breaking it: no entity (`&amp;`) or `<…>`
 * mention cut in half, and a code span left open by the cut closed again, so nothing after it changes.
 */
export function clipMrkdwn(s: string, max: number): string {
  if (s.length <= max) return s;
  let cut = clip(s, max - 1).slice(0, -1);
  const amp = cut.lastIndexOf("&");
  if (amp >= 0 && !cut.slice(amp).includes(";")) cut = cut.slice(0, amp);
  const lt = cut.lastIndexOf("<");
  if (lt >= 0 && !cut.slice(lt).includes(">")) cut = cut.slice(0, lt);
  const ticks = (cut.match(/`/g) ?? []).length;
  return `${cut}${ticks % 2 === 1 ? "`" : ""}…`;
}

/** The zero-width space the bot puts in to keep a code block closed or a written-out `@here` from paging. */
export const ZERO_WIDTH_BREAK = "\u200b";
/** Where the bot's own zero-width breaks stand in its text: beside a backtick, after an `@`. */
export const OWN_BREAKS = /`\u200b|\u200b`|@\u200b/g;

/** `@channel`, `@here`, `@everyone` written out do not page anyone (a zero-width space after the `@`). */
function noBroadcast(s: string): string {
  return s.replace(/@(channel|here|everyone)\b/gi, `@${ZERO_WIDTH_BREAK}$1`);
}

/**
 * Host text in Slack mrkdwn prose (titles, explanations, names), on one line: entities for `&`, `<`, `>`;
 * `*`, `~` and backticks as look-alikes (∗ ∼ ˋ) so no bold, strike or code starts; `_` likewise where it
 * could start or end italics (inside a word, as in `oom_killed`, Slack reads it as text and it is kept);
 * a leading `>` cannot quote; `@here` and friends cannot page.
 */
export function forMrkdwn(s: string): string {
  return noBroadcast(mrkdwnEntities(noEmphasis(oneLine(s).replace(/`/g, "ˋ"))));
}

const WORD = /[\p{L}\p{N}]/u;

/**
 * Text with no `*`, `~` or word-edge `_` left to start bold, strike or italics, and no leading `>` to quote
 * (before entities are applied). For prose a renderer writes itself around its own code spans.
 */
export function noEmphasis(s: string): string {
  return s
    .replace(/\*/g, "∗")
    .replace(/~/g, "∼")
    .replace(/_/g, (_c, i: number, all: string) =>
      WORD.test(all[i - 1] ?? "") && WORD.test(all[i + 1] ?? "") ? "_" : "ˍ",
    )
    .replace(/^(\s*)>/, "$1›");
}

/**
 * Host text (a target, a cause) as inline code in mrkdwn: no backtick can end it early, entities cannot
 * render as markup, and no `*`, `~` or edge `_` is left to format the rest should a clipped message lose
 * the closing backtick.
 */
export function mrkdwnCode(s: string): string {
  const text = noBroadcast(mrkdwnEntities(noEmphasis(oneLine(s).replace(/`/g, "ˋ"))));
  return `\`${text.trim() === "" ? " " : text}\``;
}

/**
 * Host lines as a Block Kit `rich_text` block holding one preformatted element: shown as written, in a code
 * box, whatever backticks, `<!channel>` or `*` it holds. Controls are made visible as in a terminal; the
 * text is clipped to `max` characters after that.
 */
export function evidenceBlock(lines: string[], max = 3000): RichTextBlock {
  const shown = lines
    .flatMap((l) => l.split("\n"))
    .map((l) => forTerminal(l.replace(/\r$/, "")))
    .join("\n")
    .trimEnd();
  const body = clip(shown, max);
  return {
    type: "rich_text",
    elements: [{ type: "rich_text_preformatted", elements: [{ type: "text", text: body || " " }] }],
  };
}

/**
 * Host lines as a mrkdwn ``` block, for a renderer that can only give mrkdwn strings: entities escaped, and
 * each backtick run broken by a zero-width space after every second backtick so no ``` can close the block.
 * (Prefer `evidenceBlock`, which changes nothing in the text.)
 */
export function mrkdwnCodeBlock(lines: string[]): string {
  const body = lines
    .flatMap((l) => l.split("\n"))
    .map((l) => mrkdwnEntities(forTerminal(l.replace(/\r$/, ""))).replace(/``/g, `\`\`${ZERO_WIDTH_BREAK}`))
    .join("\n")
    .trimEnd();
  const inner = body.startsWith("`") ? `${ZERO_WIDTH_BREAK}${body}` : body;
  return `\`\`\`${inner.endsWith("`") ? `${inner}${ZERO_WIDTH_BREAK}` : inner || " "}\`\`\``;
}
