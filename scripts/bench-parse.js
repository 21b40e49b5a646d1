#!/usr/bin/env node
// One measurement: stream FILE through the nginx-error parser; print bytes, time, records and peak RSS as JSON.
import { createReadStream } from "node:fs";
import { nginxErrorParser } from "../dist/evidence/nginx-error.js";

const file = process.argv[2];
let records = 0;
let unreadable = 0;
const feeder = nginxErrorParser.start(
  { host: "bench", source: file, utcOffsetMinutes: 0 },
  { record: () => records++, unreadable: () => unreadable++ },
);
const started = process.hrtime.bigint();
let bytes = 0;
let lineNo = 0;
let rest = "";
const stream = createReadStream(file, { encoding: "utf8", highWaterMark: 1 << 20 });
for await (const chunk of stream) {
  bytes += Buffer.byteLength(chunk);
  const text = rest + chunk;
  let start = 0;
  for (;;) {
    const nl = text.indexOf("\n", start);
    if (nl === -1) break;
    feeder.line(text.slice(start, nl), ++lineNo);
    start = nl + 1;
  }
  rest = text.slice(start);
}
if (rest) feeder.line(rest, ++lineNo);
feeder.end();
const ms = Number(process.hrtime.bigint() - started) / 1e6;
process.stdout.write(
  `${JSON.stringify({ bytes, ms, lines: lineNo, records, unreadable, maxRssKb: process.resourceUsage().maxRSS })}\n`,
);
