import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseTarget } from "../src/cli/hosts.js";
import { type MainResult, runMain } from "./support/run-main.js";

const root = new URL("../", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "why502-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], stdin = ""): Promise<MainResult> {
  return runMain(args, { stdin });
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** A user error is one sentence (plus an optional hint line), exit code 2, and never a stack trace. */
function expectUserError(r: { code: number; stderr: string }, message: string | RegExp) {
  expect(r.code).toBe(2);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  const first = r.stderr.split("\n")[0] ?? "";
  if (typeof message === "string") expect(first).toBe(`why502: ${message}`);
  else expect(first).toMatch(message);
}

describe("why502 diagnose --bundle", () => {
  const good = `${root}playbooks/cases/lab-oom/bundle.json`;

  it("diagnoses a saved bundle", async () => {
    const r = await run(["diagnose", "checkout", "--bundle", good]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("oom_killed  Backend on checkout-1 was OOM-killed by the kernel");
  });

  it("names the place of a JSON syntax error", async () => {
    const r = await run([
      "diagnose",
      "checkout",
      "--bundle",
      file("broken.json", '{\n  "version": 1,\n  "service": "checkout"\n  "hosts": []\n}\n'),
    ]);
    expectUserError(
      r,
      /^why502: .*broken\.json:4:3: not valid JSON \(Expected ',' or '}' after property value\)\.$/,
    );
  });

  it("names the JSON path of a schema error", async () => {
    const bundle = JSON.parse(readFileSync(good, "utf8"));
    bundle.hosts[1].commands[2].kind = "nginx-eror";
    const r = await run(["diagnose", "checkout", "--bundle", file("bad-kind.json", JSON.stringify(bundle))]);
    expectUserError(
      r,
      /^why502: .*bad-kind\.json: hosts\[1\]\.commands\[2\]\.kind: expected one of "nginx-error"\|/,
    );
  });

  it("says when the bundle is for another service", async () => {
    const r = await run(["diagnose", "payments", "--bundle", good]);
    expectUserError(
      r,
      `Bundle ${good} holds service "checkout", not "payments": pass the service it was collected for.`,
    );
  });

  it("names file, line and column of a broken playbook", async () => {
    const pb = readFileSync(`${root}playbooks/why502.yaml`, "utf8").replace(
      "- when: errors.dns > 0.0",
      "- when: errors.dnss > 0.0",
    );
    const r = await run(["diagnose", "checkout", "--bundle", good, "--playbook", file("pb.yaml", pb)]);
    expectUserError(
      r,
      /^why502: .*pb\.yaml:\d+:\d+: steps\.errors\.branches\[1\]\.when: CEL expression `errors\.dnss > 0\.0` is invalid: No such key: dnss\.$/,
    );
  });

  it("does not call a service healthy when no gateway's error log could be read", async () => {
    const bundle = JSON.parse(readFileSync(`${root}playbooks/cases/lab-healthy/bundle.json`, "utf8"));
    const gw = bundle.hosts.find((h: { role: string }) => h.role === "gateway");
    gw.failure = { code: "unreachable", message: "127.0.0.10:2222 refused the connection" };
    gw.commands = [];
    const r = await run([
      "diagnose",
      "checkout",
      "--bundle",
      file("gw-down.json", JSON.stringify(bundle)),
      "--json",
    ]);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d.status).toBe("unknown");
    expect(d.summary).toBe(
      "Cannot tell why checkout fails: no gateway's nginx error log could be read; gw (unreachable) did not answer.",
    );
  });

  it("says a missing file is missing", async () => {
    const r = await run(["diagnose", "checkout", "--bundle", join(dir, "nope.json")]);
    expectUserError(
      r,
      `Cannot read bundle ${join(dir, "nope.json")}: the file does not exist or is not readable.`,
    );
  });
});

describe("why502 parse", () => {
  const fixture = readFileSync(`${root}src/evidence/__fixtures__/nginx-error/captured-1.22-http.txt`, "utf8");

  it("prints one JSON record per line", async () => {
    const r = await run(["parse", "nginx-error", "--utc-offset", "+0100"], fixture);
    expect(r.code).toBe(0);
    const first = JSON.parse(r.stdout.split("\n")[1] ?? "");
    expect(first).toMatchObject({
      cause: "connection_refused",
      status: 502,
      target: "127.0.0.1:18190",
      time: "2026-11-25T12:26:12.000Z",
    });
  });

  it("summarises unreadable lines on stderr and keeps the rest", async () => {
    const r = await run(["parse", "nginx-error"], `${fixture.split("\n")[1]}\n\u0000\u0001garbage\n`);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^why502 parse nginx-error: 1 records, 1 of 2 lines unreadable:\n {2}line 2: /);
  });

  it("refuses input that is all garbage, naming the first bad line", async () => {
    const r = await run(["parse", "nginx-error"], "hello\nworld\n");
    expectUserError(
      r,
      "No line of the input reads as nginx-error (2 of 2 lines unreadable, first at line 1).",
    );
  });

  it("refuses an unknown kind and a bad offset with what to write instead", async () => {
    expectUserError(
      await run(["parse", "nginx"]),
      /^why502: Unknown kind "nginx": use one of nginx-error, nginx-access, /,
    );
    expectUserError(
      await run(["parse", "ps", "--utc-offset", "CET"]),
      '--utc-offset "CET" is not an offset: write it like +0100 or -05:30.',
    );
  });

  it("reports an unknown option without a stack", async () => {
    expectUserError(
      await run(["parse", "ps", "--colour"]),
      /^why502 parse: Unknown option '--colour'.*: run `why502 parse --help` for the options\.$/,
    );
  });
});

describe("why502 hosts fingerprint", () => {
  it("reads HOST, HOST:PORT, [V6]:PORT, a bare IPv6 address and a user@ in front", () => {
    expect(["gw1", "gw1:2222", "[::1]:2200", "::1", "root@10.0.0.1:22"].map(parseTarget)).toEqual([
      { host: "gw1", port: 22 },
      { host: "gw1", port: 2222 },
      { host: "::1", port: 2200 },
      { host: "::1", port: 22 },
      { host: "10.0.0.1", port: 22 },
    ]);
  });

  it("refuses a port outside 1-65535 before connecting, in one sentence", async () => {
    expectUserError(
      await run(["hosts", "fingerprint", "127.0.0.1:99999"]),
      'hosts fingerprint "127.0.0.1:99999": port must be 1-65535, not "99999".',
    );
    for (const target of ["gw1:0", "gw1:ssh", "[::1]:", "[::1]:123456", "root@gw1:-1"]) {
      expectUserError(
        await run(["hosts", "fingerprint", target]),
        /^why502: hosts fingerprint ".*": port must be 1-65535, not ".*"\.$/,
      );
    }
    expectUserError(
      await run(["hosts", "fingerprint", ":22"]),
      'hosts fingerprint ":22": give a host name or address, like gw1.example.com:22.',
    );
  });
});

describe("why502", () => {
  it("names an unknown command", async () => {
    expectUserError(await run(["diagnsoe"]), 'unknown command "diagnsoe": run `why502 --help` for the list.');
  });

  it("passes every playbook case", async () => {
    const r = await run(["playbook", "test"]);
    expect(r.stdout).toMatch(/playbook cases: \d+ passed, 0 failed\n$/);
    expect(r.code).toBe(0);
  });
});
