import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadBundle } from "../../src/bundle/load.js";
import type { HostBundle } from "../../src/bundle/schema.js";
import { problems, table } from "../../src/cli/check.js";
import { progressLine } from "../../src/cli/live.js";
import { diagnoseBundle } from "../../src/diagnosis/diagnose.js";
import { loadPlaybook } from "../../src/playbook/loader.js";
import { explainForSlack } from "../../src/slack/explain.js";
import { failedReply, type SlackMessage, summaryClosedMessage } from "../../src/slack/messages.js";
import { capture, runMain } from "../support/run-main.js";
import { HOSTILE, PIECES } from "./corpus.js";
import { mrkdwnProblems, notVerbatim, slackTexts, terminalProblems } from "./markup.js";

const root = new URL("../../", import.meta.url).pathname;
const CASE = `${root}playbooks/cases/lab-two-causes/bundle.json`;
const dir = mkdtempSync(join(tmpdir(), "why502-hostile-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The hostile corpus on one line, as a host name or a one-line answer would carry it. */
const LINE = PIECES.join(" ");

function messageProblems(m: SlackMessage): string[] {
  return [m.text, ...slackTexts(m.blocks).mrkdwn].flatMap((x) => mrkdwnProblems(x));
}

describe("Slack messages the bot posts outside a diagnosis", () => {
  it("a failed run's thread reply: the service and the reason (a host's answer) escaped", () => {
    const m = failedReply(`checkout ${LINE}`, `ssh: ${HOSTILE}`);
    expect(messageProblems(m)).toEqual([]);
    expect(notVerbatim(m.blocks)).toEqual([]);
    expect(m.text).toContain("&lt;!channel&gt;");
  });

  it("the parent after an incident's summary: its headline fully escaped, verbatim", () => {
    const m = summaryClosedMessage(`checkout ${LINE}`, `Resolved after 3m: ${HOSTILE}`);
    expect(messageProblems(m)).toEqual([]);
    expect(notVerbatim(m.blocks)).toEqual([]);
  });

  it("explain in Slack: every section verbatim", () => {
    const m = explainForSlack(HOSTILE);
    expect(m.blocks?.length).toBeGreaterThan(0);
    expect(notVerbatim(m.blocks)).toEqual([]);
  });
});

describe("the 'unknown' summary", () => {
  it("names the first five gateways that did not answer, and counts the rest", () => {
    const bundle = loadBundle(CASE);
    const gw = bundle.hosts.find((h) => h.role === "gateway");
    if (!gw) throw new Error("the case has a gateway");
    const failed = Array.from(
      { length: 12 },
      (_, i): HostBundle => ({
        ...gw,
        name: `gw-${i + 1}`,
        commands: [],
        failure: { code: "timeout", message: "no answer in 10 s" },
      }),
    );
    bundle.hosts = [...failed, ...bundle.hosts.filter((h) => h.role !== "gateway")];
    const d = diagnoseBundle(bundle, loadPlaybook(`${root}playbooks/why502.yaml`));
    expect(d.status).toBe("unknown");
    expect(d.summary).toBe(
      "Cannot tell why checkout fails: no gateway's nginx error log could be read; gw-1 (timeout), gw-2 (timeout), gw-3 (timeout), gw-4 (timeout), gw-5 (timeout), and 7 more did not answer.",
    );
  });
});

describe("host text the CLI prints to a terminal", () => {
  it("the progress line: a failed host's name and detail shown, never obeyed", () => {
    const err = capture();
    const line = progressLine({ env: {}, stdin: process.stdin, stdout: err.stream, stderr: err.stream }, 2);
    line.update({ host: `gw ${LINE}`, state: "failed", done: 1, total: 2, detail: HOSTILE });
    line.end();
    expect(err.text()).toContain("failed: gw ");
    expect(terminalProblems(err.text())).toEqual([]);
    expect(err.text().trimEnd().split("\n")).toHaveLength(1);
  });

  it("check's table: host names, addresses and what the hosts answered, one line each", () => {
    const gw = loadBundle(CASE).hosts[0];
    if (!gw) throw new Error("the case has hosts");
    const bad: HostBundle = { ...gw, failure: { code: "host_key_unknown", message: HOSTILE } };
    const out = table([
      ["service", "host", "role", "address", "status"],
      ["checkout", `gw ${LINE}`, "gateway", `10.0.0.1 ${LINE}`, `FAIL ${problems(bad).join("; ")}`],
    ]);
    expect(terminalProblems(out)).toEqual([]);
    expect(out.trimEnd().split("\n")).toHaveLength(2);
  });

  it("an error that quotes a host: a bundle naming a host twice, the name holding a C1 CSI", async () => {
    const bundle = JSON.parse(readFileSync(CASE, "utf8"));
    bundle.hosts[1].name = "evil\u009b31m\u001b]0;t\u0007";
    bundle.hosts[2].name = bundle.hosts[1].name;
    const file = join(dir, "twice.json");
    writeFileSync(file, JSON.stringify(bundle));
    const r = await runMain(["diagnose", "checkout", "--bundle", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("evil\\x9b31m");
    expect(terminalProblems(r.stderr)).toEqual([]);
  });

  it("parse's unreadable lines: quoted as JSON with C1 and invisible characters escaped too", async () => {
    const fixture = readFileSync(
      `${root}src/evidence/__fixtures__/nginx-error/captured-1.22-http.txt`,
      "utf8",
    );
    const input = `${fixture.split("\n")[1]}\nnot nginx \u009b31m\u202eevil \u001b[2J\n`;
    const r = await runMain(["parse", "nginx-error"], { stdin: input });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("line 2:");
    expect(r.stderr).toContain("\\u009b31m\\u202eevil \\u001b[2J");
    expect(terminalProblems(r.stderr)).toEqual([]);
  });
});
