import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MAIN_EXT } from "../../test/lab/nginx.js";
import { fixture, fixtureFormat, referenceCounts, sorted } from "../../test/support/access-log.js";
import { accessAggregateParser, aggregateTotals } from "./access-aggregate.js";
import { parseText } from "./run.js";

const here = new URL("./__fixtures__/nginx-access-aggregate/", import.meta.url).pathname;
const read = (name: string) => readFileSync(join(here, name), "utf8");
const ctx = { host: "gw", source: "/var/log/nginx/access.log", utcOffsetMinutes: 0 };

function parsed(text: string) {
  const r = parseText(accessAggregateParser, text, ctx);
  const counts = new Map<string, number>();
  for (const rec of r.records)
    counts.set(`${rec.minute.slice(0, 16)} ${rec.status} ${rec.target}`, rec.count);
  return { ...r, counts };
}

describe("nginx-access-aggregate parser: the template's real output", () => {
  const cases: [string, string, string][] = [
    ["main_ext.txt", "main_ext.txt", "main_ext"],
    ["combined.txt", "combined.txt", "combined"],
    ["json.txt", "json.txt", "json"],
    ["captured-main-ext.txt", "captured-main-ext.log", "main_ext"],
  ];
  for (const [name, log, format] of cases) {
    it(`${name}: the counts of ../nginx-access/${log}, computed apart from the host`, () => {
      const text = read(name);
      const r = parsed(text);
      expect(r.unreadable).toEqual([]);
      const want = referenceCounts(fixture(log), fixtureFormat(format), 0, 2e9);
      expect(sorted(r.counts)).toEqual(sorted(want).map(([k, n]) => [k.endsWith(" ") ? `${k}-` : k, n]));
      const totals = aggregateTotals(text);
      expect(totals?.counted).toBe(r.records.reduce((n, rec) => n + rec.count, 0));
      expect(totals?.keys).toBe(r.records.length);
    });
  }

  it("lab-two-causes.txt: over SSH, the OOM-killed backend's and the retired address's 502s apart", () => {
    const text = read("lab-two-causes.txt");
    const { sinceMs, untilMs } = JSON.parse(read("lab-two-causes.window.json")) as {
      sinceMs: number;
      untilMs: number;
    };
    const r = parsed(text);
    expect(r.unreadable).toEqual([]);
    const want = referenceCounts(
      read("lab-two-causes.access.log"),
      MAIN_EXT.slice(1, -1),
      Math.floor(sinceMs / 1000),
      Math.floor(untilMs / 1000),
    );
    expect(sorted(r.counts)).toEqual(sorted(want));
    const failing = r.records.filter((rec) => rec.status === 502).map((rec) => rec.target);
    expect(failing.sort()).toEqual(["127.0.0.11:18080", "127.0.0.13:18080"]);
    expect(aggregateTotals(text)).toMatchObject({ unread: 0, dropped: 0, timedOut: false });
  });

  it("makes records with the minute as UTC ISO, and the totals line is no record", () => {
    const r = parseText(accessAggregateParser, read("main_ext.txt"), ctx);
    expect(r.records.find((rec) => rec.target === "127.0.0.1:18204")).toEqual({
      host: "gw",
      source: "/var/log/nginx/access.log",
      line: 10,
      text: "2026-11-25T12:21 502 127.0.0.1:18204 1",
      time: "2026-11-25T12:21:00.000Z",
      minute: "2026-11-25T12:21:00.000Z",
      status: 502,
      target: "127.0.0.1:18204",
      count: 1,
    });
    expect(r.records).toHaveLength(9);
  });

  it("reports lines cut or not of its shape as unreadable", () => {
    const text = [
      "# lines=3 counted=3 outside=0 unread=0 keys=2 dropped=0 timedout=0 stopped=0",
      "2026-11-25T12:21 502 127.0.0.1:18204",
      "2026-02-30T12:21 502 127.0.0.1:18204 3",
      "2026-11-25T12:21 009 - 1",
      "# lines=3 counted=3 outside=0 unread=0 keys=2 dropped=0 timedout=0 stopped=0",
    ].join("\n");
    const r = parseText(accessAggregateParser, text, ctx);
    expect(r.records).toEqual([]);
    expect(r.unreadable.map((u) => u.line)).toEqual([2, 3, 4, 5]);
    expect(aggregateTotals("2026-11-25T12:21 502 - 1\n")).toBeUndefined();
  });
});
