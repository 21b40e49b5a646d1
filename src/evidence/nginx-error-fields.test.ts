import { readdirSync, readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { mayLeaveQuoteOpen, scanFields } from "./nginx-error-fields.js";

/**
 * The parser reads a line's trailing fields when first asked for, and only reads them at once when
 * mayLeaveQuoteOpen says a quote may stay open (the line is then cut short, hence unreadable). So it must
 * never say no where scanFields finds a value unterminated.
 */
const dir = new URL("./__fixtures__/nginx-error/", import.meta.url);
const lines = readdirSync(dir)
  .filter((n) => !n.endsWith(".md"))
  .flatMap((n) => readFileSync(new URL(n, dir), "utf8").split("\n"));

/** Where the fields start (the `, ` before `client: `), -1 when none. */
const fieldsAt = (s: string) => s.indexOf(", client: ");

describe("mayLeaveQuoteOpen", () => {
  it("says yes for every cut of every fixture line whose fields scanFields finds unterminated", () => {
    let unterminated = 0;
    let deferred = 0;
    for (const line of lines) {
      const whole = fieldsAt(line);
      if (whole < 0) continue;
      for (let end = whole + 10; end <= line.length; end++) {
        const s = line.slice(0, end);
        const open = scanFields(s, whole + 2).unterminated;
        const may = mayLeaveQuoteOpen(s, whole);
        if (open) {
          unterminated++;
          expect(may, JSON.stringify(s)).toBe(true);
        } else if (!may) deferred++;
      }
    }
    // Both outcomes occur: cut lines caught, and most others left to be read later.
    expect(unterminated).toBeGreaterThan(1000);
    expect(deferred).toBeGreaterThan(1000);
  });

  it("says yes whenever scanFields finds a value unterminated, for any text of field-like pieces", () => {
    const piece = fc.constantFrom(
      '"',
      ", ",
      ": ",
      ":",
      "host",
      "request",
      "upstream",
      "x",
      " ",
      "GET /a",
      "\\",
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 24 }), (pieces) => {
        const s = `m, client: ${pieces.join("")}`;
        return !scanFields(s, 3).unterminated || mayLeaveQuoteOpen(s, 1);
      }),
      { seed: 502, numRuns: 20000 },
    );
  });
});
