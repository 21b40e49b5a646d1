import { clip } from "./sanitize.js";

export { WHEN } from "./sanitize.js";

/**
 * A value taken from the pasted line (an address, a path, a unit name), as an inline code span. Backticks in
 * it are replaced so the span cannot be closed early: in Slack everything inside stays literal.
 */
export function code(value: string, max = 120): string {
  const v = value.replace(/`/g, "ˋ").trim();
  return v === "" ? "(empty)" : `\`${clip(v, max)}\``;
}

/** `1 restart`, `3 restarts`. */
export function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** Kilobytes as people read them: `63.6 MB`. */
export function kb(n: number): string {
  if (n < 1024) return `${n} kB`;
  const mb = n / 1024;
  return mb < 1024 ? `${mb.toFixed(1)} MB` : `${(mb / 1024).toFixed(2)} GB`;
}
