import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  countsOf,
  fixture,
  fixtureFormat,
  fixtureLines,
  referenceCounts,
  restamp,
  sorted,
} from "../../test/support/access-log.js";
import { NONCE, sh } from "../../test/support/run-script.js";
import { aggregateTotals } from "../evidence/access-aggregate.js";
import { nginxAccessParser } from "../evidence/nginx-access.js";
import { parseText } from "../evidence/run.js";
import { AWK_AGGREGATE } from "./aggregate.sh.js";
import { type AggregateFields, aggregateFields, fieldsArgument } from "./aggregate-fields.js";
import { buildScript, type SectionSpec } from "./script.js";
import { splitSections } from "./sections.js";
import { AWK_TIME } from "./window.sh.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "why502-aggregate-"));
  chmodSync(dir, 0o755);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fieldsOf(format: string): AggregateFields {
  const f = aggregateFields(format);
  if ("error" in f) throw new Error(f.error);
  return f;
}

interface Run {
  path: string;
  format: string;
  since: number;
  until: number;
  env?: Record<string, string>;
  maxKeys?: number;
  maxBytes?: number;
  /** The collector's clock when it sends the script; the host's is the real one. */
  collectorNow?: number;
}

async function aggregate(r: Run) {
  const spec: SectionSpec = {
    id: "agg",
    type: "log-aggregate",
    path: r.path,
    fields: fieldsOf(r.format),
    sinceEpochSeconds: r.since,
    untilEpochSeconds: r.until,
    maxKeys: r.maxKeys ?? 20_000,
    maxBytes: r.maxBytes ?? 1 << 20,
    timeoutSeconds: 30,
  };
  const script = buildScript([spec], {
    sinceEpochSeconds: r.since,
    nonce: NONCE,
    ...(r.collectorNow === undefined ? {} : { collectorEpochSeconds: r.collectorNow }),
  });
  const run = await sh(script, r.env ? { env: r.env } : {});
  const got = splitSections(run.stdout, run.stderr, NONCE).sections.get("agg");
  if (!got) throw new Error(`no section: ${run.stderr}`);
  return { ...got, counts: countsOf(got.stdout), totals: aggregateTotals(got.stdout) };
}

/** Real lines, one after another, `perSecond` to a second from `t0`, on a clock `offsetMin` east of UTC. */
function logOf(source: string[], t0: number, n: number, perSecond: number, offsetMin: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++)
    out.push(restamp(source[i % source.length] ?? "", t0 + Math.floor(i / perSecond), offsetMin));
  return `${out.join("\n")}\n`;
}

const MAIN_EXT = fixtureFormat("main_ext");
const COMBINED = fixtureFormat("combined");
/** Every real main_ext line: the format fixture's 19 requests and a lab capture's 56 (502s of every kind). */
const MAIN_EXT_LINES = [...fixtureLines("main_ext.txt"), ...fixtureLines("captured-main-ext.log")];
const T0 = Date.UTC(2026, 10, 25, 9, 0, 0) / 1000;

describe("nginx-access-aggregate: counts on the host equal the counts computed from the same file", () => {
  it("counts a real main_ext log as it stands: the last peer of each $upstream_addr, +05:30 moved to UTC", async () => {
    const path = join(dir, "main_ext.log");
    writeFileSync(path, fixture("main_ext.txt"));
    const got = await aggregate({ path, format: MAIN_EXT, since: 0, until: 2e9 });
    expect(got.exitCode).toBe(0);
    expect(sorted(got.counts)).toEqual([
      ["2026-11-25T12:21 200 127.0.0.1:18201", 10],
      // /redir/x: `502 : 200` through error_page to another group: the answer came from the last peer
      ["2026-11-25T12:21 400 -", 2],
      ["2026-11-25T12:21 404 127.0.0.1:18201", 1],
      ["2026-11-25T12:21 499 127.0.0.1:18201", 1],
      ["2026-11-25T12:21 502 -", 1],
      ["2026-11-25T12:21 502 127.0.0.1:18204", 1],
      ["2026-11-25T12:21 502 127.0.0.1:18206", 1],
      ["2026-11-25T12:21 502 app_pool", 1],
      ["2026-11-25T12:21 504 127.0.0.1:18201", 1],
    ]);
    expect(sorted(got.counts)).toEqual(sorted(referenceCounts(fixture("main_ext.txt"), MAIN_EXT, 0, 2e9)));
    expect(got.totals).toMatchObject({ lines: 19, counted: 19, unread: 0, dropped: 0, timedOut: false });
  });

  it('counts the escape=json fixture as it stands: a quote escaped in a value, empty values as ""', async () => {
    const path = join(dir, "json.log");
    writeFileSync(path, fixture("json.txt"));
    const format = fixtureFormat("json");
    const got = await aggregate({ path, format, since: 0, until: 2e9 });
    const want = referenceCounts(fixture("json.txt"), format, 0, 2e9);
    expect(sorted(got.counts)).toEqual(sorted(want).map(([k, n]) => [k.endsWith(" ") ? `${k}-` : k, n]));
    expect(got.totals).toMatchObject({ lines: 19, counted: 19, unread: 0 });
  });

  it("main_ext at +05:30 over .2.gz, .1 and the current file, a window in the middle, host in Berlin", async () => {
    const base = join(dir, "rot", "access.log");
    mkdirSync(join(dir, "rot"));
    const files = [0, 1, 2, 3].map((k) => logOf(MAIN_EXT_LINES, T0 + k * 3000, 6_000, 4, 330));
    writeFileSync(`${base}.3.gz`, gzipSync(files[0] ?? ""));
    writeFileSync(`${base}.2.gz`, gzipSync(files[1] ?? ""));
    writeFileSync(`${base}.1`, files[2] ?? "");
    writeFileSync(base, files[3] ?? "");
    const since = T0 + 3000 + 1234;
    const until = T0 + 9000 + 777;
    const got = await aggregate({ path: base, format: MAIN_EXT, since, until, env: { TZ: "Europe/Berlin" } });
    const want = referenceCounts(files.join(""), MAIN_EXT, since, until);
    expect(got.stderr).toBe("");
    expect(got).toMatchObject({ exitCode: 0, truncated: false });
    expect(want.size).toBeGreaterThan(100);
    expect(sorted(got.counts)).toEqual(sorted(want));
    const total = [...want.values()].reduce((a, b) => a + b, 0);
    // read from a minute before the window to the first line a minute past it, then stopped
    expect(got.totals).toMatchObject({ counted: total, dropped: 0, stopped: true, timedOut: false });
    // the lab capture's `009` (an HTTP/0.9 answer), one line in 75, is not a status of 100-599
    const odd = parseText(nginxAccessParser, files.join(""), {
      host: "h",
      source: "s",
      utcOffsetMinutes: 0,
      options: { format: MAIN_EXT },
    })
      .records.filter((r) => r.status === 9 && Date.parse(r.time ?? "") / 1000 >= since)
      .filter((r) => Date.parse(r.time ?? "") / 1000 <= until);
    expect(odd.length).toBeGreaterThan(100);
    expect(got.totals?.unread).toBe(odd.length);
    // .2.gz cannot be searched: its 1234 s before the window are read; after it, the slack's 61 s at most
    expect(got.totals?.outside).toBeGreaterThanOrEqual(1234 * 4);
    expect(got.totals?.outside).toBeLessThanOrEqual(1234 * 4 + 61 * 4);
  });

  it("reads logrotate dateext rotations as the log window does (-20261124.gz, -20261125)", async () => {
    const base = join(dir, "dated", "access.log");
    mkdirSync(join(dir, "dated"));
    const files = [0, 1, 2].map((k) => logOf(MAIN_EXT_LINES, T0 + k * 2000, 4000, 2, 330));
    writeFileSync(`${base}-20261124.gz`, gzipSync(files[0] ?? ""));
    writeFileSync(`${base}-20261125`, files[1] ?? "");
    writeFileSync(base, files[2] ?? "");
    const since = T0 + 500;
    const until = T0 + 4500;
    const got = await aggregate({ path: base, format: MAIN_EXT, since, until, env: { TZ: "UTC" } });
    expect(got.stderr).toBe("");
    expect(sorted(got.counts)).toEqual(sorted(referenceCounts(files.join(""), MAIN_EXT, since, until)));
    expect(got.totals).toMatchObject({ stopped: true, dropped: 0 });
  });

  it("combined (no upstream: target -) at +05:30, a window in the middle of one file, host in New York", async () => {
    const path = join(dir, "combined.log");
    const text = logOf(fixtureLines("combined.txt"), T0, 40_000, 7, 330);
    writeFileSync(path, text);
    const since = T0 + 1000;
    const until = T0 + 4000;
    const got = await aggregate({ path, format: COMBINED, since, until, env: { TZ: "America/New_York" } });
    const want = referenceCounts(text, COMBINED, since, until);
    expect(sorted(got.counts)).toEqual(sorted(want));
    expect([...got.counts.keys()].every((k) => k.endsWith(" -"))).toBe(true);
    expect(got.totals).toMatchObject({ unread: 0, stopped: true });
    // found by the binary search: a minute before the window and at most 61 s after it were read, no more
    expect(got.totals?.outside).toBeGreaterThan(0);
    expect(got.totals?.outside).toBeLessThanOrEqual(7 * 121);
  });

  it("a zone west of UTC and a window that crosses midnight UTC and a month's end", async () => {
    const path = join(dir, "west.log");
    const t0 = Date.UTC(2026, 10, 30, 23, 30, 0) / 1000;
    const text = logOf(MAIN_EXT_LINES, t0, 20_000, 5, -7 * 60);
    writeFileSync(path, text);
    const got = await aggregate({ path, format: MAIN_EXT, since: t0 + 600, until: t0 + 3000 });
    expect(sorted(got.counts)).toEqual(sorted(referenceCounts(text, MAIN_EXT, t0 + 600, t0 + 3000)));
    expect([...got.counts.keys()].some((k) => k.startsWith("2026-12-01T00:"))).toBe(true);
    expect([...got.counts.keys()].some((k) => k.startsWith("2026-11-30T23:"))).toBe(true);
  });

  it("puts a host's stamps on the collector's clock when the host is 10 min fast", async () => {
    const path = join(dir, "skewed.log");
    // stamps between :20 and :40 of each minute, so that the offset's second of uncertainty moves none
    const lines: string[] = [];
    for (let m = 0; m < 60; m++)
      for (let s = 20; s <= 40; s++)
        lines.push(restamp(MAIN_EXT_LINES[(m * 21 + s) % 75] ?? "", T0 + m * 60 + s, 0));
    const text = `${lines.join("\n")}\n`;
    writeFileSync(path, text);
    const now = Math.floor(Date.now() / 1000);
    const since = T0 + 900 - 600;
    const until = T0 + 2700 - 600;
    const got = await aggregate({ path, format: MAIN_EXT, since, until, collectorNow: now - 600 });
    expect(sorted(got.counts)).toEqual(sorted(referenceCounts(text, MAIN_EXT, since, until, 600)));
    // the host wrote 09:15 for what was 09:05 on the collector's clock
    expect(sorted(got.counts)[0]?.[0].slice(0, 16)).toBe("2026-11-25T09:05");
    expect(sorted(got.counts).at(-1)?.[0].slice(0, 16)).toBe("2026-11-25T09:34");
  });

  it("a $remote_user with a blank in it does not move combined's fields (the time is found from the end)", async () => {
    const path = join(dir, "user.log");
    const line = fixtureLines("combined.txt")[11] ?? "";
    expect(line).toContain(" alice [");
    writeFileSync(path, `${line.replace(" alice [", " alice smith [")}\n${line}\n`);
    const got = await aggregate({ path, format: COMBINED, since: 0, until: 2e9 });
    expect(sorted(got.counts)).toEqual([["2026-11-25T12:21 200 -", 2]]);
  });

  it("counts lines of another format or with a status outside 100-599 as unread, never guessed", async () => {
    const path = join(dir, "mixed.log");
    const lines = [
      ...fixtureLines("main_ext.txt").slice(0, 3),
      ...fixtureLines("combined.txt").slice(0, 2),
      fixtureLines("captured-main-ext.log")[9] ?? "",
      "garbage",
    ];
    writeFileSync(path, `${lines.join("\n")}\n`);
    const got = await aggregate({ path, format: MAIN_EXT, since: 0, until: 2e9 });
    expect(lines[5]).toContain('" 009 ');
    expect(got.totals).toMatchObject({ lines: 7, counted: 3, unread: 4 });
  });
});

describe("nginx-access-aggregate: bounded", () => {
  const path = () => join(dir, "bounded.log");
  beforeAll(() => writeFileSync(path(), logOf(MAIN_EXT_LINES, T0, 30_000, 10, 60)));

  it("stops adding keys at the cap, says how many requests it left out, and marks the section cut", async () => {
    const got = await aggregate({ path: path(), format: MAIN_EXT, since: 0, until: 2e9, maxKeys: 5 });
    expect(got.counts.size).toBe(5);
    expect(got.truncated).toBe(true);
    expect(got.totals?.keys).toBe(5);
    expect(got.totals?.dropped).toBeGreaterThan(0);
    expect((got.totals?.counted ?? 0) + (got.totals?.dropped ?? 0) + (got.totals?.unread ?? 0)).toBe(30_000);
  });

  it("keeps the totals line when the byte cap cuts the counts", async () => {
    const got = await aggregate({ path: path(), format: MAIN_EXT, since: 0, until: 2e9, maxBytes: 400 });
    expect(got.truncated).toBe(true);
    expect(got.bytes).toBe(400);
    expect(got.totals).toMatchObject({ counted: 29_600, dropped: 0 });
  });

  it("reports a missing log as the log window does", async () => {
    const got = await aggregate({ path: join(dir, "nope.log"), format: MAIN_EXT, since: 0, until: 2e9 });
    expect(got.exitCode).toBe(2);
    expect(got.stderr).toContain("nope.log: No such file or directory");
    expect(got.totals).toMatchObject({ lines: 0, counted: 0 });
  });

  it("ends at its time limit with the counts so far when lines keep coming", () => {
    const line = fixtureLines("main_ext.txt")[0] ?? "";
    const f = fieldsArgument(fieldsOf(MAIN_EXT));
    const started = Date.now();
    const r = spawnSync(
      "sh",
      [
        "-c",
        `yes "$L" | LC_ALL=C awk -v since=0 -v until=2000000000 -v sh=0 -v sl=60 -v dl=1 -v mk=10 -v f="$F" "$P" 4>&2`,
      ],
      { env: { ...process.env, L: line, F: f, P: AWK_TIME + AWK_AGGREGATE }, encoding: "utf8" },
    );
    expect(Date.now() - started).toBeLessThan(5000);
    const totals = aggregateTotals(r.stdout);
    expect(totals?.timedOut).toBe(true);
    expect(totals?.counted).toBeGreaterThan(1000);
    expect(r.stdout.split("\n")[1]).toMatch(/^2026-11-25T12:21 200 127\.0\.0\.1:18201 \d+$/);
    expect(r.stderr).toBe("lt=1\n");
  });
});

describe("nginx-access-aggregate: POSIX awk", () => {
  /** The awks at hand: mawk (Debian's default) always, busybox's where installed. */
  const awks = [["mawk"], ["busybox", "awk"], ["original-awk"]].filter(
    ([cmd]) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0,
  );

  it("gives the same counts under every awk at hand", () => {
    expect(awks[0]).toEqual(["mawk"]);
    const text = logOf(MAIN_EXT_LINES, T0, 5000, 3, 330);
    const want = sorted(referenceCounts(text, MAIN_EXT, T0 + 100, T0 + 1500));
    for (const [cmd, ...pre] of awks) {
      const r = spawnSync(
        cmd ?? "",
        [
          ...pre,
          ...[
            "-v",
            `since=${T0 + 100}`,
            "-v",
            `until=${T0 + 1500}`,
            "-v",
            "sh=0",
            "-v",
            "sl=60",
            "-v",
            "dl=30",
          ],
          ...["-v", "mk=100000", "-v", `f=${fieldsArgument(fieldsOf(MAIN_EXT))}`, AWK_TIME + AWK_AGGREGATE],
        ],
        { input: text, encoding: "utf8", env: { ...process.env, LC_ALL: "C" } },
      );
      expect(r.stderr, cmd).toBe("");
      expect(sorted(countsOf(r.stdout)), cmd).toEqual(want);
    }
  });
});
