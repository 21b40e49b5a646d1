#!/usr/bin/env node
// One measurement: stream FILE through the nginx-error parser, split into lines as `why502 parse` splits
// stdin; print bytes, time, records and peak RSS as JSON.
import { createReadStream } from "node:fs";
import { feedLines } from "../dist/cli/parse.js";
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
async function* counted(stream) {
  for await (const chunk of stream) {
    bytes += chunk.length;
    yield chunk;
  }
}
let overlong = 0;
const lines = await feedLines(counted(createReadStream(file, { highWaterMark: 1 << 16 })), feeder, {
  overlong: () => overlong++,
});
feeder.end();
const ms = Number(process.hrtime.bigint() - started) / 1e6;
process.stdout.write(
  `${JSON.stringify({ bytes, ms, lines, records, unreadable, overlong, maxRssKb: process.resourceUsage().maxRSS })}\n`,
);
