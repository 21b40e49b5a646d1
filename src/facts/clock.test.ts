import { describe, expect, it } from "vitest";
import type { HostBundle } from "../bundle/schema.js";
import { clockCorrectionMs, correctionNote, shiftRecord, spokenDuration } from "./clock.js";

const host = (skewMs?: number): HostBundle => ({
  name: "checkout-1",
  address: "127.0.0.11",
  role: "backend",
  addresses: [],
  commands: [],
  ...(skewMs === undefined
    ? {}
    : { clock: { now: "2026-11-25T12:44:45.000Z", utcOffsetMinutes: 0, skewMs } }),
});

describe("clock correction", () => {
  it("moves a host's stamps back by its skew, in whole seconds, and leaves small skews alone", () => {
    expect(clockCorrectionMs(host(600_012))).toBe(-600_000);
    expect(clockCorrectionMs(host(-599_987))).toBe(600_000);
    expect(clockCorrectionMs(host(-47))).toBe(0);
    expect(clockCorrectionMs(host(1_999))).toBe(0);
    expect(clockCorrectionMs(host())).toBe(0);
  });

  it("shifts every instant of a record and none of its text", () => {
    const r = {
      host: "checkout-1",
      source: "ps",
      line: 2,
      text: "2026-11-25T12:54:44.000Z",
      time: "2026-11-25T12:54:44.000Z",
      startTime: "2026-11-25T12:54:44.000Z",
      comm: "node",
      args: "2026-11-25T12:54:44.000Z --flag",
    };
    expect(shiftRecord(r, -600_000)).toEqual({
      ...r,
      time: "2026-11-25T12:44:44.000Z",
      startTime: "2026-11-25T12:44:44.000Z",
    });
    expect(shiftRecord(r, 0)).toBe(r);
  });

  it("says it as a person would", () => {
    expect(correctionNote("checkout-1", -600_000)).toBe(
      "checkout-1's clock is 10 min fast; its events were shifted by \u2212600 s",
    );
    expect(correctionNote("gw", 45_000)).toBe("gw's clock is 45 s slow; its events were shifted by +45 s");
    expect(spokenDuration(3 * 3_600_000 + 5 * 60_000)).toBe("3 h 5 min");
  });
});
