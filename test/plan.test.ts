import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runMain } from "./support/run-main.js";

const dir = mkdtempSync(join(tmpdir(), "why502-plan-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = `
ssh: { user: why502, jump: ops@bastion.example.com:2222, ssh_config: false }
defaults: { max_window: 3650d }
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
      process: { systemd_unit: checkout.service }
      app_logs: [/var/log/checkout/app.log]
      instances: [{ host: app1.internal }]
`;

const run = (args: string[]) => runMain(args, { env: { HOME: dir } });

describe("why502 plan", () => {
  it("prints every command for every host, with the login it will use, and runs nothing", async () => {
    writeFileSync(join(dir, "why502.yaml"), config);
    const r = await run([
      "plan",
      "checkout",
      "--config",
      join(dir, "why502.yaml"),
      "--since",
      "2026-11-25T12:00:00Z",
    ]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe("gateway gw1 (why502@10.0.1.10:22 via ops@bastion.example.com:2222)");
    expect(lines).toContain("  [nginx-conf] 'nginx' '-T'");
    expect(lines).toContain(
      "backend app1.internal (why502@app1.internal:22 via ops@bastion.example.com:2222)",
    );
    expect(lines).toContain(
      `  [systemd-journal] journalctl -u 'checkout.service' --since @"$W_SINCE" -n 20000 -o short-iso --no-pager -q (W_SINCE: the window start 1795608000, in the host's clock)`,
    );
    expect(lines).toContain("  [ss] ss -ltnpH 'sport = :8080'");
    expect(r.stdout).toMatch(
      /\[app-log\] read \/var\/log\/checkout\/app\.log \(and rotated files\) from the window start/,
    );
  });

  it("shows the access-log count an incident's summary runs on each gateway: exactly when the config names the format", async () => {
    const path = join(dir, "why502.yaml");
    writeFileSync(path, config);
    const discovered = await run(["plan", "checkout", "--config", path]);
    expect(discovered.stdout).toContain(
      "  when an incident closes, for its summary: [nginx-access-aggregate] count /var/log/nginx/access.log (and rotated files) per UTC minute, status and upstream over the incident with awk on the host, by its log_format from nginx -T; only the counts are sent (at most 20000 keys, 2097152 bytes, 90 s)",
    );
    const combined =
      '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $upstream_addr';
    writeFileSync(
      path,
      config.replace(
        "access_log: /var/log/nginx/access.log",
        `access_log: /var/log/nginx/access.log\n        log_format: '${combined}'`,
      ),
    );
    const exact = await run(["plan", "checkout", "--config", path]);
    expect(exact.code).toBe(0);
    expect(exact.stdout).toContain(
      "  when an incident closes, for its summary: [nginx-access-aggregate] count /var/log/nginx/access.log (and rotated files) per UTC minute, status and upstream over the incident with awk on the host; only the counts are sent (at most 20000 keys, 2097152 bytes, 90 s)",
    );
    writeFileSync(
      path,
      config.replace(
        "access_log: /var/log/nginx/access.log",
        "access_log: /var/log/nginx/access.log\n        log_format: '$remote_addr $request'",
      ),
    );
    const uncountable = await run(["plan", "checkout", "--config", path]);
    expect(uncountable.stdout).toMatch(
      /when an incident closes, for its summary: no count: the log_format of \/var\/log\/nginx\/access\.log cannot be counted \(.+\)/,
    );
  });

  it("names the service it does not know, and the ones it does", async () => {
    writeFileSync(join(dir, "why502.yaml"), config);
    const r = await run(["plan", "payments", "--config", join(dir, "why502.yaml")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('why502: No service "payments" in the config: use one of checkout.\n');
  });
});
