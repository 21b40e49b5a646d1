import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { capture } from "../../test/support/run-main.js";
import type { Io } from "./io.js";
import { MAX_LINE_LENGTH, runParse } from "./parse.js";

const fixture = readFileSync(
  new URL("../evidence/__fixtures__/nginx-error/captured-1.22-http.txt", import.meta.url),
  "utf8",
).split("\n");

async function parse(
  stdin: AsyncIterable<Buffer>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = capture();
  const err = capture();
  const io = { env: {}, stdin, stdout: out.stream, stderr: err.stream } as unknown as Io;
  const code = await runParse(["nginx-error"], io);
  return { code, stdout: out.text(), stderr: err.text() };
}

describe("why502 parse: a line too long to read", () => {
  it("is skipped as it streams and reported, and the lines after it are read", async () => {
    // A real line, then one of 50 MB (a real head and its message run on), then two real lines.
    const [first, second, third] = [fixture[1], fixture[3], fixture[5]] as string[];
    const piece = Buffer.alloc(1 << 16, 0x61);
    async function* stdin() {
      yield Buffer.from(`${first}\n${second}`);
      for (let i = 0; i < 800; i++) yield piece;
      yield Buffer.from(`\n${third}\n${first}\n`);
    }
    const r = await parse(stdin());
    expect(r.code).toBe(0);
    const records = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(records.map((x) => [x.line, x.text])).toEqual([
      [1, first],
      [3, third],
      [4, first],
    ]);
    expect(r.stderr).toBe(
      "why502 parse nginx-error: 3 records, 1 of 4 lines unreadable:\n" +
        `  line 2: longer than ${MAX_LINE_LENGTH} characters, skipped: ${JSON.stringify(`${second}${"a".repeat(120)}`.slice(0, 120))}\n` +
        `why502 parse nginx-error: skipped 1 line longer than ${MAX_LINE_LENGTH} characters (1 MiB) without reading them; split or cut such lines (e.g. \`cut -c1-65536\`) to read them.\n`,
    );
  });

  it("is a user error when every line is one", async () => {
    const piece = Buffer.alloc(1 << 20, 0x61);
    async function* stdin() {
      for (let i = 0; i < 3; i++) yield piece;
    }
    await expect(parse(stdin())).rejects.toThrow(
      "No line of the input reads as nginx-error (1 of 1 lines unreadable, first at line 1).",
    );
  });
});
