import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fuzzSettings } from "../../test/support/fuzz.js";
import { feedLines } from "../cli/parse.js";
import { nginxErrorParser } from "./nginx-error.js";
import { ROW_LAYOUT, scannerGlobal } from "./nginx-error-block.js";
import { parsers } from "./registry.js";
import { parseText } from "./run.js";
import type { LineFeeder, Parser, RecordBase } from "./types.js";

/**
 * The block reader (the WebAssembly scanner and nginx-error-block.ts) must give what the line parser gives,
 * record for record and field for field, for every line: the real captures, the same lines cut, spliced,
 * stretched past nginx's limit, wrapped in other bytes, thousands of distinct messages, blocks larger than
 * the scanner holds.
 */

const FIXTURES = new URL("./__fixtures__/nginx-error/", import.meta.url);
const fixtureLines: string[] = readdirSync(FIXTURES)
  .filter((f) => f.endsWith(".txt"))
  .sort()
  .flatMap((f) => readFileSync(new URL(f, FIXTURES), "latin1").split("\n"));

interface Seen {
  out: string[];
  /** Lines the feeder's `line` was given (for the block feeder: those the scanner left to the line parser). */
  viaLine: number;
}

/** The parser under test: the line parser itself, or with fragments read too (as the registry gives it). */
let subject: Parser<RecordBase> = nginxErrorParser as unknown as Parser<RecordBase>;

async function parse(chunks: Buffer[], blocks: boolean, maxLineLength?: number): Promise<Seen> {
  const out: string[] = [];
  const feeder = subject.start(
    { host: "h", source: "s", utcOffsetMinutes: 90 },
    { record: (r) => out.push(JSON.stringify(r)), unreadable: (u) => out.push(JSON.stringify(u)) },
  );
  const seen: Seen = { out, viaLine: 0 };
  const line = feeder.line;
  feeder.line = (text, n) => {
    seen.viaLine++;
    line(text, n);
  };
  const used: LineFeeder = blocks
    ? feeder
    : { line: (text, n) => feeder.line(text, n), end: () => feeder.end() };
  async function* input() {
    yield* chunks;
  }
  const count = await feedLines(input(), used, maxLineLength === undefined ? {} : { maxLineLength });
  used.end();
  out.push(`lines: ${count}`);
  return seen;
}

/** Cut `bytes` into chunks of the given sizes, over and over. */
function chunked(bytes: Buffer, sizes: number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let k = 0;
  for (let at = 0; at < bytes.length; k++) {
    const n = sizes[k % sizes.length] ?? 65536;
    chunks.push(bytes.subarray(at, at + n));
    at += n;
  }
  return chunks;
}

async function expectSame(text: string, sizes: number[] = [65536], maxLineLength?: number): Promise<Seen> {
  const bytes = Buffer.from(text, "latin1");
  const chunks = chunked(bytes, sizes);
  const byBlocks = await parse(chunks, true, maxLineLength);
  const byLines = await parse(chunks, false, maxLineLength);
  expect(byBlocks.out.length).toBe(byLines.out.length);
  for (const [i, r] of byBlocks.out.entries()) expect(r, `record ${i}`).toBe(byLines.out[i]);
  return byBlocks;
}

/** What a paste or a log shipper splices into a line, and what makes the scanner's decisions. */
const PIECES = [
  " ",
  ",",
  "(",
  ")",
  '"',
  ":",
  "#",
  "*",
  "1",
  "\u00e9",
  "\r",
  "\t",
  "$",
  "] ",
  ", client: ",
  '", ',
  '", host: ',
  '", :',
  '", Host: "',
  " (",
  " while ",
  "sent in stderr: ",
  ", resolver: ",
  ", resolver:",
  ", bytes from/to client:",
  ", bytes from/to client ",
  "*1 ",
  "[error] ",
];

/** A fixture line changed the way logs and pastes change them. */
const mutated: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom(...fixtureLines),
    fc.constantFrom(
      "none",
      "cut",
      "insert",
      "delete",
      "long-request",
      "long-message",
      "pager",
      "digits",
      "level",
      "stderr",
      "return",
      "non-ascii",
      "fields",
      "quote",
    ),
    // Unbiased: fast-check prefers small numbers, which would cut and splice near the start only.
    fc.noBias(fc.nat(1_000_000)),
    fc.constantFrom(...PIECES),
  )
  .map(([line, how, n, piece]) => {
    const at = line.length === 0 ? 0 : n % (line.length + 1);
    switch (how) {
      case "cut":
        return line.slice(0, at);
      case "insert":
        return line.slice(0, at) + piece + line.slice(at);
      case "delete":
        return line.slice(0, at) + line.slice(at + 1 + (n % 7));
      case "long-request":
        return line.replace(
          /request: "([A-Z]+) \//,
          (_, m) => `request: "${m} /${"x".repeat(1900 + (n % 300))}`,
        );
      case "long-message":
        return line.replace(/\*(\d+) /, (_, c) => `*${c} ${"word ".repeat(150 + (n % 300))}`);
      case "pager":
        return `${line.slice(0, Math.max(at, 40))}$`;
      case "digits":
        return line.replace(/\d+/, String(n).repeat(1 + (n % 4)));
      case "level":
        return line.replace(
          /\[(\w+)\]/,
          ["[crit]", "[alert]", "[emerg]", "[debug]", "[notice]", "[warning]"][n % 6] ?? "",
        );
      case "stderr":
        return line.replace(
          /\*(\d+) /,
          (_, c) => `*${c} FastCGI sent in stderr: "PHP message: ${piece}" while `,
        );
      case "return":
        return `${line}\r`;
      case "non-ascii":
        return `${line.slice(0, at)}\u00e9${line.slice(at)}`;
      case "fields":
        return line.replace(
          ", client: ",
          [
            ", resolver: ",
            ", resolver:",
            ", bytes from/to client:1/2, client: ",
            ", bytes from/to client 1/2, client: ",
            ", bytes from/to client:",
            ", bytes from/to client ",
            ", resolver: 1, client: ",
            ",",
          ][n % 8] ?? "",
        );
      case "quote":
        // Cut just after a quote: a value opened and never closed, or closed at the very end.
        return line.slice(0, line.lastIndexOf('"', at) + 1);
      default:
        return line;
    }
  });

describe("nginx-error: the block reader", () => {
  it("reads rows laid out as the scanner writes them", () => {
    for (const [name, value] of Object.entries(ROW_LAYOUT)) expect(scannerGlobal(name), name).toBe(value);
    expect(scannerGlobal("SLOW")).not.toBe(ROW_LAYOUT.FAST);
  });

  it("reads a plain log's lines itself, handing back only those it is unsure of", async () => {
    const http = readFileSync(new URL("captured-1.22-http.txt", FIXTURES), "latin1");
    const seen = await expectSame(http.repeat(50));
    const lines = http.split("\n").length - 1;
    expect(seen.viaLine).toBeLessThan(lines * 50 * 0.05);
  });

  it("reads a block given by a sink while it reads another (one scanner, its rows not overwritten)", async () => {
    const http = readFileSync(new URL("captured-1.22-http.txt", FIXTURES), "latin1").repeat(20);
    const bytes = Buffer.from(http, "latin1");
    const last = http.lastIndexOf("\n") + 1;
    const other = readFileSync(new URL("captured-1.22-unix.txt", FIXTURES), "latin1").repeat(20);
    const otherBytes = Buffer.from(other, "latin1");
    const otherLast = other.lastIndexOf("\n") + 1;
    const read = (nested: boolean): string[] => {
      const out: string[] = [];
      const inner = nginxErrorParser.start(
        { host: "inner", source: "s", utcOffsetMinutes: 0 },
        { record: (r) => out.push(JSON.stringify(r)), unreadable: (u) => out.push(JSON.stringify(u)) },
      );
      let first = true;
      const outer = nginxErrorParser.start(
        { host: "outer", source: "s", utcOffsetMinutes: 0 },
        {
          record: (r) => {
            out.push(JSON.stringify(r));
            if (first && nested) {
              first = false;
              inner.block?.(otherBytes, other, 0, otherLast, 1);
            }
          },
          unreadable: (u) => out.push(JSON.stringify(u)),
        },
      );
      if (!nested) {
        outer.block?.(bytes, http, 0, last, 1);
        // The same records in the order the nested reading gives them: the inner log's after the first.
        const firstRecord = out.shift() as string;
        const outerRest = out.splice(0);
        inner.block?.(otherBytes, other, 0, otherLast, 1);
        return [firstRecord, ...out, ...outerRest];
      }
      outer.block?.(bytes, http, 0, last, 1);
      return out;
    };
    const nested = read(true);
    expect(nested.length).toBeGreaterThan(1500);
    expect(nested).toEqual(read(false));
  });
});

describe("nginx-error: without the scanner", () => {
  it("`why502 parse` reads line by line, to the same output, and says once what to run", () => {
    const root = fileURLToPath(new URL("../../", import.meta.url));
    const dir = mkdtempSync(join(tmpdir(), "why502-no-scanner-"));
    try {
      // The built command without build/ (what a build that skipped the scanner leaves).
      cpSync(join(root, "dist"), join(dir, "dist"), { recursive: true });
      cpSync(join(root, "bin"), join(dir, "bin"), { recursive: true });
      cpSync(join(root, "package.json"), join(dir, "package.json"));
      symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
      const input = readFileSync(new URL("captured-1.22-http.txt", FIXTURES)).toString("latin1").repeat(30);
      const run = (home: string) =>
        spawnSync(process.execPath, [join(home, "bin/why502.js"), "parse", "nginx-error"], {
          input,
          encoding: "utf8",
          maxBuffer: 64 << 20,
        });
      const withScanner = run(root);
      const without = run(dir);
      expect(withScanner.status).toBe(0);
      expect(without.status).toBe(0);
      expect(withScanner.stdout.length).toBeGreaterThan(100_000);
      expect(without.stdout).toBe(withScanner.stdout);
      expect(withScanner.stderr).not.toContain("scanner");
      expect(without.stderr.match(/scanner .* is missing.*run npm run build/g)).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.each([
  ["the line parser", nginxErrorParser as unknown as Parser<RecordBase>],
  [
    "the parser with fragments (what `why502 parse` and the diagnosis use)",
    parsers["nginx-error"] as unknown as Parser<RecordBase>,
  ],
])("nginx-error blocks read by %s", (_, parser) => {
  beforeAll(() => {
    subject = parser;
  });
  afterAll(() => {
    subject = nginxErrorParser as unknown as Parser<RecordBase>;
  });

  it("gives the line parser's records for every fixture, in 64 kB chunks and in chunks of a few bytes", async () => {
    const text = `${fixtureLines.join("\n")}\n`;
    await expectSame(text);
    await expectSame(text, [1, 7, 300, 4096]);
  });

  it("gives the line parser's records for fixture lines changed at random, in random chunks", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(mutated, { minLength: 1, maxLength: 60 }),
        fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 5 }),
        fc.boolean(),
        async (lines, sizes, lastBreak) => {
          await expectSame(lines.join("\n") + (lastBreak ? "\n" : ""), sizes);
        },
      ),
      fuzzSettings(150),
    );
  });

  it("gives the line parser's records for every cut and every splice of real lines", async () => {
    const plain = fixtureLines.filter((l) => /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[/.test(l));
    // A line of each shape: with fields, with a quoted request and upstream, without fields, a stream line.
    const bases = [
      ...new Set(
        [
          /, host: "[^"]*"$/,
          /upstream: "[^"]*"$/,
          /connection$/,
          /bytes from\/to/,
          /referrer: /,
          /, server: [^,]*$/,
        ]
          .map((re) => plain.find((l) => re.test(l)))
          .filter((l): l is string => l !== undefined),
      ),
    ];
    expect(bases.length).toBeGreaterThanOrEqual(5);
    const lines: string[] = [];
    for (const base of bases) {
      for (let at = 0; at <= base.length; at++) {
        lines.push(base.slice(0, at));
        // Without the pieces that make a chunk the line parser's whole (a non-ASCII byte, a `\r`).
        for (const piece of PIECES) {
          if (piece !== "\u00e9" && piece !== "\r") lines.push(base.slice(0, at) + piece + base.slice(at));
        }
        lines.push(base.slice(0, at) + base.slice(at + 1));
      }
    }
    await expectSame(`${lines.join("\n")}\n`);
  });

  it("gives the line parser's records for lines around nginx's 2048-byte limit", async () => {
    const base = fixtureLines.find((l) => /^\d{4}\/.* request: "GET \//.test(l) && l.endsWith('"')) ?? "";
    const lines: string[] = [];
    for (let length = 2030; length <= 2050; length++) {
      const padded = base.replace('request: "GET /', `request: "GET /${"z".repeat(length - base.length)}`);
      expect(padded).toHaveLength(length);
      // Whole, ending in a pager's `$`, cut inside a quoted value, cut inside an errno.
      lines.push(padded, `${padded.slice(0, -1)}$`, padded.slice(0, padded.lastIndexOf('"') - 3));
      lines.push(padded.replace(/\((\d+): [^)]*\)/, (_, n) => `(${n}: ${"w".repeat(2100)}`).slice(0, length));
    }
    await expectSame(`${lines.join("\n")}\n`);
  });

  it("keeps giving the right message when there are more distinct ones than its table holds", async () => {
    const lines: string[] = [];
    for (let i = 0; i < 12_000; i++) {
      const addr = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:8080`;
      const errno = [111, 113, 110, 2][i % 4];
      lines.push(
        `2026/11/25 13:19:${String(i % 60).padStart(2, "0")} [error] 7#7: *${i} connect() to ${addr} failed (${errno}: x) while connecting to upstream, client: 127.0.0.1, server: a, request: "GET / HTTP/1.1", upstream: "http://${addr}/", host: "a"`,
      );
    }
    // A message longer than the table keeps: read by the line parser.
    lines.push(
      `2026/11/25 13:19:16 [error] 7#7: *1 ${"long ".repeat(400)}while connecting to upstream, client: 1`,
    );
    await expectSame(`${lines.join("\n")}\n`);
  });

  it("reads a block larger than the scanner holds, and a line longer than it", async () => {
    const http = readFileSync(new URL("captured-1.22-http.txt", FIXTURES), "latin1");
    const huge = `2026/11/25 13:19:16 [error] 7#7: *1 upstream timed out (110: x) while reading, client: 1, request: "GET /${"y".repeat(1_200_000)} HTTP/1.1"`;
    const text = `${http.repeat(400)}${huge}\n${"\n".repeat(20_000)}${http.repeat(10)}`;
    await expectSame(text, [text.length], 8 << 20);
  });

  it("gives parseText's callers (the diagnosis) the records of reading line by line", () => {
    const text = `${fixtureLines.filter((l) => !l.includes("\r")).join("\n")}\n${fixtureLines[0]}`;
    const lineByLine: Parser<RecordBase> = {
      ...subject,
      start: (ctx, sink) => {
        const f = subject.start(ctx, sink);
        return { line: (t, n) => f.line(t, n), end: () => f.end() };
      },
    };
    const ctx = { host: "h", source: "s", utcOffsetMinutes: 30 };
    const ascii = text.replace(/[\u0080-\uffff]/g, "?");
    let blocks = 0;
    const counted: Parser<RecordBase> = {
      ...subject,
      start: (ctx, sink) => {
        const f = subject.start(ctx, sink);
        const block = f.block;
        if (block !== undefined) {
          f.block = (...args) => {
            blocks++;
            return block.apply(f, args);
          };
        }
        return f;
      },
    };
    // One block, and several of parseText's 1 MiB blocks.
    const big = ascii.repeat(Math.ceil((2.5 * 2 ** 20) / ascii.length));
    for (const t of [ascii, big]) {
      const got = parseText(counted, t, ctx);
      const want = parseText(lineByLine, t, ctx);
      expect(got.records.map((r) => JSON.stringify(r))).toEqual(want.records.map((r) => JSON.stringify(r)));
      expect(got.unreadable).toEqual(want.unreadable);
      expect(got.records.length).toBeGreaterThan(100);
    }
    expect(blocks).toBeGreaterThanOrEqual(4);
  });
});
