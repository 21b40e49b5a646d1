import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type MainResult, runMain } from "./support/run-main.js";
import { tempFiles } from "./support/temp-files.js";

const root = new URL("../", import.meta.url).pathname;
const { file } = tempFiles("why502-window-");

/** Hosts that are never asked: every window below is refused before collection starts. */
const config = (defaults = "") => `
ssh: { user: why502, ssh_config: false }
${defaults}
hosts:
  gw1: { address: 192.0.2.10 }
services:
  checkout:
    upstream: checkout
    gateways: [{ host: gw1, error_log: /var/log/nginx/error.log, access_log: /var/log/nginx/access.log }]
    backends: { port: 8080, instances: [{ host: 192.0.2.11 }] }
`;

/** A user error is one sentence (plus an optional hint line), exit code 2, and never a stack trace. */
function expectUserError(r: MainResult, message: string | RegExp) {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe("");
  expect(r.stderr).not.toMatch(/\n\s+at /);
  const first = r.stderr.split("\n")[0] ?? "";
  if (typeof message === "string") expect(first).toBe(`why502: ${message}`);
  else expect(first).toMatch(message);
}

describe("diagnose --since: a window that cannot be diagnosed is an input error", () => {
  const cfg = file("why502.yaml", config());
  const since = (value: string) => runMain(["diagnose", "checkout", "--config", cfg, "--since", value]);

  it("refuses a start in the future", async () => {
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expectUserError(
      await since(future),
      new RegExp(
        `^why502: --since ${future.replace(/\./g, "\\.")} is in the future \\(it is now .*\\): the window must start before now\\.$`,
      ),
    );
  });

  it("refuses a duration without a unit", async () => {
    expectUserError(await since("5"), '--since "5" has no unit: write 5m for minutes (or 5s, 5h, 5d).');
  });

  it("refuses text that is neither a duration nor a time", async () => {
    expectUserError(
      await since("last tuesday"),
      '--since "last tuesday" is neither a duration nor a time: write 30m, 2h or 2026-11-25T12:00:00Z.',
    );
  });

  it("refuses a window longer than defaults.max_window, 7 days unless set", async () => {
    expectUserError(
      await since("99999999h"),
      '--since "99999999h" reaches back more than the 7d allowed (defaults.max_window): ask for 7d or less, or raise defaults.max_window.',
    );
    const wide = file("wide.yaml", config("defaults: { max_window: 1h }"));
    const r = await runMain(["plan", "checkout", "--config", wide, "--since", "2h"]);
    expectUserError(
      r,
      '--since "2h" reaches back more than the 1h allowed (defaults.max_window): ask for 1h or less, or raise defaults.max_window.',
    );
    const long = new Date(Date.now() - 8 * 86_400_000).toISOString();
    expectUserError(
      await since(long),
      new RegExp(`^why502: --since ${long.replace(/\./g, "\\.")} is 8d ago, more than the 7d allowed`),
    );
  });

  it("refuses a config whose default window is longer than its bound, naming the key's place", async () => {
    const bad = file("bad-window.yaml", config("defaults: { window: 8d }"));
    expectUserError(
      await runMain(["diagnose", "checkout", "--config", bad]),
      /^why502: .*bad-window\.yaml:3:\d+: defaults\.window: expected a window longer than 0 and no longer than max_window/,
    );
  });
});

describe("diagnose --bundle: a bundle whose window cannot be diagnosed is bundle_invalid", () => {
  const good = JSON.parse(readFileSync(`${root}playbooks/cases/lab-oom/bundle.json`, "utf8"));
  const withWindow = (name: string, change: (b: typeof good) => void) => {
    const b = structuredClone(good);
    change(b);
    return runMain(["diagnose", "checkout", "--bundle", file(name, JSON.stringify(b))]);
  };

  it("names a window time that is not a time", async () => {
    const r = await withWindow("garbage.json", (b) => {
      b.window.since = "soon";
    });
    expectUserError(
      r,
      /^why502: .*garbage\.json: window\.since: "soon" is not a time with a zone \(expected ISO 8601 UTC like 2026-11-25T12:00:00\.000Z\)\.$/,
    );
    const zoneless = await withWindow("zoneless.json", (b) => {
      b.window.until = "2026-11-25T12:44:45";
    });
    expectUserError(
      zoneless,
      /zoneless\.json: window\.until: "2026-11-25T12:44:45" is not a time with a zone/,
    );
  });

  it("names a reversed window", async () => {
    const r = await withWindow("reversed.json", (b) => {
      [b.window.since, b.window.until] = [b.window.until, b.window.since];
    });
    expectUserError(
      r,
      /^why502: .*reversed\.json: window: the window 2026-11-25T12:44:45\.099Z to 2026-11-25T12:44:43\.254Z starts after it ends\.$/,
    );
  });

  it("names an absurdly long window and one that starts after the collection", async () => {
    const r = await withWindow("absurd.json", (b) => {
      b.window.since = "2016-11-25T12:44:43.254Z";
    });
    expectUserError(
      r,
      /^why502: .*absurd\.json: window: the window 2016-11-25T12:44:43\.254Z to 2026-11-25T12:44:45\.099Z is 3652d\S* long, more than 7d, the longest a diagnosis covers\.$/,
    );
    const late = await withWindow("late.json", (b) => {
      b.collectedAt = "2026-11-25T12:00:00.000Z";
    });
    expectUserError(
      late,
      /late\.json: window\.since: 2026-11-25T12:44:43\.254Z is not before collectedAt 2026-11-25T12:00:00\.000Z: a window cannot start after its evidence was collected\.$/,
    );
  });
});

describe("healthy only when every gateway's error log was read over the whole window", () => {
  const healthy = JSON.parse(readFileSync(`${root}playbooks/cases/lab-healthy/bundle.json`, "utf8"));
  const diagnose = async (name: string, change: (b: typeof healthy) => void) => {
    const b = structuredClone(healthy);
    change(b);
    const r = await runMain(["diagnose", "checkout", "--bundle", file(name, JSON.stringify(b)), "--json"]);
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as { status: string; summary: string };
  };
  const errorLog = (b: typeof healthy) =>
    b.hosts
      .find((h: { role: string }) => h.role === "gateway")
      .commands.find((c: { kind: string }) => c.kind === "nginx-error");

  it("is healthy when it was", async () => {
    expect((await diagnose("healthy.json", () => undefined)).status).toBe("healthy");
  });

  it("is unknown when one of two gateways did not answer", async () => {
    const d = await diagnose("gw2-down.json", (b) => {
      b.hosts.push({
        name: "gw2",
        address: "127.0.0.20",
        role: "gateway",
        failure: { code: "timeout", message: "gw2 did not finish before the global deadline" },
      });
    });
    expect(d).toMatchObject({
      status: "unknown",
      summary:
        "Cannot say checkout is healthy: nginx logged no upstream failures in what was read, but not the whole window was read: gw2 did not answer (timeout).",
    });
  });

  it("is unknown when the error log was cut or could not be read", async () => {
    const cut = await diagnose("cut.json", (b) => {
      errorLog(b).truncated = true;
    });
    expect(cut.status).toBe("unknown");
    expect(cut.summary).toMatch(
      /: gw's error log \/tmp\/why502-lab-\w+\/nginx\/logs\/error\.log was cut to its last \d+ bytes \(byte cap, or rotated files left unread\), so the window's start is missing\.$/,
    );
    const denied = await diagnose("denied.json", (b) => {
      errorLog(b).failure = { code: "permission_denied", message: "Permission denied" };
    });
    expect(denied.status).toBe("unknown");
    expect(denied.summary).toMatch(/could not be read \(permission_denied: Permission denied\)\.$/);
  });

  it("is unknown when a slow gateway read its log from the window start by its own clock only", async () => {
    const d = await diagnose("slow-gw.json", (b) => {
      const gw = b.hosts.find((h: { role: string }) => h.role === "gateway");
      gw.clock.skewMs = -600_000;
      gw.clock.windowSince = b.window.since;
    });
    expect(d.status).toBe("unknown");
    expect(d.summary).toBe(
      "Cannot say checkout is healthy: nginx logged no upstream failures in what was read, but not the whole window was read: gw's clock is 10 min slow and its logs were read from the window start by that clock, so the first 10 min of the window are missing. gw's clock is 10 min slow; its events were shifted by +600 s.",
    );
  });
});
