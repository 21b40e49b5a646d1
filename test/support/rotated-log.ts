import { nginxLine, TRACE, wall } from "./run-script.js";

/** Runs of a UTC nginx error log, one line a second counted from `t0`, as the log-window rotation tests write them. */
export function rotatedLog(t0: number) {
  /** `n` lines from second `from` on, each with its second as connection number, a stack trace after every 97th. */
  const block = (from: number, n: number) =>
    Array.from(
      { length: n },
      (_, i) => nginxLine(wall(t0 + from + i, 0), from + i) + (i % 97 === 0 ? TRACE : ""),
    ).join("");
  /** `text` from its line of second `since` on. */
  const from = (text: string, since: number) => text.slice(text.indexOf(wall(t0 + since, 0)));
  /** What a window starting at second `since` keeps of `block(from, n)`: all of it when it starts before. */
  const part = (from: number, n: number, since: number) => {
    const lines = block(from, n);
    const at = lines.indexOf(wall(t0 + since, 0));
    return at < 0 ? (since < from ? lines : "") : lines.slice(at);
  };
  return { block, from, part };
}
