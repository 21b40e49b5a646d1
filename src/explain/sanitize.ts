/**
 * Pasted text is untrusted: it may hold terminal escape sequences (colour, window titles, hyperlinks),
 * NUL bytes, stray carriage returns, bidirectional overrides or invalid UTF-8 (already replaced by U+FFFD
 * when the bytes were decoded). Two views of each line: one for the parsers (escapes and controls removed)
 * and one to show people (controls made visible, never raw).
 */

/** CSI (`ESC [ ... final`), OSC (`ESC ] ... BEL|ST`), DCS/SOS/PM/APC strings and two-byte ESC sequences. */
const ESCAPES =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences are control characters
  /\u001b\[[0-?]*[ -/]*[@-~]|\u001b[\]PX^_][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[ -/]*[0-~]|\u009b[0-?]*[ -/]*[@-~]/g;
/** SGR (colour) sequences only: dropped from what is shown, since they carry no text. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences are control characters
const SGR = /\u001b\[[0-9;:]*m/g;
/** C0 (but tab), DEL and C1 controls. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;
/** Invisible characters that reorder or hide text (bidi overrides and isolates, zero-width, line separators). */
const INVISIBLE = /[\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ue000-\uf8ff]/g;

/** Marker a recogniser puts where the orchestrator writes the line's time ("around 13:26:12 UTC"). */
export const WHEN = "\ue000when\ue000";

/** Split a paste into lines: `\n` or `\r\n`; a lone `\r` stays inside its line (and is shown, not obeyed). */
export function splitLines(text: string): string[] {
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] ?? "";
    if (l.endsWith("\r")) lines[i] = l.slice(0, -1);
  }
  if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/** The copy the parsers read: escape sequences and control characters removed, tabs kept. */
export function forParsing(line: string): string {
  let s = line;
  if (s.includes("\u001b") || s.includes("\u009b")) s = s.replace(ESCAPES, "");
  return s.replace(CONTROL, "").replace(INVISIBLE, "");
}

function hex(c: string): string {
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`;
}

/**
 * What may be shown to a person: colour sequences dropped, a tab as a space, every other control or
 * invisible character as a visible `\xNN` or `\u{NNNN}` escape.
 */
export function visible(text: string): string {
  let s = text;
  if (s.includes("\u001b")) s = s.replace(SGR, "");
  return s.replace(/\t/g, " ").replace(CONTROL, hex).replace(INVISIBLE, hex);
}

/** At most `max` characters, with `…` when cut: the renderers' own clip. */
export { clip } from "../diagnosis/render/escape.js";
