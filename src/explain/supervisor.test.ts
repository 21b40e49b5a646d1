import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type ExplainedLine, explainText } from "./explain.js";

/** Real lines: our supervisord and PM2 captures, and the `docker events` examples of Docker's documentation. */
const evidence = new URL("../evidence/", import.meta.url).pathname;
const lines = (path: string): string[] => readFileSync(`${evidence}${path}`, "utf8").split("\n");
const find = (path: string, needle: string): string => {
  const l = lines(path).find((x) => x.includes(needle));
  if (l === undefined) throw new Error(`${path} has no line with ${needle}`);
  return l;
};
const SUP = "supervisord/__fixtures__/supervisord.log";
const PM2 = "pm2/__fixtures__/pm2.log";
const DOCKER = "docker/__fixtures__/events-docs-kill.txt";

const one = (text: string): ExplainedLine => {
  const out = explainText(text, { now: "2026-12-01T10:00:00.000Z" });
  expect(out).toHaveLength(1);
  return out[0] as ExplainedLine;
};

describe("explain: what a supervisor says about its program", () => {
  it("supervisord: an unexpected exit, a kill, a crash, a give-up and a spawn error, each with its cause", () => {
    const exit = one(find(SUP, "exited: checkout (exit status 1; not expected)"));
    expect(exit).toMatchObject({ kind: "supervisor", cause: "service_exit" });
    expect(exit.meaning).toContain(
      "`checkout` exited with status 1 (not expected: supervisord starts it again)",
    );
    expect(exit.next).toContain("supervisorctl tail checkout stderr");

    const killed = one(find(SUP, "terminated by SIGKILL"));
    expect(killed).toMatchObject({ kind: "supervisor", cause: "service_killed" });
    expect(killed.meaning).toContain("was killed by SIGKILL");
    expect(killed.next).toContain("Killed process");

    const crashed = one(find(SUP, "terminated by SIGSEGV"));
    expect(crashed).toMatchObject({ kind: "supervisor", cause: "segfault" });
    expect(crashed.meaning).toContain("crashed with SIGSEGV (it left a core dump)");

    const gaveUp = one(find(SUP, "gave up:"));
    expect(gaveUp.meaning).toContain("supervisord gave up restarting `typo`");
    expect(gaveUp.meaning).toContain("`FATAL`");

    const spawnerr = one(find(SUP, "spawnerr:"));
    expect(spawnerr.meaning).toContain("could not start");
    expect(spawnerr.meaning).toContain("can't find command");
  });

  it("reads the same lines pasted as fragments: without their stamp, or their stamp and level", () => {
    const whole = find(SUP, "exited: checkout (exit status 1; not expected)");
    const noStamp = whole.slice(whole.indexOf("WARN "));
    const bare = whole.slice(whole.indexOf("exited: "));
    for (const cut of [noStamp, bare]) {
      expect(one(cut)).toMatchObject({ kind: "supervisor", cause: "service_exit" });
    }
    const pm2 = find(PM2, "App [checkout:0] exited with code [1]");
    expect(one(pm2.slice(pm2.indexOf("App ["))).meaning).toContain("`checkout` exited with status 1");
  });

  it("PM2: an exit with its code, and the give-up after too many unstable restarts", () => {
    const exit = one(find(PM2, "App [checkout:0] exited with code [1]"));
    expect(exit).toMatchObject({
      kind: "supervisor",
      cause: "service_exit",
      localTime: "2026-12-01T09:01:10",
    });
    expect(exit.meaning).toContain("`checkout` exited with status 1");
    expect(exit.next).toContain("pm2 logs checkout --err");
    const gaveUp = one(find(PM2, "too many unstable restarts"));
    expect(gaveUp.meaning).toContain("PM2 gave up restarting");
  });

  it("docker events: a start, the signals sent and the death by SIGKILL", () => {
    const [, start, term, , die] = lines(DOCKER);
    expect(one(start ?? "")).toMatchObject({
      kind: "supervisor",
      meaning: "Docker started `happy_meitner`.",
    });
    expect(one(term ?? "").meaning).toContain("Docker sent SIGTERM to container `happy_meitner`");
    const d = one(die ?? "");
    expect(d).toMatchObject({
      kind: "supervisor",
      cause: "service_killed",
      time: "2017-01-04T16:42:11.119Z",
    });
    expect(d.meaning).toContain("`happy_meitner` was killed by SIGKILL");
  });

  it("docker events: exit 143 after docker stop is a death by SIGTERM, not an error exit", () => {
    const die = readFileSync(`${evidence}docker/__fixtures__/events-docs-basic.txt`, "utf8")
      .split("\n")
      .find((l) => l.includes("container die"));
    const d = one(die ?? "");
    expect(d).toMatchObject({ kind: "supervisor", cause: "service_killed" });
    expect(d.meaning).toContain("`test` was ended by SIGTERM");
  });

  it("docker inspect's State on one line: how the last life ended, how long it ran, and whether it runs", () => {
    const state = readFileSync(`${evidence}docker/__fixtures__/state-json-restarting.txt`, "utf8");
    const d = one(state);
    expect(d).toMatchObject({ kind: "supervisor", cause: "service_exit", time: "2015-12-11T16:30:57.190Z" });
    expect(d.meaning).toContain("its last process exited with status 2, and it is restarting");
    expect(d.meaning).toContain("Its last life ran 0.03 s");
    expect(d.next).toMatch(
      /^A life that short, again and again, is a crash loop: the program stopped itself/,
    );
    // The line why502 collects, built around the same real State (no public report shows that line).
    const named = JSON.stringify({ Name: "/weaveplugin", RestartCount: 7, State: JSON.parse(state) });
    expect(one(named).meaning).toContain("Docker's state of container `weaveplugin`");
    expect(one(named).meaning).toContain("Docker restarted it 7 times.");
  });

  it("docker inspect pasted over several lines (its State block): one entry spanning the block", () => {
    const block = readFileSync(`${evidence}docker/__fixtures__/state-block-exited-137.txt`, "utf8");
    const d = one(block);
    expect(d).toMatchObject({ kind: "supervisor", cause: "service_killed", lines: 13, line: 1 });
    expect(d.meaning).toContain(
      "its last process was killed by SIGKILL (OOMKilled: false), and it is not running",
    );
    expect(d.time).toBe("2020-07-31T22:28:17.557Z");
    // A block that never closes folds nothing: its lines are read one by one.
    const open = block.split("\n").slice(0, 5).join("\n");
    expect(explainText(open).length).toBe(5);
  });

  it("leaves supervisord's and PM2's other lines to the other readers", () => {
    expect(one(find(SUP, "supervisord started with pid")).kind).not.toBe("supervisor");
    expect(one(find(PM2, "PM2 version")).kind).not.toBe("supervisor");
  });
});
