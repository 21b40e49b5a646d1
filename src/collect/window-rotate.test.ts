import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rotatedLog } from "../../test/support/rotated-log.js";
import { collect, logWin } from "../../test/support/run-script.js";

// A log rotated (renamed to .1, a new empty file in its place, as logrotate does) while the log window reads
// it. The rotation is made by stand-ins for `dd` and `ls`, the tools the window calls between opening a file
// and sending it: the K-th call renames the files and then runs the real tool. Every K is tried, so the
// rename lands between each pair of steps (size, each probe of the search, the listing of rotated files, the
// read). Whatever the step, the window is the old file's from the window start to its end, once.

const T0 = Date.UTC(2026, 10, 24, 0, 0, 0) / 1000;
const env = { TZ: "UTC" };
const { block, from } = rotatedLog(T0);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "why502-rotate-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hasBusybox = spawnSync("busybox", ["true"]).status === 0;

/**
 * A PATH whose `dd` and `ls` count their calls in `count` and rotate `log` at call `ROT_AT`. `busybox`: every
 * other tool (and `sh`) is busybox's too, and the stand-ins run busybox's `dd` and `ls`.
 */
function toolDir(name: string, busybox: boolean): string {
  const bin = join(dir, name);
  mkdirSync(bin);
  if (busybox) {
    const applets = spawnSync("busybox", ["--list"], { encoding: "utf8" }).stdout.split("\n");
    for (const a of applets) if (a && a !== "dd" && a !== "ls") symlinkSync("/usr/bin/busybox", join(bin, a));
  }
  for (const tool of ["dd", "ls"]) {
    const real = busybox
      ? `/usr/bin/busybox ${tool}`
      : spawnSync("sh", ["-c", `command -v ${tool}`])
          .stdout.toString()
          .trim();
    writeFileSync(
      join(bin, tool),
      [
        "#!/bin/sh",
        'n=$(cat "$ROT_COUNT" 2>/dev/null || echo 0)',
        "n=$((n + 1))",
        'echo "$n" >"$ROT_COUNT"',
        'if [ "$n" = "$ROT_AT" ]; then',
        '  if [ -e "$ROT_LOG.1" ]; then mv "$ROT_LOG.1" "$ROT_LOG.2"; fi',
        '  mv "$ROT_LOG" "$ROT_LOG.1" && : >"$ROT_LOG"',
        "fi",
        `exec ${real} "$@"`,
        "",
      ].join("\n"),
      { mode: 0o755 },
    );
  }
  return bin;
}

interface Layout {
  /** The files before the rotation: the live log and its .1. */
  current: string;
  previous: string;
  since: number;
  want: string;
}

async function everyStep(bin: string, busybox: boolean, layout: Layout) {
  const base = join(dir, `${busybox ? "bb" : "sh"}-${layout.since}`, "error.log");
  mkdirSync(join(base, ".."));
  const count = join(dir, `${busybox ? "bb" : "sh"}-${layout.since}.count`);
  const run = async (at: number) => {
    rmSync(`${base}.2`, { force: true });
    writeFileSync(`${base}.1`, layout.previous);
    writeFileSync(base, layout.current);
    writeFileSync(count, "0");
    const PATH = busybox ? bin : `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}`;
    const { get } = await collect([logWin("log", base)], T0 + layout.since, {
      env: { ...env, PATH, ROT_AT: String(at), ROT_LOG: base, ROT_COUNT: count },
    });
    return { got: get("log"), calls: Number(readFileSync(count, "utf8")) };
  };
  const { calls, got } = await run(0);
  expect(got.stdout === layout.want).toBe(true);
  expect(calls).toBeGreaterThan(4);
  for (let at = 1; at <= calls; at++) {
    const r = await run(at);
    // the rotation did happen, at that step
    expect(readFileSync(base, "utf8"), `rotated at call ${at}`).toBe("");
    expect(r.got.stderr, `rotated at call ${at}`).toBe("");
    expect(r.got.exitCode).toBe(0);
    expect(r.got.stdout === layout.want, `rotated at call ${at} of ${calls}`).toBe(true);
  }
}

const shells = [
  { name: "sh", busybox: false },
  ...(hasBusybox ? [{ name: "busybox sh and tools", busybox: true }] : []),
];

describe.each(shells)("log-window: the log rotated while it is read ($name)", ({ name, busybox }) => {
  const bin = () =>
    toolDir(`bin-${name.replaceAll(" ", "-")}-${Math.random().toString(36).slice(2)}`, busybox);

  it("a window inside the live file is read from the old file to its end, whichever step the rename follows", async () => {
    const current = block(3000, 400);
    await everyStep(bin(), busybox, {
      current,
      previous: block(2000, 400),
      since: 3200,
      want: from(current, 3200),
    });
  });

  it("a window reaching .1: the old file and the one before it, each once, though both were renamed", async () => {
    const current = block(3000, 400);
    const previous = block(2000, 400);
    await everyStep(bin(), busybox, {
      current,
      previous,
      since: 2200,
      want: from(previous, 2200) + current,
    });
  });
});
