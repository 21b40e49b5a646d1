import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { runMain } from "../support/run-main.js";
import { startSshd, type TestSshd } from "../support/sshd.js";

const PORT = 22301;
const fixtures = new URL("../../src/evidence/__fixtures__/", import.meta.url).pathname;

let sshd: TestSshd;
let silent: Server;
const silentSockets = new Set<Socket>();
let dir: string;

/** A host-failure matrix against one real sshd: every host but the gateway fails in its own way. */
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "why502-failures-"));
  sshd = await startSshd({ addresses: ["127.0.0.31", "127.0.0.32", "127.0.0.33", "127.0.0.34"], port: PORT });
  silent = createServer((s) => {
    silentSockets.add(s);
    s.on("close", () => silentSockets.delete(s));
  });
  await new Promise<void>((resolve) => silent.listen(PORT, "127.0.0.35", resolve));

  copyFileSync(join(fixtures, "nginx-error/captured-1.22-http.txt"), join(dir, "error.log"));
  copyFileSync(join(fixtures, "nginx-access/captured-main-ext.log"), join(dir, "access.log"));
  execFileSync("mkfifo", [join(dir, "hang.pid")]);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "other_key")]);
  const otherPub = readFileSync(join(dir, "other_key.pub"), "utf8").split(" ").slice(0, 2).join(" ");
  const good = readFileSync(sshd.knownHostsPath, "utf8")
    .split("\n")
    .filter((l) => l.startsWith("[127.0.0.31]") || l.startsWith("[127.0.0.34]"));
  writeFileSync(join(dir, "known_hosts"), [...good, `[127.0.0.32]:${PORT} ${otherPub}`, ""].join("\n"));

  const backend = (host: string, extra: object = {}) => ({
    host,
    process: { pid_file: join(dir, "app.pid") },
    ...extra,
  });
  const config = {
    ssh: {
      port: PORT,
      user: "root",
      identity_file: sshd.userKeyPath,
      known_hosts: join(dir, "known_hosts"),
      agent: false,
      ssh_config: false,
      connect_timeout: "1500ms",
      command_timeout: "3s",
    },
    defaults: { deadline: "8s", kernel_log: { file: join(dir, "error.log") } },
    hosts: {
      gw: { address: "127.0.0.31", timezone: "Europe/Berlin" },
      "be-changed-key": { address: "127.0.0.32" },
      "be-unknown-host": { address: "127.0.0.33" },
      "be-refused-login": { address: "127.0.0.31", identity_file: join(dir, "other_key") },
      "be-silent": { address: "127.0.0.35" },
      "be-hanging-command": { address: "127.0.0.34" },
      "be-via-bastion": { address: "127.0.0.34", jump: `root@127.0.0.31:${PORT}` },
      "be-via-dead-bastion": { address: "127.0.0.34", jump: `root@127.0.0.29:${PORT}` },
    },
    services: {
      capture: {
        gateways: [{ host: "gw", error_log: join(dir, "error.log"), access_log: join(dir, "access.log") }],
        backends: {
          port: 18190,
          instances: [
            backend("be-changed-key"),
            backend("be-unknown-host"),
            backend("be-refused-login"),
            backend("be-silent"),
            backend("be-hanging-command", { process: { pid_file: join(dir, "hang.pid") } }),
            backend("be-via-bastion"),
            backend("be-via-dead-bastion"),
          ],
        },
      },
    },
  };
  writeFileSync(join(dir, "why502.yaml"), stringify(config));
});

afterAll(async () => {
  for (const s of silentSockets) s.destroy();
  await new Promise<void>((resolve) => (silent ? silent.close(() => resolve()) : resolve()));
  await sshd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("host failures against a real sshd", () => {
  it("gives each host its own status within its timeout, and still delivers the diagnosis", async () => {
    const started = Date.now();
    const args = [
      "diagnose",
      "capture",
      "--config",
      join(dir, "why502.yaml"),
      "--since",
      "2026-11-25T12:00:00Z",
    ];
    const r = await runMain([...args, "--json"], { env: { HOME: dir } });
    const elapsed = Date.now() - started;
    expect(r.stderr).toMatch(/collecting: 8\/8 hosts answered, failed: /);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout) as {
      hosts: {
        name: string;
        ok: boolean;
        failure?: { code: string; message: string };
        commands: { id: string; failure?: string }[];
      }[];
      verdicts: { target: string; cause: string }[];
    };
    const status = Object.fromEntries(d.hosts.map((h) => [h.name, h.failure?.code ?? "ok"]));
    expect(status).toEqual({
      gw: "ok",
      "be-changed-key": "host_key_mismatch",
      "be-unknown-host": "host_key_unknown",
      "be-refused-login": "auth_failed",
      "be-silent": "timeout",
      "be-hanging-command": "ok",
      "be-via-bastion": "ok",
      "be-via-dead-bastion": "unreachable",
    });
    const byName = Object.fromEntries(d.hosts.map((h) => [h.name, h]));
    expect(byName["be-changed-key"]?.failure?.message).toMatch(/127\.0\.0\.32.*SHA256:[A-Za-z0-9+/]{43}/);
    expect(byName["be-unknown-host"]?.failure?.message).toMatch(/127\.0\.0\.33.*SHA256:[A-Za-z0-9+/]{43}/);
    // The host itself answers (be-via-bastion is ok); only the dead bastion on the way makes it unreachable.
    expect(byName["be-via-dead-bastion"]?.failure?.message).toContain("127.0.0.29");
    const hung = byName["be-hanging-command"]?.commands.find((c) => c.id === "ps");
    expect(hung?.failure).toMatch(/^timeout: /);
    // The gateway's real captured errors were diagnosed despite five broken backends.
    expect(d.verdicts.map((v) => v.cause)).toContain("header_too_big");
    // The deadline is 8 s; connect timeouts are 1.5 s and the hanging command's host 3 s (its command would
    // hang for good without them). The margin is for a loaded machine.
    expect(elapsed).toBeLessThan(8000 + 4000);
  });

  it("check prints a row per host and exits non-zero when any host has a problem", async () => {
    const r = await runMain(["check", "--config", join(dir, "why502.yaml")], { env: { HOME: dir } });
    expect(r.code).toBe(1);
    const rows = r.stdout.split("\n");
    expect(rows[0]).toBe(`${join(dir, "why502.yaml")}: config ok (1 services)`);
    expect(rows.find((r) => r.startsWith("capture  gw "))).toMatch(/ ok {2}/);
    expect(rows.find((r) => r.includes("be-changed-key"))).toMatch(/FAIL host_key_mismatch: /);
    expect(rows.find((r) => r.includes("be-refused-login"))).toMatch(/FAIL auth_failed: /);
    expect(rows.find((r) => r.includes("be-hanging-command"))).toMatch(/FAIL ps: timeout: /);
    expect(r.stdout).toMatch(/\n6 host\(s\) with problems\n$/);
  });

  it("hosts fingerprint prints the key's fingerprint exactly as ssh-keygen does, and a line to pin", async () => {
    const r = await runMain(["hosts", "fingerprint", `127.0.0.31:${PORT}`]);
    expect(r.code).toBe(0);
    const expected = execFileSync("ssh-keygen", ["-lf", `${sshd.hostKeyPath}.pub`], {
      encoding: "utf8",
    }).split(" ")[1];
    const [first, second] = r.stdout.split("\n");
    expect(first).toBe(`${expected} (ssh-ed25519)`);
    expect(second).toBe(`[127.0.0.31]:${PORT} ${sshd.hostPublicKey}`);
  });
});
