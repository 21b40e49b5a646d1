import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { shiftRecord } from "../facts/clock.js";
import { nginxErrorParser } from "./nginx-error.js";
import { NginxErrorLine, plainRecord } from "./nginx-error-record.js";
import { parseText } from "./run.js";

/**
 * A record reads its trailing fields when first asked for: they are getters, not own properties, so a
 * copy must be made from plainRecord (a spread, Object.entries or postMessage see own properties only).
 */
const text = readFileSync(
  new URL("./__fixtures__/nginx-error/captured-1.22-http.txt", import.meta.url),
  "utf8",
);
const ctx = { host: "gw-1", source: "/var/log/nginx/error.log", utcOffsetMinutes: 60 };
const records = parseText(nginxErrorParser, text, ctx).records;
const refused = records.find((r) => r.line === 2);
if (refused === undefined) throw new Error("no record at line 2");

describe("nginx-error records read lazily", () => {
  it("are NginxErrorLine instances whose plain form has every field, as JSON has them", () => {
    for (const r of records) {
      expect(r).toBeInstanceOf(NginxErrorLine);
      expect(JSON.stringify(plainRecord(r))).toBe(JSON.stringify(r));
    }
    expect(plainRecord(refused)).toMatchObject({
      upstream: "http://127.0.0.1:18190/refused/api/orders?id=7",
      target: "127.0.0.1:18190",
      status: 502,
      httpHost: "127.0.0.1:18000",
    });
  });

  it("keep every field through a clock correction and a copy to another thread", () => {
    const shifted = shiftRecord(refused, 60_000);
    expect(shifted.time).toBe("2026-11-25T12:27:12.000Z");
    expect({ ...shifted, time: refused.time }).toEqual(plainRecord(refused));
    expect(structuredClone(plainRecord(refused))).toEqual(plainRecord(refused));
  });
});
