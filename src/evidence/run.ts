import { Buffer } from "node:buffer";
import type { ParseContext, ParseResult, Parser, RecordBase } from "./types.js";

/** How much of a text goes to a parser's block at a time. */
const BLOCK = 1 << 20;

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
  // A parser that reads blocks (nginx-error) gets the whole lines a block at a time when they are ASCII
  // without `\r` (a block then splits as this loop does), each block's bytes a copy of about 1 MiB.
  // (A text of one line, as a fragment reader's joined pair is, is not looked at twice.)
  const block = feeder.block;
  const last = block === undefined ? -1 : text.lastIndexOf("\n");
  if (block !== undefined && last >= 0 && text.indexOf("\r") < 0 && Buffer.byteLength(text) === text.length) {
    while (start <= last) {
      let end = last + 1;
      if (end - start > BLOCK) {
        const nl = text.lastIndexOf("\n", start + BLOCK - 1);
        end = (nl >= start ? nl : text.indexOf("\n", start + BLOCK)) + 1;
      }
      const piece = text.slice(start, end);
      lineNo += block.call(feeder, Buffer.from(piece, "latin1"), piece, 0, piece.length, lineNo + 1);
      start = end;
    }
  }
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
