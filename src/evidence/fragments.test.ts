import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { casesOf, fixtures } from "../../test/support/fragment-cases.js";
import { arbitraryVariant, checkVariant, fixedVariants } from "../../test/support/fragments.js";
import { appParser } from "./app.js";
import { kernelParser } from "./kernel.js";
import { nginxAccessParser } from "./nginx-access.js";
import { nginxErrorParser } from "./nginx-error.js";
import { pm2Parser } from "./pm2/pm2.js";
import { parsers } from "./registry.js";
import { parseText } from "./run.js";
import { supervisordParser } from "./supervisord/supervisord.js";
import { systemdParser } from "./systemd.js";
import { EvidenceKind, type Parser, type RecordBase } from "./types.js";

/**
 * Every parser reads the cause (or its kind's key field) out of fragments of real lines as it does out
 * of whole ones: for every fixture of every kind, every line that yields one is cut before and after what
 * says it, stripped of its head, put behind container runtimes' prefixes, wrapped, re-spaced as a
 * translation does, and indented (test/support/fragments.ts); the fixed variants, then random ones from a
 * fixed seed. `FRAGMENT_RUNS` and `FRAGMENT_SEED` make a longer run.
 */
const RUNS = Number(process.env.FRAGMENT_RUNS ?? 6);
const SEED = Number(process.env.FRAGMENT_SEED ?? 502);

const all = fixtures();

describe("fragments of real lines keep their cause", () => {
  // A kind gets its cases as soon as it has fixtures.
  for (const kind of EvidenceKind.options.filter((k) => all.some((f) => f.kind === k))) {
    const files = all.filter((f) => f.kind === kind);
    it(`${kind}: ${files.length} fixtures`, () => {
      const failures: string[] = [];
      let cases = 0;
      for (const file of files) {
        for (const c of casesOf(file)) {
          cases++;
          for (const v of fixedVariants(c)) {
            const why = checkVariant(c, v);
            if (why) failures.push(`${c.where} ${v.name}: ${JSON.stringify(v.lines)}\n    ${why}`);
          }
          const random = fc.check(
            fc.property(arbitraryVariant(c), (v) => checkVariant(c, v) === undefined),
            { seed: SEED, numRuns: RUNS },
          );
          const v = random.counterexample?.[0];
          if (v) failures.push(`${c.where} ${v.name}: ${JSON.stringify(v.lines)}\n    ${checkVariant(c, v)}`);
        }
      }
      expect(cases, `${kind}: no line of its fixtures yields a cause or key field`).toBeGreaterThan(0);
      expect(failures.slice(0, 30).join("\n"), `${failures.length} failures`).toBe("");
    });
  }
});

describe("whole files read as before", () => {
  const cores: Partial<Record<EvidenceKind, Parser<RecordBase>>> = {
    "nginx-error": nginxErrorParser,
    "nginx-access": nginxAccessParser,
    kernel: kernelParser,
    systemd: systemdParser,
    app: appParser,
    supervisord: supervisordParser,
    pm2: pm2Parser,
  };
  for (const kind of EvidenceKind.options.filter((k) => cores[k] !== undefined)) {
    it(`${kind}: every record the parser gives a cause keeps it, unchanged, among the fragment-aware parser's`, () => {
      for (const file of all.filter((f) => f.kind === kind)) {
        const ctx = {
          host: "h",
          source: file.rel,
          utcOffsetMinutes: 60,
          now: "2026-12-01T12:00:00.000Z",
          options: file.options,
        };
        const core = parseText(cores[kind] as Parser<RecordBase>, file.text, ctx).records;
        const layered = parseText(parsers[kind] as Parser<RecordBase>, file.text, ctx).records;
        const key = (r: RecordBase) => JSON.stringify(r);
        const got = new Set(layered.map(key));
        const lost = core.filter(
          (r) => (r.cause !== undefined || kind === "nginx-access") && !got.has(key(r)),
        );
        expect(lost.map((r) => `${file.rel}:${r.line} ${r.text}`)).toEqual([]);
      }
    });
  }
});

describe("regressions found by longer runs (npm run fuzz)", () => {
  it("a real line cut inside a field's name, before its colon, keeps its cause", () => {
    const text = new URL("./__fixtures__/keepalive-race/error.log", import.meta.url);
    const line = readFileSync(text, "utf8").split("\n")[0] ?? "";
    const cut = line.slice(0, line.indexOf(", upstream:") + 3);
    expect(cut.endsWith('HTTP/1.1", u')).toBe(true);
    const ctx = { host: "h", source: "error.log", utcOffsetMinutes: 0 };
    const got = parseText(parsers["nginx-error"] as Parser<RecordBase>, `${cut}\n`, ctx).records;
    expect(got.map((r) => r.cause)).toEqual(["connection_reset"]);
  });
});
