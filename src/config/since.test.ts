import { describe, expect, it } from "vitest";
import { isUserError } from "../errors.js";
import {
  DEFAULT_MAX_WINDOW_MS,
  formatDuration,
  parseInstant,
  parseSince,
  parseSinceDuration,
  windowProblem,
} from "./since.js";

const now = Date.parse("2026-11-25T12:30:00Z");
const opts = { now, defaultMs: 30 * 60_000, maxMs: DEFAULT_MAX_WINDOW_MS };

function message(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (isUserError(e) && e.code === "usage") return e.message;
    throw e;
  }
  throw new Error("expected a usage error");
}

describe("parseSince", () => {
  it("reads durations back from now, times with a zone, and the default window", () => {
    expect(parseSince(undefined, opts)).toBe(now - 30 * 60_000);
    expect(parseSince("15m", opts)).toBe(now - 15 * 60_000);
    expect(parseSince("1h30m", opts)).toBe(now - 90 * 60_000);
    expect(parseSince("2026-11-25T12:00:00Z", opts)).toBe(Date.parse("2026-11-25T12:00:00Z"));
    expect(parseSince("2026-11-25T13:00:00.250+01:00", opts)).toBe(Date.parse("2026-11-25T12:00:00.250Z"));
    expect(parseSince("2026-11-25 12:00Z", opts)).toBe(Date.parse("2026-11-25T12:00:00Z"));
    expect(parseSince("7d", opts)).toBe(now - DEFAULT_MAX_WINDOW_MS);
  });

  it("wants a unit on a duration", () => {
    expect(message(() => parseSince("5", opts))).toBe(
      '--since "5" has no unit: write 5m for minutes (or 5s, 5h, 5d).',
    );
  });

  it("refuses a start in the future", () => {
    expect(message(() => parseSince("2026-11-25T12:31:00Z", opts))).toBe(
      "--since 2026-11-25T12:31:00Z is in the future (it is now 2026-11-25T12:30:00.000Z): the window must start before now.",
    );
  });

  it("refuses windows longer than the bound, however long", () => {
    expect(message(() => parseSince("99999999h", opts))).toBe(
      '--since "99999999h" reaches back more than the 7d allowed (defaults.max_window): ask for 7d or less, or raise defaults.max_window.',
    );
    expect(message(() => parseSince("2026-01-01T00:00:00Z", opts))).toBe(
      "--since 2026-01-01T00:00:00Z is 328d12h30m ago, more than the 7d allowed (defaults.max_window): start later, or raise defaults.max_window.",
    );
    expect(parseSince("30d", { ...opts, maxMs: 31 * 86_400_000 })).toBe(now - 30 * 86_400_000);
  });

  it("refuses text that is no time, a date that does not exist, a time without a zone, an empty window", () => {
    expect(message(() => parseSince("yesterday", opts))).toBe(
      '--since "yesterday" is neither a duration nor a time: write 30m, 2h or 2026-11-25T12:00:00Z.',
    );
    expect(message(() => parseSince("2026-02-30T00:00:00Z", opts))).toMatch(
      /is neither a duration nor a time/,
    );
    expect(message(() => parseSince("2026-11-25T12:00:00", opts))).toBe(
      '--since "2026-11-25T12:00:00" has no time zone: add Z for UTC or an offset, e.g. 2026-11-25T12:00:00Z or 2026-11-25T12:00:00+01:00.',
    );
    expect(message(() => parseSince("0m", opts))).toBe(
      '--since "0m" is an empty window: give a length such as 30m.',
    );
  });

  it("checks the default window against the bound too", () => {
    expect(message(() => parseSince(undefined, { ...opts, defaultMs: 8 * 86_400_000 }))).toMatch(
      /^defaults\.window 8d reaches back more than the 7d allowed/,
    );
  });
});

describe("parseSinceDuration", () => {
  it("takes a bare duration with the same bounds and messages", () => {
    expect(parseSinceDuration("15m", { now, maxMs: DEFAULT_MAX_WINDOW_MS })).toBe(now - 15 * 60_000);
    expect(message(() => parseSinceDuration("5", { now, maxMs: DEFAULT_MAX_WINDOW_MS }))).toBe(
      '--since "5" has no unit: write 5m for minutes (or 5s, 5h, 5d).',
    );
    expect(message(() => parseSinceDuration("99999999h", { now, maxMs: DEFAULT_MAX_WINDOW_MS }))).toMatch(
      /reaches back more than the 7d allowed/,
    );
    expect(
      message(() => parseSinceDuration("2026-11-25T12:00:00Z", { now, maxMs: 1, label: "window" })),
    ).toBe('window "2026-11-25T12:00:00Z" is not a duration: write 15m, 2h or 1d.');
  });
});

describe("parseInstant, windowProblem, formatDuration", () => {
  it("reads ISO times strictly", () => {
    expect(parseInstant("2026-11-25T12:00:00.5Z")).toBe(Date.parse("2026-11-25T12:00:00.500Z"));
    expect(parseInstant("2026-11-25T12:00:00-0130")).toBe(Date.parse("2026-11-25T13:30:00Z"));
    expect(parseInstant("2026-11-25T25:00:00Z")).toBeUndefined();
    expect(parseInstant("5")).toBeUndefined();
    expect(parseInstant("2026-11-25T12:00")).toBe("no_zone");
  });

  it("names what is wrong with a window", () => {
    expect(windowProblem(2, 1, 10)).toBe("starts after it ends");
    expect(windowProblem(1, 1, 10)).toBe("is empty (it starts when it ends)");
    expect(windowProblem(0, 8 * 86_400_000, DEFAULT_MAX_WINDOW_MS)).toBe("is 8d long, more than 7d");
    expect(windowProblem(0, 10, 10)).toBeUndefined();
  });

  it("writes durations as the config does", () => {
    expect(formatDuration(DEFAULT_MAX_WINDOW_MS)).toBe("7d");
    expect(formatDuration(90 * 60_000)).toBe("1h30m");
    expect(formatDuration(1500)).toBe("1s500ms");
  });
});
