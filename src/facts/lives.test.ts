import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { oneBackendBundle } from "../../test/support/backend-bundle.js";
import type { EvidenceKind } from "../evidence/types.js";
import { parseBundle, recordsOf } from "./evidence-set.js";
import { appLogLives, lifeLengths, repeatedLastWords, supervisedLives } from "./lives.js";
import { windowOf } from "./window.js";

const fixture = (kind: string, name: string) =>
  readFileSync(new URL(`../evidence/${kind}/__fixtures__/${name}`, import.meta.url), "utf8");

const WINDOW = { since: "2026-12-01T08:55:00.000Z", until: "2026-12-01T09:05:00.000Z" };
const bundleOf = (commands: [string, EvidenceKind, string][]) => oneBackendBundle(commands, WINDOW);
const window = windowOf({ since: "2026-12-01T08:55:00.000Z", until: "2026-12-01T09:05:00.000Z" });

describe("lives, from supervisord 4.2.5's real log", () => {
  const set = parseBundle(
    bundleOf([
      ["supervisord-log", "supervisord", fixture("supervisord", "supervisord.log")],
      ["supervisord-status", "supervisord", fixture("supervisord", "status-fatal.txt")],
      ["app-log-1", "app", fixture("supervisord", "checkout-program.log")],
    ]),
  );

  it("the program that cannot start: four starts, four exits with the pid of each life, a give-up", () => {
    const lives = supervisedLives(set, "app-1", "checkout", window);
    expect(lives.supervisor).toBe("supervisord");
    expect(lives.starts.map((s) => s.pid)).toEqual([11695, 11784, 11831, 11994]);
    expect(lives.exits.map((e) => [e.pid, e.code, e.status, e.statusName])).toEqual([
      [11695, "exited", 1, "FAILURE"],
      [11784, "exited", 1, "FAILURE"],
      [11831, "exited", 1, "FAILURE"],
      [11994, "exited", 1, "FAILURE"],
    ]);
    expect(lives.gaveUp?.text).toMatch(/gave up: checkout entered FATAL state/);
    expect(lives.now).toMatchObject({ running: false, state: "FATAL" });
    const events = [
      ...lives.starts.map((s) => ({ ms: s.ms, line: s.ref.line, end: false })),
      ...lives.exits.map((e) => ({ ms: e.ms, line: e.ref.line, end: true })),
    ];
    expect(lifeLengths(events)).toEqual([190, 146, 247, 117]);
  });

  it("another program's lives are not these: SIGKILL and a core dump", () => {
    expect(supervisedLives(set, "app-1", "worker", window).exits.map((e) => [e.code, e.signal])).toEqual([
      ["killed", "KILL"],
    ]);
    expect(supervisedLives(set, "app-1", "native", window).exits.map((e) => [e.code, e.status])).toEqual([
      ["dumped", 11],
    ]);
  });

  it("the program's own log: a new pid at each start, and the same last words four times", () => {
    const app = recordsOf(set, "app", "app-1");
    expect(appLogLives(app).starts.map((s) => s.pid)).toEqual([11784, 11831, 11994]);
    const words = repeatedLastWords(app);
    expect(words?.count).toBe(4);
    expect(words?.text).toMatch(/^fatal: config load failed: ENOENT: no such file or directory, open '/);
  });
});

describe("lives, from PM2 7.0.4's real log", () => {
  it("sixteen starts and exits, and the give-up that names the script the app runs", () => {
    const set = parseBundle(
      bundleOf([
        ["pm2-log", "pm2", fixture("pm2", "pm2.log")],
        ["pm2-jlist", "pm2", fixture("pm2", "jlist-fields-errored.txt")],
      ]),
    );
    const lives = supervisedLives(set, "app-1", "checkout", window);
    expect(lives.supervisor).toBe("pm2");
    expect(lives.starts).toHaveLength(16);
    expect(lives.exits.every((e) => e.code === "exited" && e.status === 1)).toBe(true);
    expect(lives.gaveUp?.text).toMatch(/had too many unstable restarts \(16\)/);
    expect(lives.now).toMatchObject({ running: false, state: "errored", restarts: 15 });
    // worker: SIGKILL, and no give-up of another app's script
    const worker = supervisedLives(set, "app-1", "worker", window);
    expect(worker.exits.map((e) => e.signal)).toEqual(["KILL"]);
    expect(worker.gaveUp).toBeUndefined();
  });
});

describe("lives, from Docker's State (a public report's real output)", () => {
  it("a container restarting after exit 2: its last start and exit, 30 ms apart", () => {
    const state = fixture("docker", "state-json-restarting.txt");
    const line = JSON.stringify({ Name: "/weaveplugin", RestartCount: 4, State: JSON.parse(state) });
    const bundle = bundleOf([["docker-inspect", "docker", `${line}\n`]]);
    const w = windowOf({ since: "2015-12-11T16:00:00.000Z", until: "2015-12-11T17:00:00.000Z" });
    const lives = supervisedLives(parseBundle(bundle), "app-1", "weaveplugin", w);
    expect(lives.supervisor).toBe("docker");
    expect(lives.starts.map((s) => new Date(s.ms).toISOString())).toEqual(["2015-12-11T16:30:57.160Z"]);
    expect(lives.exits.map((e) => [e.code, e.status, new Date(e.ms).toISOString()])).toEqual([
      ["exited", 2, "2015-12-11T16:30:57.190Z"],
    ]);
    expect(lives.now).toMatchObject({ running: false, state: "restarting", restarts: 4 });
  });
});

describe("lives, from an app's own log with several processes at once", () => {
  it("gunicorn's master and workers interleave: one service living on, no restarts, no last words", () => {
    const text = readFileSync(new URL("../evidence/__fixtures__/app/gunicorn.txt", import.meta.url), "utf8");
    const set = parseBundle(bundleOf([["app-log-1", "app", text]]));
    const app = recordsOf(set, "app", "app-1");
    expect(new Set(app.map((r) => r.pid).filter((p) => p !== undefined)).size).toBeGreaterThan(2);
    expect(appLogLives(app).starts).toEqual([]);
    expect(repeatedLastWords(app)).toBeUndefined();
  });
});
