// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is what this file is about
const NUL = /\u0000/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is what this file is about
const BAD = /[\u0000\uFFFD]/;
const EDGES = /^\uFFFD+|\uFFFD+$/g;

/** A line holding bytes that are not text, made safe to keep and to read. */
export interface BadBytes {
  /** The line with each NUL shown as U+FFFD, as invalid UTF-8 already is once decoded: the evidence kept. */
  shown: string;
  /**
   * `shown` without the runs of U+FFFD at either end: the NUL padding a crash leaves in a log file before the
   * next line written, a character cut in two by the byte cap. Patterns anchored at the start or end of a
   * line read this.
   */
  readable: string;
}

/** Undefined for a line of text (no NUL, no U+FFFD): the common case costs one test. */
export function badBytes(line: string): BadBytes | undefined {
  if (!BAD.test(line)) return undefined;
  const shown = line.replace(NUL, "\uFFFD");
  return { shown, readable: shown.replace(EDGES, "") };
}
