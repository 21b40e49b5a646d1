import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hostileText, serviceName, windowText } from "../../test/fuzz/hostile.js";
import { fuzzSettings } from "../../test/support/fuzz.js";
import { parseDuration } from "../config/duration.js";
import { parseCommand, parseMention, quoted, type Request } from "./command-text.js";

const KINDS = ["help", "diagnose", "rerun", "evidence", "summary", "explain", "invalid"];
const SERVICES = ["checkout", "search", "billing-api"];
const DAY = 86_400_000;

/** A refusal is one line that says what to write, short, with no markup or control character of the input. */
function expectClearRefusal(message: string, input: string): void {
  expect(message.length).toBeLessThan(400);
  expect(message).toMatch(/^[A-Z"`]/);
  expect(message).toMatch(/[.)]$/);
  expect(message).not.toMatch(/[\p{Cc}\p{Cf}\u2028\u2029]/u);
  expect(message).not.toMatch(/<[!@#]|<https?:/);
  // Whatever is echoed is clipped: no long run of the input comes back.
  if (input.length > 60) expect(message).not.toContain(input.slice(0, 60));
}

/** What an accepted request may hold: a service word in lower case, and a window of 1 minute to 7 days. */
function expectSane(r: Request, input: string): void {
  expect(KINDS).toContain(r.kind);
  if (r.kind === "invalid") expectClearRefusal(r.message, input);
  if (r.kind === "diagnose" || r.kind === "summary") {
    const s = r.service ?? "";
    expect(s).not.toMatch(/\s/);
    expect(s).toBe(s.toLowerCase());
  }
  if ((r.kind === "diagnose" || r.kind === "rerun") && r.windowText !== undefined) {
    expect(r.windowMs).toBe(parseDuration(r.windowText));
    expect(r.windowMs).toBeGreaterThanOrEqual(60_000);
    expect(r.windowMs).toBeLessThanOrEqual(7 * DAY);
    expect(r.windowText).toMatch(/^(\d+(\.\d+)?(ms|s|m|h|d))+$/);
  }
}

describe("hostile slash-command and mention texts", () => {
  it("/why502 <anything> [anything]: a known shape, never a throw; refusals are one clear line", () => {
    fc.assert(
      fc.property(serviceName(SERVICES), fc.option(windowText, { nil: undefined }), (name, w) => {
        const text = w === undefined ? name : `${name} ${w}`;
        expectSane(parseCommand(text), text);
      }),
      fuzzSettings(3000),
    );
  });

  it("@why502 <verb> <anything>: rerun windows, explain, summary and diagnose alike", () => {
    const verb = fc.constantFrom("rerun", "re-run", "RERUN", "explain", "evidence", "summary", "help", "");
    const mention = fc.constantFrom("<@U0WHY502>", "<@U0WHY502|why502>", "<@U0WHY502><@U0OTHER>", "");
    fc.assert(
      fc.property(
        mention,
        verb,
        fc.array(fc.oneof(windowText, hostileText), { maxLength: 3 }),
        (m, v, tail) => {
          const text = `${m} ${v} ${tail.join(" ")}`;
          const r = parseMention(text);
          expectSane(r, text);
          if (r.kind === "explain") expect(r.text.length).toBeLessThanOrEqual(text.length);
        },
      ),
      fuzzSettings(3000),
    );
  });

  it("a window is accepted exactly when it is a duration of 1 minute to 7 days", () => {
    fc.assert(
      fc.property(windowText, (w) => {
        const r = parseCommand(`checkout ${w}`);
        const ms = parseDuration(w);
        const words = w.trim().split(/\s+/).filter(Boolean);
        if (words.length !== 1 || w.length > 290) return;
        if (ms !== undefined && ms >= 60_000 && ms <= 7 * DAY)
          expect(r).toEqual({ kind: "diagnose", service: "checkout", windowText: words[0], windowMs: ms });
        else expect(r.kind).toBe("invalid");
      }),
      fuzzSettings(3000),
    );
  });

  it("quoted(): one short line whatever the input, nothing Slack reads as markup", () => {
    fc.assert(
      fc.property(hostileText, fc.integer({ min: 1, max: 80 }), (s, max) => {
        const q = quoted(s, max);
        expect(q).not.toMatch(/[<>`*_~\n\r\u2028\u2029]/);
        expect(q).not.toMatch(/[\p{Cc}\p{Cf}]/u);
        // At most max characters, the ellipsis and the growth of escaping &, < and >.
        expect([...q].length).toBeLessThanOrEqual(max * 5 + 1);
      }),
      fuzzSettings(3000),
    );
  });
});
