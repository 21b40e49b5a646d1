/**
 * Host text (log lines, host names, alert summaries, the playbook's sentences filled with host values) is
 * never markup. The summary's renderers use the one escaping module every output shares
 * (diagnosis/render/escape.ts) under the names they have always used.
 */
import {
  clip as clipText,
  evidenceBlock,
  forMarkdown,
  forMrkdwn,
  forTerminal,
  inCodeBlock,
  mdInlineCode,
  mrkdwnCode as mrkdwnInlineCode,
  oneLine as oneLineText,
} from "../diagnosis/render/escape.js";
import { type ProseIndex, proseIndex, proseMarkdown, proseMrkdwn } from "../diagnosis/render/prose.js";
import type { Summary } from "./schema.js";

/** Controls and invisible characters made visible (`\x1b`), never obeyed; newlines and tabs kept. */
export function visible(s: string): string {
  return s.split("\n").map(forTerminal).join("\n");
}

/** One line: newlines and tabs become spaces, other controls are made visible. */
export function oneLine(s: string): string {
  return oneLineText(s).trim();
}

export const clip = clipText;

// --- Slack mrkdwn -------------------------------------------------------------------------------------

/**
 * Host text in mrkdwn: `&`, `<`, `>` escaped (no `<!channel>`, `<@U…>`, `<url|label>`), no bold, italics,
 * strike or code from it, and `@channel`/`@here`/`@everyone` broken so no one is paged by a log line.
 */
export const mrkdwn = forMrkdwn;

/** Host text as inline code in mrkdwn. */
export const mrkdwnCode = mrkdwnInlineCode;

/** Host lines as a rich-text preformatted block: shown exactly as written, nothing in it is markup. */
export const preformatted = evidenceBlock;

/** A playbook sentence (a title, an explanation, a follow-up) in mrkdwn: its code spans kept, values escaped. */
export function mrkdwnSentence(s: Summary, text: string): string {
  return proseMrkdwn(text, sentences(s));
}

const indexes = new WeakMap<Summary, ProseIndex>();

function sentences(s: Summary): ProseIndex {
  let ix = indexes.get(s);
  if (!ix) {
    ix = proseIndex(s.prose);
    indexes.set(s, ix);
  }
  return ix;
}

// --- Markdown -----------------------------------------------------------------------------------------

/**
 * Host text in Markdown prose: punctuation that makes links, images, HTML, emphasis, code or tables escaped,
 * and anything a renderer could autolink put in a code span, so that it reads as written and links nowhere.
 */
export const md = forMarkdown;

/** A playbook sentence in Markdown: its code spans kept, values escaped. */
export function mdSentence(s: Summary, text: string): string {
  return proseMarkdown(text, sentences(s));
}

/** Host text as inline code, with a fence no backtick run inside can close. */
export const mdCode = mdInlineCode;

/** Host lines as a fenced block no line inside can close. */
export function mdFence(lines: string[]): string {
  return inCodeBlock(lines, "", "text");
}
