import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseCommand, parseMention, quoted } from "./command-text.js";

describe("/why502 text", () => {
  it("reads a service and an optional window", () => {
    expect(parseCommand("checkout")).toEqual({ kind: "diagnose", service: "checkout" });
    expect(parseCommand("  Checkout   2h ")).toEqual({
      kind: "diagnose",
      service: "checkout",
      windowText: "2h",
      windowMs: 7_200_000,
    });
    expect(parseCommand("")).toEqual({ kind: "help" });
    expect(parseCommand("help")).toEqual({ kind: "help" });
  });

  it("refuses windows without a unit, too short or too long, and extra words, with what to write", () => {
    expect(parseCommand("checkout 5")).toMatchObject({
      kind: "invalid",
      message: expect.stringMatching(/unit/),
    });
    expect(parseCommand("checkout 10s")).toMatchObject({ message: expect.stringMatching(/at least 1m/) });
    expect(parseCommand("checkout 99999999h")).toMatchObject({
      message: expect.stringMatching(/at most 7d/),
    });
    expect(parseCommand("checkout 1h now")).toMatchObject({ message: expect.stringMatching(/nothing more/) });
    expect(parseCommand("x".repeat(10_000))).toMatchObject({ message: expect.stringMatching(/too long/) });
  });

  it("mentions: rerun, evidence, explain with pasted lines, help", () => {
    expect(parseMention("<@U0WHY502> rerun 15m")).toEqual({
      kind: "rerun",
      windowText: "15m",
      windowMs: 900_000,
    });
    expect(parseMention("<@U0WHY502|why502> evidence")).toEqual({ kind: "evidence" });
    expect(parseMention("<@U0WHY502> explain ```\nline one\nline two\n```")).toEqual({
      kind: "explain",
      text: "line one\nline two",
    });
    expect(parseMention("<@U0WHY502>")).toEqual({ kind: "help" });
    expect(parseMention("<@U0WHY502> checkout 1h")).toMatchObject({ kind: "diagnose", service: "checkout" });
  });

  it("whatever the text, the answer is a known shape and echoes nothing as markup", () => {
    const hostile = fc.oneof(
      fc.string({ maxLength: 400 }),
      fc.constantFrom(
        "$(reboot)",
        "`id`",
        "a;rm -rf /",
        "../../etc/passwd",
        "<!channel>",
        "<@U123>",
        "chéckout",
        "ｃｈｅｃｋｏｕｔ",
        "a\nb",
        "a\u0000b",
      ),
    );
    fc.assert(
      fc.property(hostile, fc.option(hostile), (a, b) => {
        for (const r of [parseCommand(b ? `${a} ${b}` : a), parseMention(`<@U0WHY502> ${a}`)]) {
          expect(["help", "diagnose", "invalid", "rerun", "evidence", "explain", "summary"]).toContain(
            r.kind,
          );
          if (r.kind === "invalid") {
            expect(r.message).not.toMatch(/<[!@#]/);
            expect(r.message.length).toBeLessThan(400);
          }
        }
        const q = quoted(a);
        expect(q).not.toMatch(/[<>`\n\r]/);
        expect(q.includes(String.fromCharCode(0))).toBe(false);
      }),
      { seed: 502, numRuns: 2000 },
    );
  });
});
