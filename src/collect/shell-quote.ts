/**
 * Quotes a string as one POSIX `sh` word: single quotes, with each embedded quote closed, escaped
 * as `"'"` and reopened (`it's` becomes `'it'"'"'s'`). Nothing inside single quotes is special to
 * the shell, so the result is safe for any input except NUL (which no shell word can hold) and
 * newline (rejected so that one quoted word is always one line of a script and cannot break the
 * line-oriented framing of the collection script). Callers validate their inputs earlier; reaching
 * the throw is a programming error.
 */
export function shQuote(s: string): string {
  if (s.includes("\0")) throw new Error("shQuote: NUL byte in shell argument");
  if (s.includes("\n")) throw new Error("shQuote: newline in shell argument");
  return `'${s.replaceAll("'", `'"'"'`)}'`;
}
