import type { ParseContext, ParseResult, Parser, RecordBase } from "./types.js";

/** Parse a whole text with a streaming parser and collect the results. */
export function parseText<R extends RecordBase>(
  parser: Parser<R>,
  text: string,
  ctx: ParseContext,
): ParseResult<R> {
  const records: R[] = [];
  const unreadable: ParseResult<R>["unreadable"] = [];
  const feeder = parser.start(ctx, {
    record: (r) => records.push(r),
    unreadable: (u) => unreadable.push(u),
  });
  let lineNo = 0;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf("\n", start);
    if (end === -1) end = text.length;
    lineNo++;
    let line = text.slice(start, end);
    if (line.endsWith("\r")) line = line.slice(0, -1);
    feeder.line(line, lineNo);
    start = end + 1;
  }
  feeder.end();
  return { records, unreadable };
}
