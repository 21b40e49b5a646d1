import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ExplainedLine } from "../src/explain/schema.js";
import { runMain } from "./support/run-main.js";

const fixtures = new URL("../src/evidence/__fixtures__/", import.meta.url).pathname;
const line = (name: string, n: number): string =>
  readFileSync(`${fixtures}${name}`, "utf8").split("\n")[n - 1] ?? "";

const REFUSED = line("nginx-error/captured-1.22-http.txt", 2);
const OOM_KILL = line("kernel/dmesg-raw-memcg-oom.txt", 81);
const paste = `${REFUSED}\n\n${OOM_KILL}\nnot a log line \u001b[2J\u001b]0;title\u0007\n`;

describe("why502 explain", () => {
  it("prints what each line means, in text", async () => {
    const r = await runMain(["explain"], { stdin: paste });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain(
      "1: 2026/11/25 13:26:12 [error] 26804#26804: *3 connect() failed (111: Connection refused)",
    );
    expect(r.stdout).toContain("   next: Is anything listening on `127.0.0.1:18190`");
    expect(r.stdout).toContain(
      "3: [  495.871927] Memory cgroup out of memory: Killed process 10258 (python3)",
    );
    expect(r.stdout).toContain(
      "4: not a log line \\x1b[2J\\x1b]0;title\\x07\n   Nothing I recognise in this line.",
    );
    expect(r.stdout).toContain("3 lines: 1 nginx error log, 1 kernel, 1 not recognised.");
    // biome-ignore lint/suspicious/noControlCharactersInRegex: no escape sequence may reach the terminal
    expect(r.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
  });

  it("prints one JSON object per entry with --json", async () => {
    const r = await runMain(["explain", "--json"], { stdin: paste });
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trimEnd()
      .split("\n")
      .map((l) => ExplainedLine.parse(JSON.parse(l)));
    expect(lines.map((l) => [l.line, l.kind, l.cause, l.status])).toEqual([
      [1, "nginx-error", "connection_refused", 502],
      [3, "kernel", "oom_kill", undefined],
      [4, "unknown", undefined, undefined],
    ]);
    expect(lines[0]?.upstream).toBe("127.0.0.1:18190");
  });

  it("exits 0 when nothing was recognised", async () => {
    const r = await runMain(["explain"], { stdin: "hello\nworld\n" });
    expect(r.code).toBe(0);
    expect(r.stdout.match(/Nothing I recognise in this line\./g)).toHaveLength(2);
  });

  it("says in one sentence that stdin was empty, and exits 2", async () => {
    for (const stdin of ["", "\n  \n"]) {
      const r = await runMain(["explain"], { stdin });
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toBe(
        "why502: Nothing to explain: stdin is empty. Pipe or paste log lines, e.g. `why502 explain < lines.txt`.\n",
      );
    }
  });

  it("has help, and names a wrong option", async () => {
    const help = await runMain(["explain", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: why502 explain \[--json\]/);
    const wrong = await runMain(["explain", "--jsn"], { stdin: paste });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(
      /^why502 explain: Unknown option '--jsn'.*run `why502 explain --help` for the options\.\n$/,
    );
    const top = await runMain(["--help"]);
    expect(top.stdout).toContain("  explain                     say what each pasted log line means");
  });
});
