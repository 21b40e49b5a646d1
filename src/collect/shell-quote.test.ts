import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { shQuote } from "./shell-quote.js";

/** What `sh` makes of the quoted word: printed back by printf, byte for byte. */
function throughSh(word: string): string {
  const r = spawnSync("sh", ["-s"], { input: `printf '%s' ${word}\n`, encoding: "utf8" });
  expect(r.status).toBe(0);
  return r.stdout;
}

describe("shQuote", () => {
  it("quotes with single quotes and splices embedded quotes", () => {
    expect(shQuote("it's")).toBe(`'it'"'"'s'`);
    expect(shQuote("")).toBe("''");
  });

  it.each([
    "plain",
    "",
    "it's",
    "''",
    "a b\tc",
    "$(id) `id` \u0024{HOME} $HOME",
    "; rm -rf / #",
    '"double" \\back\\slash\\',
    "glob * ? [a-z] ~root",
    "sport = :8080",
    "ünïcødé ✓ \r carriage",
    "-n -e --",
  ])("sh reads %j back unchanged", (s) => {
    expect(throughSh(shQuote(s))).toBe(s);
  });

  it("refuses NUL and newline", () => {
    expect(() => shQuote("a\0b")).toThrow(/NUL/);
    expect(() => shQuote("a\nb")).toThrow(/newline/);
  });
});
