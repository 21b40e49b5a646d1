import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadBundle } from "../bundle/load.js";
import { deriveFacts } from "./derive.js";

const cases = new URL("../../playbooks/cases/", import.meta.url).pathname;

describe("the timeline of every recorded case", () => {
  for (const name of readdirSync(cases)
    .sort()
    .filter((n) => existsSync(join(cases, n, "bundle.json")))) {
    it(`${name}: goes by second, and by the millisecond where every stamp of a second has them`, () => {
      const { timeline, window } = deriveFacts(loadBundle(join(cases, name, "bundle.json")));
      const times = timeline.map((e) => Date.parse(e.time));
      const seconds = times.map((t) => Math.floor(t / 1000));
      expect([...seconds].sort((a, b) => a - b)).toEqual(seconds);
      for (const s of new Set(seconds)) {
        const inSecond = times.filter((t) => Math.floor(t / 1000) === s);
        if (inSecond.every((t) => t % 1000 !== 0))
          expect([...inSecond].sort((a, b) => a - b)).toEqual(inSecond);
      }
      // stamps moved onto the collector's clock fall in the window (to the whole second)
      for (const t of times) {
        expect(t).toBeGreaterThanOrEqual(Math.floor(Date.parse(window.since) / 1000) * 1000);
        expect(t).toBeLessThanOrEqual(Date.parse(window.until) + 1000);
      }
    });
  }
});
