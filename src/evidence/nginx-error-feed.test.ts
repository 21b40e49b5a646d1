import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { feedLines } from "../cli/parse.js";
import { nginxErrorParser } from "./nginx-error.js";

/**
 * `why502 parse` splits stdin with feedLines, not readline, for speed: the lines (and so the records)
 * must be the ones readline gives, whatever the bytes and however the stream cuts them.
 */
async function viaReadline(chunks: (Buffer | string)[]): Promise<string[]> {
  const out: string[] = [];
  const rl = createInterface({ input: Readable.from(chunks), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of rl) out.push(line);
  return out;
}

async function viaFeedLines(chunks: (Buffer | string)[]): Promise<string[]> {
  const out: string[] = [];
  const count = await feedLines(Readable.from(chunks), {
    line: (text, lineNo) => {
      out.push(text);
      expect(lineNo).toBe(out.length);
    },
    end: () => {},
  });
  expect(count).toBe(out.length);
  return out;
}

/** Deterministic pseudo-random numbers (a fixed LCG), so a failure can be replayed. */
function lcg(seed: number): (n: number) => number {
  let x = seed;
  return (n) => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x % n;
  };
}

/** Line breaks of every kind, whole and cut UTF-8 characters, bytes that are no UTF-8 at all. */
const ATOMS = [
  [0x61],
  [0x20],
  [0x0a],
  [0x0d],
  [0x0d, 0x0a],
  [0xc3, 0xa9],
  [0xc3],
  [0xa9],
  [0xe2, 0x82, 0xac],
  [0xe2, 0x82],
  [0xf0, 0x9f, 0x98, 0x80],
  [0xf0, 0x9f],
  [0xed, 0xa0, 0x80],
  [0xff],
];

describe("nginx-error: the lines `why502 parse` reads", () => {
  it("are readline's for random bytes cut into random chunks, as Buffers and as strings", async () => {
    const rnd = lcg(502);
    for (let t = 0; t < 1500; t++) {
      const bytes: number[] = [];
      for (let i = rnd(30); i > 0; i--) bytes.push(...(ATOMS[rnd(ATOMS.length)] ?? []));
      const whole = Buffer.from(bytes);
      const chunks: (Buffer | string)[] = [];
      const asText = rnd(3) === 0;
      const source = asText ? whole.toString("utf8") : whole;
      for (let at = 0; at < source.length; ) {
        const n = 1 + rnd(6);
        chunks.push(source.slice(at, at + n));
        at += n;
      }
      expect(await viaFeedLines(chunks), JSON.stringify(chunks)).toEqual(await viaReadline(chunks));
    }
  });

  it("give the parser the same records as readline's for a real log in 64 kB chunks", async () => {
    const text = readFileSync(new URL("./__fixtures__/nginx-error/captured-1.22-http.txt", import.meta.url));
    const log = Buffer.concat(Array.from({ length: 400 }, () => text));
    const chunks: Buffer[] = [];
    for (let at = 0; at < log.length; at += 65536) chunks.push(log.subarray(at, at + 65536));
    const records = (lines: string[]) => {
      const out: string[] = [];
      const feeder = nginxErrorParser.start(
        { host: "h", source: "s", utcOffsetMinutes: 60 },
        { record: (r) => out.push(JSON.stringify(r)), unreadable: (u) => out.push(JSON.stringify(u)) },
      );
      for (const [i, l] of lines.entries()) feeder.line(l, i + 1);
      feeder.end();
      return out;
    };
    const mine = records(await viaFeedLines(chunks));
    expect(mine).toHaveLength(400 * 78);
    expect(mine).toEqual(records(await viaReadline(chunks)));
  });
});
