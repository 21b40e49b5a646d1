import { z } from "zod";

/**
 * A playbook sentence as the engine filled it: the playbook's own text and the values put into it from the
 * facts (host evidence), alternately, `[text, value, text, …]` (always an odd number of pieces, empty ones
 * allowed). Joined, the pieces are the sentence the diagnosis carries as a plain string.
 *
 * Renderers escape the values fully and keep the code spans the playbook wrote in its own text; a sentence
 * without pieces is host text throughout and escaped as such, so pieces that no longer join to a field's
 * text (the field was masked or added to) only lose the playbook's code spans.
 */
export const Prose = z.array(z.string());
export type Prose = z.infer<typeof Prose>;

/** The sentence the pieces make. */
export function proseText(p: readonly string[]): string {
  return p.join("");
}

/** Append the playbook's own text. */
export function addText(p: Prose, text: string): void {
  p[p.length - 1] += text;
}

/** Append a value from the facts; two values with no text between them are one. */
export function addValue(p: Prose, value: string): void {
  if (value === "") return;
  if (p.length > 1 && p[p.length - 1] === "") p[p.length - 2] += value;
  else p.push(value, "");
}

/** Both: `other`'s pieces after `p`'s. */
export function addProse(p: Prose, other: readonly string[]): void {
  other.forEach((piece, i) => {
    if (i % 2 === 0) addText(p, piece);
    else addValue(p, piece);
  });
}

/** The pieces of `text.trim()`: white space taken off the first and last pieces that have any text. */
export function trimProse(p: readonly string[]): Prose {
  const out = [...p];
  for (let i = 0; i < out.length; i++) {
    out[i] = (out[i] ?? "").trimStart();
    if (out[i] !== "") break;
  }
  for (let i = out.length - 1; i >= 0; i--) {
    out[i] = (out[i] ?? "").trimEnd();
    if (out[i] !== "") break;
  }
  return out;
}

/** Whether the playbook's own text holds a backtick: only then do the pieces render differently from the text. */
export function hasCode(p: readonly string[]): boolean {
  return p.some((piece, i) => i % 2 === 0 && piece.includes("`"));
}

/**
 * Mask each piece as its sentence is masked; a sentence whose masking reaches across pieces (a secret half in
 * the playbook's text, half in a value) loses its pieces, and is then escaped as host text throughout.
 */
export function maskProse(list: readonly Prose[], mask: (s: string) => string): Prose[] {
  return list.flatMap((p) => {
    const masked = p.map(mask);
    return proseText(masked) === mask(proseText(p)) ? [masked] : [];
  });
}
