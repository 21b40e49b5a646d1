import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { psParser } from "./ps.js";
import { parseText } from "./run.js";
import { runtimeSettings } from "./runtime-args.js";

/** The command lines of the real processes in a ps fixture, read as the collector reads them. */
const commandLines = (name: string): string[] =>
  parseText(psParser, readFileSync(new URL(`./__fixtures__/ps/${name}`, import.meta.url), "utf8"), {
    host: "backend-1",
    source: "ps",
    utcOffsetMinutes: 0,
    now: "2026-12-01T12:00:00.000Z",
  }).records.map((r) => r.args);

describe("runtimeSettings on captured command lines", () => {
  it("gunicorn through its interpreter: --timeout, for the master and its worker", () => {
    const lines = commandLines("gunicorn-args.txt");
    expect(lines).toHaveLength(2);
    for (const l of lines)
      expect(runtimeSettings(l)).toEqual([
        { runtime: "gunicorn", kind: "worker_timeout", setting: "--timeout 2", value: 2 },
      ]);
  });

  it("uWSGI: --harakiri", () => {
    expect(commandLines("uwsgi-args.txt").map(runtimeSettings)).toEqual([
      [{ runtime: "uWSGI", kind: "worker_timeout", setting: "--harakiri 2", value: 2 }],
    ]);
  });

  it("the JVM: -Xmx in MiB", () => {
    expect(commandLines("java-args.txt").map(runtimeSettings)).toEqual([
      [{ runtime: "JVM", kind: "heap", setting: "-Xmx32m", value: 32 }],
    ]);
  });

  it("Node: --max-old-space-size in MiB", () => {
    expect(commandLines("node-args.txt").map(runtimeSettings)).toEqual([
      [{ runtime: "Node.js", kind: "heap", setting: "--max-old-space-size=24", value: 24 }],
    ]);
  });

  it("processes that name no limit: nginx, python's http.server, node without a heap flag", () => {
    expect(commandLines("lstart-etimes-args.txt").flatMap(runtimeSettings)).toEqual([]);
  });
});

describe("runtimeSettings on the ways the options are written", () => {
  it.each([
    ["gunicorn -t 30 app:app", "-t 30", 30],
    ["gunicorn -t5 app:app", "-t5", 5],
    ["/usr/bin/python3 -m gunicorn --timeout=120 app:app", "--timeout=120", 120],
    ["uwsgi --ini app.ini --harakiri=60", "--harakiri=60", 60],
    ["java -Xms64m -Xmx1g -jar app.jar", "-Xmx1g", 1024],
    ["java -XX:MaxHeapSize=33554432 -cp app.jar Main", "-XX:MaxHeapSize=33554432", 32],
    ["/usr/bin/java -Xmx524288k Main", "-Xmx524288k", 512],
    ["node --max_old_space_size=4096 server.js", "--max_old_space_size=4096", 4096],
  ])("%s", (args, setting, value) => {
    expect(runtimeSettings(args).map((s) => [s.setting, s.value])).toEqual([[setting, value]]);
  });

  it.each([
    // After the main class or the script, these are the program's own arguments.
    "java -cp app.jar Main -Xmx1g",
    "node server.js --max-old-space-size=24",
    "java -jar app.jar -Xmx1g",
    // A config file or the environment holds the value: nothing to read here.
    "gunicorn -c gunicorn.conf.py app:app",
    "gunicorn: master [app:app]",
    "python3 worker.py --timeout 2",
  ])("nothing from %s", (args) => {
    expect(runtimeSettings(args)).toEqual([]);
  });
});
