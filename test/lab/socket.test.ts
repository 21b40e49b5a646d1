import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { diagnoseCli, labPerTest } from "./diagnose-cli.js";
import { type Lab, startLab } from "./lab.js";
import { writeLabConfig } from "./lab-config.js";
import type { ScenarioName } from "./lab-info.js";
import { runScenario, type ScenarioSummary } from "./scenarios.js";
import { SOCKET_ERRORS, socketErrorLinesSync } from "./socket.js";

const labs = labPerTest();

interface Verdict {
  target: string;
  cause: string;
  title: string;
  explanation: string;
  nextSteps: string[];
  evidence: { host: string; text: string }[];
}
interface Diagnosis {
  status: string;
  hosts: { name: string; ok: boolean }[];
  verdicts: Verdict[];
  trace: { step: string; value: string }[];
}

async function run(scenario: ScenarioName): Promise<{ l: Lab; summary: ScenarioSummary; socket: string }> {
  const l = labs.started(await startLab({ scenario }));
  const summary = await runScenario(l, scenario);
  const socket = l.backends[0]?.info.socket;
  if (socket === undefined) throw new Error("backend 1 does not listen on a socket");
  return { l, summary, socket };
}

/** `why502 diagnose checkout --json` over SSH, from a second before the scenario started. */
async function diagnose(l: Lab, summary: ScenarioSummary): Promise<Diagnosis> {
  const config = writeLabConfig(l.info, join(l.dir, "why502.yaml"));
  const since = new Date(Date.parse(summary.startedAt) - 1000).toISOString();
  const { diagnosis: d } = await diagnoseCli<Diagnosis>(config, since);
  expect(d.status).toBe("failing");
  expect(d.hosts.filter((h) => !h.ok)).toEqual([]);
  return d;
}

const cited = (v: Verdict | undefined) => v?.evidence.map((e) => `${e.host}: ${e.text}`).join("\n") ?? "";

describe("backends on a unix socket (server unix:/path)", () => {
  it("socket-exit: the process exits for good and its socket goes with it; the verdict is the exit, not the socket", async () => {
    const { l, summary, socket } = await run("socket-exit");
    expect(readFileSync(l.nginx.siteConfPath, "utf8")).toContain(`server unix:${socket} max_fails=0;`);
    const lines = socketErrorLinesSync(l, socket);
    expect(lines.length).toBeGreaterThan(0);
    // Every failure is the missing socket: nothing listened on a socket left behind (111) at any time.
    expect(lines.filter((x) => !SOCKET_ERRORS.missing.test(x))).toEqual([]);
    expect(existsSync(socket)).toBe(false);
    expect(summary.backends[0]).toMatchObject({ restarts: 0, pidAfter: undefined, exit: { code: 1 } });
    expect(readFileSync(l.backends[0]?.info.journalPath ?? "", "utf8")).not.toMatch(/Scheduled restart job/);

    const d = await diagnose(l, summary);
    expect(d.verdicts.map((v) => [v.target, v.cause])).toEqual([[`unix:${socket}`, "exited_on_purpose"]]);
    const v = d.verdicts[0];
    expect(v?.title).toBe("Backend on checkout-1 exited on purpose (status 1), no crash");
    expect(v?.explanation).toMatch(
      /no process of the service runs now: nothing started it again, which is why nginx finds no socket at unix:\S+ \("no such file"\), not a FastCGI or uWSGI problem\.$/,
    );
    expect(v?.nextSteps.join("\n")).toMatch(/then start the service again/);
    expect(v?.nextSteps.join("\n")).not.toMatch(/PHP-FPM|FastCGI|uWSGI/);
    expect(cited(v)).toMatch(/^gw: .*connect\(\) to unix:\S+ failed \(2: No such file or directory\)/m);
    expect(cited(v)).toMatch(/^checkout-1: .* fatal: config reload failed: ENOENT/m);
    expect(cited(v)).toMatch(/^checkout-1: .*Main process exited, code=exited, status=1\/FAILURE$/m);
    expect(d.trace.find((t) => t.step === "restart")?.value).toBe("no restart seen, no process");
  });

  it("socket-crash-restart: a crash mid-request, the socket missing until its supervisor starts it again", async () => {
    const { l, summary, socket } = await run("socket-crash-restart");
    const lines = socketErrorLinesSync(l, socket);
    // The request it died in, and those that came while the socket was gone (the app's exit handler removes it a
    // moment before the kernel closes that request's connection, so either may be logged first).
    expect(lines.some((x) => SOCKET_ERRORS.prematureClose.test(x))).toBe(true);
    expect(lines.some((x) => SOCKET_ERRORS.missing.test(x))).toBe(true);
    const b = summary.backends[0];
    expect(b).toMatchObject({ restarts: 1, exit: { code: 1, result: "exit-code" } });
    expect(b?.pidAfter).toBeDefined();
    expect(b?.pidAfter).not.toBe(b?.pidBefore);
    expect(existsSync(socket)).toBe(true);

    const d = await diagnose(l, summary);
    expect(d.verdicts.map((v) => [v.target, v.cause])).toEqual([[`unix:${socket}`, "crashed"]]);
    const v = d.verdicts[0];
    expect(v?.title).toBe(
      "Backend on checkout-1 crashed (TypeError: Cannot read properties of undefined (reading 'id'))",
    );
    expect(v?.explanation).toMatch(/ and restarted \(exit status 1\/FAILURE\)\. Top frames: priceOrder /);
    expect(cited(v)).toMatch(/^checkout-1: .*Scheduled restart job, restart counter is at 1\.$/m);
    expect(cited(v)).toMatch(/^gw: .*connect\(\) to unix:\S+ failed \(2: No such file or directory\)/m);
  });
});
