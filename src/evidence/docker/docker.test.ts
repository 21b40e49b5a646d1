import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseText } from "../run.js";
import type { ParseContext } from "../types.js";
import { dockerParser } from "./docker.js";

const fixture = (name: string) => readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), "utf8");
const ctx: ParseContext = { host: "app-1", source: "docker inspect checkout", utcOffsetMinutes: 60 };
const parse = (text: string) => parseText(dockerParser, text, ctx);

describe("dockerParser on State objects from public reports (see __fixtures__/README.md)", () => {
  it("reads a one-line {{json .State}}: restarting after exit 2, its last life 30 ms long", () => {
    const { records, unreadable } = parse(fixture("state-json-restarting.txt"));
    expect(unreadable).toEqual([]);
    expect(records).toEqual([
      expect.objectContaining({
        event: "status",
        state: "restarting",
        running: true,
        restarting: true,
        oomKilled: false,
        exitCode: 2,
        startedAt: "2015-12-11T16:30:57.160Z",
        finishedAt: "2015-12-11T16:30:57.190Z",
        time: "2015-12-11T16:30:57.160Z",
        cause: "service_exit",
      }),
    ]);
    expect(records[0]?.pid).toBeUndefined();
  });

  it("reads a pasted State block: exit 137 is a death by SIGKILL, not an OOM kill unless the flag says so", () => {
    for (const name of ["state-block-exited-137.txt", "state-block-docker-1.9.txt"]) {
      const { records, unreadable } = parse(fixture(name));
      expect(unreadable).toEqual([]);
      expect(records[0]).toMatchObject({
        state: "exited",
        exitCode: 137,
        signal: "KILL",
        cause: "service_killed",
      });
    }
    expect(parse(fixture("state-block-restarting-short-life.txt")).records[0]).toMatchObject({
      state: "restarting",
      exitCode: 0,
      startedAt: "2016-02-17T14:01:45.304Z",
      finishedAt: "2016-02-17T14:01:45.521Z",
    });
  });

  it("reads the line why502 collects: Name, RestartCount and a State (built here around a real State)", () => {
    const state = JSON.parse(fixture("state-json-restarting.txt")) as Record<string, unknown>;
    const line = JSON.stringify({ Name: "/weaveplugin", RestartCount: 7, State: state });
    expect(parse(`${line}\n`).records[0]).toMatchObject({ program: "weaveplugin", restarts: 7, exitCode: 2 });
    // No public report shows a whole State with the OOM flag set: the same real State, flag flipped.
    const oom = JSON.stringify({
      Name: "/x",
      RestartCount: 1,
      State: { ...state, OOMKilled: true, ExitCode: 137 },
    });
    expect(parse(oom).records[0]).toMatchObject({ oomKilled: true, signal: "KILL", cause: "oom_kill" });
  });

  it("reports text that is not inspect JSON (another supervisor's real output)", () => {
    const other = readFileSync(
      new URL("../supervisord/__fixtures__/status-all.txt", import.meta.url),
      "utf8",
    );
    const { records, unreadable } = parse(other);
    expect(records).toEqual([]);
    expect(unreadable).toHaveLength(6);
  });
});

describe("dockerParser on docker events lines (the examples of Docker's documentation, verbatim)", () => {
  it("reads a start, the kills sent, and a death by the last of them (exit 137: SIGKILL)", () => {
    const { records, unreadable } = parse(fixture("events-docs-kill.txt"));
    expect(unreadable).toEqual([]);
    expect(records.map((r) => [r.event, r.time, r.signal, r.exitCode, r.cause])).toEqual([
      ["other", "2017-01-04T16:41:55.784Z", undefined, undefined, undefined],
      ["spawned", "2017-01-04T16:41:55.913Z", undefined, undefined, undefined],
      ["other", "2017-01-04T16:42:01.106Z", "TERM", undefined, undefined],
      ["other", "2017-01-04T16:42:11.111Z", "KILL", undefined, undefined],
      ["exited", "2017-01-04T16:42:11.119Z", "KILL", 137, "service_killed"],
      ["other", "2017-01-04T16:42:11.173Z", undefined, undefined, undefined],
    ]);
    expect(records.every((r) => r.program === "happy_meitner")).toBe(true);
  });

  it("reads exit 143 as a death by SIGTERM, and skips the network's lines as not the container's", () => {
    const { records, unreadable } = parse(fixture("events-docs-basic.txt"));
    expect(records.find((r) => r.event === "exited")).toMatchObject({
      program: "test",
      exitCode: 143,
      signal: "TERM",
      cause: "service_killed",
      finishedAt: "2017-01-04T16:36:09.840Z",
    });
    expect(unreadable.map((u) => u.line)).toEqual([2, 6]);
  });

  it("takes a death after an oom event of the same life as an OOM kill, and not after the next start", () => {
    // The documented kill example with an `oom` line put before its die (Docker writes one when the kernel
    // kills a process of the container; no public report shows the default format of that line).
    const lines = fixture("events-docs-kill.txt").split("\n");
    const oom =
      "2017-01-05T00:42:11.110000000+08:00 container oom d9cd...4d70 (image=alpine, name=happy_meitner)";
    const text = [...lines.slice(0, 4), oom, lines[4], lines[1], lines[4], ""].join("\n");
    const exits = parse(text).records.filter((r) => r.event === "exited");
    expect(exits.map((r) => [r.oomKilled, r.cause])).toEqual([
      [true, "oom_kill"],
      [undefined, "service_killed"],
    ]);
  });
});
