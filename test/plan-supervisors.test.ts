import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { dockerEventsShell, pm2JlistShell } from "../src/collect/supervisors.js";
import { runMain } from "./support/run-main.js";

const dir = mkdtempSync(join(tmpdir(), "why502-plan-sup-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = (process: string, extra = "") => `
ssh: { user: why502, ssh_config: false }
hosts:
  gw1: { address: 10.0.1.10 }
services:
  checkout:
    upstream: checkout
    gateways:
      - host: gw1
        error_log: /var/log/nginx/error.log
        access_log: /var/log/nginx/access.log
    backends:
      port: 8080
      process: ${process}
${extra}      instances: [{ host: app1 }]
`;

async function plan(process: string, extra = ""): Promise<string[]> {
  writeFileSync(join(dir, "why502.yaml"), config(process, extra));
  const r = await runMain(
    ["plan", "checkout", "--config", join(dir, "why502.yaml"), "--since", "2026-11-25T12:00:00Z"],
    { env: { HOME: dir } },
  );
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return r.stdout.split("\n");
}

describe("why502 plan for supervisors other than systemd", () => {
  it("supervisord: status, its pid for ps, and its main log from the window start", async () => {
    const lines = await plan("{ supervisord: checkout, config: /etc/supervisor/supervisord.conf }");
    expect(lines).toContain(
      "  [supervisord-status] supervisorctl -c '/etc/supervisor/supervisord.conf' status 'checkout'",
    );
    expect(lines.join("\n")).toMatch(
      /\[ps\] pid=\$\(supervisorctl -c '\/etc\/supervisor\/supervisord\.conf' pid 'checkout' 2>\/dev\/null\); case/,
    );
    expect(lines.join("\n")).toMatch(
      /\[supervisord-log\] read \/var\/log\/supervisor\/supervisord\.log \(and rotated files\) from the window start/,
    );
  });

  it("PM2: jlist only when its daemon runs, its log, and the app's own logs in PM2's home", async () => {
    const text = (await plan("{ pm2: checkout, home: /home/deploy/.pm2 }")).join("\n");
    expect(text).toMatch(/\[pm2-jlist\] h='\/home\/deploy\/\.pm2'; p=\$\(cat "\$h\/pm2\.pid"/);
    expect(text).toMatch(/\[pm2-log\] read \/home\/deploy\/\.pm2\/pm2\.log/);
    expect(text).toMatch(/\[app-log\] read \/home\/deploy\/\.pm2\/logs\/checkout-out\.log/);
    expect(text).toMatch(/\[app-log\] read \/home\/deploy\/\.pm2\/logs\/checkout-error\.log/);
    expect(text).not.toMatch(/\[ps\]/);
  });

  it("Docker: inspect without the environment, and the container's output from the window start", async () => {
    const text = (await plan("{ docker: checkout-1 }")).join("\n");
    expect(text).toContain(
      `[docker-inspect] docker inspect --format '{"Name":{{json .Name}},"RestartCount":{{json .RestartCount}},"State":{{json .State}}}' 'checkout-1'`,
    );
    expect(text).toContain(
      `[docker-logs] docker logs --timestamps --since "$W_SINCE" --tail 20000 'checkout-1' 2>&1 (W_SINCE: the window start 1795608000, in the host's clock)`,
    );
    expect(text).toContain(
      `[docker-events] docker events --since "$W_SINCE" --until "$(date +%s)" --filter type=container --filter container='checkout-1' --filter event=start --filter event=die --filter event=oom --filter event=kill 2>&1 (W_SINCE: the window start 1795608000, in the host's clock)`,
    );
  });

  it("says what is wrong with a PM2 home that is not absolute", async () => {
    writeFileSync(join(dir, "why502.yaml"), config("{ pm2: checkout, home: ~/.pm2 }"));
    const r = await runMain(["plan", "checkout", "--config", join(dir, "why502.yaml")], {
      env: { HOME: dir },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/services\.checkout\.backends\.process/);
  });
});

describe("pm2 jlist as collected", () => {
  it("starts no PM2 daemon where none runs: it says so and leaves the home as it was", () => {
    const home = join(dir, "pm2-home");
    mkdirSync(home);
    const r = spawnSync("sh", ["-c", pm2JlistShell("checkout", home, "/nonexistent/pm2")], {
      encoding: "utf8",
    });
    expect(r.status).toBe(3);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(`pm2: no PM2 daemon runs for ${home} (none is started)\n`);
    expect(readdirSync(home)).toEqual([]);
  });
});

describe("docker events as collected", () => {
  it("asks from the window start until the host's now, for the container's lives only, as one word each", () => {
    // A stand-in for the docker CLI (no Docker engine runs here): it records its arguments, one a line, and
    // answers with the documented lines.
    const bin = join(dir, "bin");
    mkdirSync(bin, { recursive: true });
    const args = join(dir, "docker-args");
    const lines = readFileSync(
      new URL("../src/evidence/docker/__fixtures__/events-docs-kill.txt", import.meta.url),
    );
    writeFileSync(join(dir, "events.txt"), lines);
    writeFileSync(
      join(bin, "docker"),
      `#!/bin/sh\nprintf '%s\\n' "$@" > '${args}'\ncat '${join(dir, "events.txt")}'\n`,
    );
    chmodSync(join(bin, "docker"), 0o755);
    const before = Math.floor(Date.now() / 1000);
    const r = spawnSync("sh", ["-c", dockerEventsShell("checkout-1; reboot", '"$W_SINCE"')], {
      encoding: "utf8",
      env: { PATH: `${bin}:/usr/bin:/bin`, W_SINCE: "1483283804" },
    });
    const after = Math.floor(Date.now() / 1000);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(lines.toString());
    const argv = readFileSync(args, "utf8").trimEnd().split("\n");
    const until = Number(argv[4]);
    expect(until).toBeGreaterThanOrEqual(before);
    expect(until).toBeLessThanOrEqual(after);
    expect(argv).toEqual([
      "events",
      "--since",
      "1483283804",
      "--until",
      String(until),
      "--filter",
      "type=container",
      "--filter",
      "container=checkout-1; reboot",
      "--filter",
      "event=start",
      "--filter",
      "event=die",
      "--filter",
      "event=oom",
      "--filter",
      "event=kill",
    ]);
  });
});
