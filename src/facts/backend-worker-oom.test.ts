import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { oneBackendBundle } from "../../test/support/backend-bundle.js";
import type { EvidenceKind } from "../evidence/types.js";
import { analyseBackend } from "./backend.js";
import { emptyCitations } from "./derive.js";
import { parseBundle } from "./evidence-set.js";

const fixture = (dir: string, name: string) =>
  readFileSync(new URL(`../evidence/__fixtures__/${dir}/${name}`, import.meta.url), "utf8");

/** The kernel's line for the worker of app/gunicorn-oom.txt, as runtime-limits.sh captured it from dmesg. */
const KILL = fixture("app", "runtime-limits-info.txt")
  .split("\n")
  .filter((l) => l.startsWith("gunicorn-oom: dmesg: "))
  .map((l) => l.slice("gunicorn-oom: dmesg: ".length))
  .join("\n");
/** Raw dmesg stamps count from boot: this boot time puts the kill (4970.6 s) at 10:10:43.6, as gunicorn saw it. */
const BOOT = Date.parse("2026-12-01T10:10:43.600Z") - 4970_601;

function analyse(kernel: string | undefined, bootMs = BOOT) {
  const commands: [string, EvidenceKind, string][] = [["app-log", "app", fixture("app", "gunicorn-oom.txt")]];
  if (kernel !== undefined) commands.push(["dmesg", "kernel", `${kernel}\n`]);
  const bundle = oneBackendBundle(
    commands,
    { since: "2026-12-01T10:10:00.000Z", until: "2026-12-01T10:12:00.000Z" },
    { bootTime: new Date(bootMs).toISOString() },
  );
  const set = parseBundle(bundle);
  const cite = emptyCitations();
  const window = { since: Date.parse(bundle.window.since), until: Date.parse(bundle.window.until) };
  const facts = analyseBackend(
    set,
    set.bundle.hosts[0],
    { kind: "tcp", host: "127.0.0.11", port: 18541 },
    "",
    window,
    cite,
  );
  return { facts, cite };
}

describe("a worker its server says died of signal 9, against the kernel's OOM kills", () => {
  it("the kernel's kill of that pid at that moment is the OOM victim, citing the kernel's line and gunicorn's", () => {
    expect(KILL).toMatch(/Killed process 30350 \(gunicorn\)/);
    const { facts, cite } = analyse(KILL);
    expect(facts).toMatchObject({
      oomKilled: true,
      oomPid: 30350,
      oomComm: "gunicorn",
      oomWorker: "gunicorn",
    });
    expect(cite.oom.map((r) => r.text)).toEqual([
      expect.stringMatching(/Memory cgroup out of memory: Killed process 30350 \(gunicorn\)/),
      expect.stringMatching(/\[WARNING\] Worker with pid 30350 was terminated due to signal 9$/),
    ]);
  });

  it("without a kernel OOM kill, the signal 9 is no OOM kill", () => {
    const { facts, cite } = analyse(undefined);
    expect(facts).toMatchObject({ oomKilled: false, oomPid: 0, oomWorker: "" });
    expect(cite.oom).toEqual([]);
  });

  it("a kill of the same pid a minute away from gunicorn's line is another process that reused it", () => {
    const { facts } = analyse(KILL, BOOT + 60_000);
    expect(facts).toMatchObject({ oomKilled: false, oomWorker: "" });
  });
});
