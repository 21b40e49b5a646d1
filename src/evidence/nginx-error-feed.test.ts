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

/** feedLines to a feeder that also reads blocks (as the nginx error-log parser does): each line once, in order. */
async function viaFeedBlocks(chunks: (Buffer | string)[]): Promise<{ lines: string[]; inBlocks: number }> {
  const lines: string[] = [];
  let inBlocks = 0;
  const count = await feedLines(Readable.from(chunks), {
    line: (text, lineNo) => {
      lines.push(text);
      expect(lineNo).toBe(lines.length);
    },
    block: (bytes, text, from, to, lineNo) => {
      expect(Buffer.from(bytes.subarray(from, to)).toString("latin1")).toBe(text.slice(from, to));
      expect(text.charCodeAt(to - 1)).toBe(10);
      expect(lineNo).toBe(lines.length + 1);
      const got = text.slice(from, to - 1).split("\n");
      lines.push(...got);
      inBlocks += got.length;
      return got.length;
    },
    end: () => {},
  });
  expect(count).toBe(lines.length);
  return { lines, inBlocks };
}

/** feedLines with a bound: the lines it feeds and the ones it skips, each with its number. */
async function bounded(chunks: (Buffer | string)[], max: number) {
  const fed: [number, string][] = [];
  const skipped: [number, string][] = [];
  const count = await feedLines(
    Readable.from(chunks),
    { line: (text, lineNo) => fed.push([lineNo, text]), end: () => {} },
    { maxLineLength: max, overlong: (lineNo, start) => skipped.push([lineNo, start]) },
  );
  return { fed, skipped, count };
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

  it("are readline's when the feeder reads blocks, for random bytes and lines cut into random chunks", async () => {
    // The LCG's high bits (its low bits repeat with a short period, which never gives two line breaks close).
    const next = lcg(2502);
    const rnd = (n: number) => Math.floor((next(2 ** 31) / 2 ** 31) * n);
    let inBlocks = 0;
    for (let t = 0; t < 1500; t++) {
      const bytes: number[] = [];
      // Mostly ASCII lines, so that many chunks hold whole lines to read as a block.
      for (let i = rnd(40); i > 0; i--) {
        const atom =
          rnd(4) === 0 ? (ATOMS[rnd(ATOMS.length)] ?? []) : rnd(3) === 0 ? [0x0a] : [0x61 + rnd(3)];
        bytes.push(...atom);
      }
      const whole = Buffer.from(bytes);
      const chunks: Buffer[] = [];
      for (let at = 0; at < whole.length; ) {
        const n = 1 + rnd(20);
        chunks.push(whole.subarray(at, at + n));
        at += n;
      }
      const got = await viaFeedBlocks(chunks);
      expect(got.lines, JSON.stringify(chunks)).toEqual(await viaReadline(chunks));
      inBlocks += got.inBlocks;
    }
    expect(inBlocks).toBeGreaterThan(1000);
  });

  it("are readline's with the lines longer than the bound skipped, numbered as readline numbers them", async () => {
    const rnd = lcg(1502);
    for (let t = 0; t < 1500; t++) {
      const bytes: number[] = [];
      for (let i = rnd(40); i > 0; i--) {
        const atom = ATOMS[rnd(ATOMS.length)] ?? [];
        for (let k = rnd(4) === 0 ? 1 + rnd(8) : 1; k > 0; k--) bytes.push(...atom);
      }
      const whole = Buffer.from(bytes);
      const source = rnd(3) === 0 ? whole.toString("utf8") : whole;
      const chunks: (Buffer | string)[] = [];
      for (let at = 0; at < source.length; ) {
        const n = 1 + rnd(6);
        chunks.push(source.slice(at, at + n));
        at += n;
      }
      const max = 1 + rnd(8);
      const lines = (await viaReadline(chunks)).map((l, i): [number, string] => [i + 1, l]);
      const got = await bounded(chunks, max);
      const label = JSON.stringify({ chunks, max });
      expect(got.fed, label).toEqual(lines.filter(([, l]) => l.length <= max));
      const long = lines.filter(([, l]) => l.length > max);
      expect(
        got.skipped.map(([n]) => n),
        label,
      ).toEqual(long.map(([n]) => n));
      // What was read of a skipped line before it was found too long: its start, at least the bound.
      for (const [i, [, start]] of got.skipped.entries()) {
        const line = long[i]?.[1] ?? "";
        expect(line.startsWith(start) && start.length >= Math.min(120, max + 1), label).toBe(true);
      }
      expect(got.count, label).toBe(lines.length);
    }
  });

  it("skip a line longer than V8's longest string without holding it, and read on after it", async () => {
    // 600 MB of one line: kept whole, it could not even be a string (V8's limit is about 512 M characters).
    const piece = Buffer.alloc(1 << 20, 0x78);
    const head = "2026/11/25 13:19:16 [error] 22593#22593: *1 ";
    async function* input() {
      yield Buffer.from(`first\r\n${head}`);
      for (let i = 0; i < 600; i++) yield piece;
      yield Buffer.from("\r");
      yield Buffer.from("\nlast\n");
    }
    const fed: [number, string][] = [];
    const skipped: [number, string][] = [];
    const count = await feedLines(
      input(),
      { line: (text, lineNo) => fed.push([lineNo, text]), end: () => {} },
      { overlong: (lineNo, start) => skipped.push([lineNo, start]) },
    );
    expect(count).toBe(3);
    expect(fed).toEqual([
      [1, "first"],
      [3, "last"],
    ]);
    expect(skipped).toEqual([[2, `${head}${"x".repeat(120 - head.length)}`]]);
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
