import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parsers } from "./registry.js";
import { parseText } from "./run.js";
import { EvidenceKind, type Parser, type RecordBase } from "./types.js";

const here = new URL("./", import.meta.url).pathname;
/** The shared fixture tree, and the `__fixtures__` of each kind that has a folder of its own. */
const fixtureRoots = [
  join(here, "__fixtures__"),
  ...readdirSync(here)
    .map((d) => join(here, d, "__fixtures__"))
    .filter((p) => existsSync(p)),
];

/** Every real fixture of every kind, each one fed to the wrong parsers too. */
function allFixtureTexts(): string[] {
  const out: string[] = [];
  const read = (dir: string) => {
    for (const f of readdirSync(dir)) {
      const path = join(dir, f);
      if (statSync(path).isDirectory()) read(path);
      else if (!f.endsWith(".md")) out.push(readFileSync(path, "utf8"));
    }
  };
  for (const root of fixtureRoots) read(root);
  return out;
}

/** Deterministic pseudo-random bytes (a fixed LCG), so a failure can be replayed. */
function garbage(seed: number, lines: number): string {
  let x = seed;
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    let line = "";
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const len = x % 300;
    for (let j = 0; j < len; j++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      line += String.fromCharCode(x % 0x2fff);
    }
    out.push(line);
  }
  return out.join("\n");
}

describe("parsers never throw on input", () => {
  const texts = allFixtureTexts();
  for (const kind of EvidenceKind.options) {
    it(`${kind}: every other kind's real output, cut lines and random text`, () => {
      const parser = parsers[kind] as Parser<RecordBase>;
      const ctx = {
        host: "h",
        source: "s",
        utcOffsetMinutes: 0,
        bootTime: "2026-11-25T10:00:00.000Z",
        now: "2026-11-25T12:00:00.000Z",
      };
      const valid = (text: string) => {
        for (const rec of parseText(parser, text, ctx).records) {
          const check = parser.schema.safeParse(rec);
          expect(check.success, `${kind} record of line ${rec.line}: ${check.error?.message}`).toBe(true);
        }
      };
      for (const text of texts) {
        valid(text);
        valid(
          text
            .split("\n")
            .map((l) => l.slice(0, Math.floor(l.length / 2)))
            .join("\n"),
        );
      }
      for (let seed = 1; seed <= 5; seed++) {
        const r = parseText(parser, garbage(seed, 200), ctx);
        for (const rec of r.records) expect(parser.schema.safeParse(rec).success).toBe(true);
      }
    });
  }
});
