/**
 * Where an nginx error-log message's parts are: its action after the last ` while `, its errno. Shared by
 * the line parser (nginx-error.ts) and the block reader (nginx-error-block.ts), which reads each message
 * once and then only its id.
 */

/**
 * The last ` while ` that starts from `from` to `before`, -1 when none (a forward search: V8's
 * lastIndexOf is slow, and a message rarely holds more than one).
 */
export function lastWhileAt(s: string, from: number, before: number): number {
  let found = -1;
  for (let i = s.indexOf("while ", from + 1); i >= 0 && i <= before + 1; i = s.indexOf("while ", i + 1)) {
    if (s.charCodeAt(i - 1) === 32) found = i - 1;
  }
  return found;
}

/**
 * The first ` (111: Connection refused)` from `from` to `end`: errno and text; "open" when one is opened
 * and not closed before `end` (the line was cut in it).
 */
export function errnoIn(
  s: string,
  from: number,
  end: number,
): { errno: number; text: string } | "open" | undefined {
  for (let q = s.indexOf("(", from + 1); q >= 0 && q < end; q = s.indexOf("(", q + 1)) {
    if (s.charCodeAt(q - 1) !== 32) continue;
    let d = q + 1;
    let errno = 0;
    while (d < end) {
      const c = s.charCodeAt(d) - 48;
      if (c < 0 || c > 9) break;
      errno = errno * 10 + c;
      d++;
    }
    if (d === q + 1 || d + 1 >= end || s.charCodeAt(d) !== 58 || s.charCodeAt(d + 1) !== 32) continue;
    const close = s.indexOf(")", d + 2);
    if (close < 0 || close >= end) return "open";
    // Up to 15 digits the sum is exact; beyond, Number() of the digits rounds once, not at each digit.
    if (d - q - 1 > 15) errno = Number(s.slice(q + 1, d));
    return { errno, text: s.slice(d + 2, close) };
  }
  return undefined;
}
