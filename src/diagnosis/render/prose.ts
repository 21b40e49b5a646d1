import { type Prose, proseText, trimProse } from "../prose.js";
import { forMrkdwn, mdInlineCode, mdText, mrkdwnCode, oneLine } from "./escape.js";

/**
 * The playbook's sentences in their outputs: the code spans the playbook wrote in its own text stay code,
 * and everything else, the values filled in from host evidence above all, is escaped as host text (see
 * escape.ts). A backtick in a value never opens or closes a code span; a value inside one of the
 * playbook's code spans is shown inside it, escaped for code. In a terminal the sentences are shown as they
 * are (`oneLine`), backticks and all, so only Markdown and Slack mrkdwn need this.
 */

/** A diagnosis's (or summary's) sentences with code spans, found by their text. */
export type ProseIndex = ReadonlyMap<string, Prose>;

export function proseIndex(list: readonly Prose[] | undefined): ProseIndex {
  const out = new Map<string, Prose>();
  for (const p of list ?? []) {
    out.set(proseText(p), p);
    const trimmed = trimProse(p);
    out.set(proseText(trimmed), trimmed);
  }
  return out;
}

interface Token {
  code: boolean;
  text: string;
}

/**
 * The sentence as prose and code: code between two backticks of the playbook's own text (never one of a
 * value), with something in between. Without pieces (or pieces of another text) it is all prose.
 */
function tokens(text: string, ix: ProseIndex): Token[] {
  const p = ix.get(text) ?? ix.get(text.trim());
  if (!p) return [{ code: false, text }];
  const sentence = proseText(p);
  const ticks: number[] = [];
  let at = 0;
  p.forEach((piece, i) => {
    if (i % 2 === 0)
      for (let j = piece.indexOf("`"); j >= 0; j = piece.indexOf("`", j + 1)) ticks.push(at + j);
    at += piece.length;
  });
  const out: Token[] = [];
  let last = 0;
  for (let k = 0; k + 1 < ticks.length; k += 2) {
    const open = ticks[k] ?? 0;
    const close = ticks[k + 1] ?? 0;
    if (close === open + 1) continue;
    if (open > last) out.push({ code: false, text: sentence.slice(last, open) });
    out.push({ code: true, text: sentence.slice(open + 1, close) });
    last = close + 1;
  }
  if (last < sentence.length) out.push({ code: false, text: sentence.slice(last) });
  return out;
}

/** A sentence in Slack mrkdwn, on one line: the playbook's code spans as code, all else as `forMrkdwn`. */
export function proseMrkdwn(text: string, ix: ProseIndex): string {
  return tokens(text, ix)
    .map((t) => (t.code ? mrkdwnCode(t.text) : forMrkdwn(t.text)))
    .join("");
}

/** A sentence in Markdown prose or a table cell, on one line: the playbook's code spans as inline code. */
export function proseMarkdown(text: string, ix: ProseIndex, where: "prose" | "table" = "prose"): string {
  const list = tokens(text, ix).map((t) => ({ ...t, text: oneLine(t.text) }));
  const first = list[0];
  const last = list[list.length - 1];
  // leading spaces would make an indented code block of the line
  if (first && !first.code) first.text = first.text.trimStart();
  if (last && !last.code) last.text = last.text.trimEnd();
  return list.map((t) => (t.code ? mdInlineCode(t.text, where) : mdText(t.text, where))).join("");
}
