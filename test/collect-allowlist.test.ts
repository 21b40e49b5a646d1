import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { collect } from "../src/collect/collect.js";
import { resolveHost } from "../src/collect/hosts.js";
import { LocalTransport } from "../src/collect/local-transport.js";
import { TEMPLATE_IDS } from "../src/collect/plan.js";
import type { Transport } from "../src/collect/transport.js";
import { parseConfig } from "../src/config/load.js";
import { UserError } from "../src/errors.js";

const dir = mkdtempSync(join(tmpdir(), "why502-allowlist-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A transport that records every script it is asked to run, then runs it for real on this machine. */
function recording(scripts: string[]) {
  return async (): Promise<Transport> => {
    const local = new LocalTransport();
    return {
      host: local.host,
      exec(script, opts) {
        scripts.push(script);
        return local.exec(script, opts);
      },
      close: () => local.close(),
    };
  };
}

const pwned = join(dir, "pwned");
const hostile = `${dir}/app'$(touch ${pwned})\`touch ${pwned}\`;touch ${pwned}.log`;

function config() {
  writeFileSync(join(dir, "error.log"), "");
  return parseConfig(
    stringify({
      hosts: { gw: { local: true }, be1: { local: true } },
      services: {
        checkout: {
          gateways: [{ host: "gw", error_log: join(dir, "error.log"), access_log: join(dir, "access.log") }],
          backends: {
            port: 18080,
            process: { pid_file: hostile },
            app_logs: [hostile],
            kernel_log: { file: hostile },
            instances: [{ host: "be1" }],
          },
        },
      },
    }),
    "why502.yaml",
  );
}

const deps = (scripts: string[], c: ReturnType<typeof config>) => ({
  resolve: (name: string) => resolveHost(c, name, { home: dir, username: "root" }),
  connect: recording(scripts),
  now: Date.now,
  nonce: () => "N0nceN0nceN0nce0001",
});

describe("only allowlisted, quoted commands reach a host", () => {
  it("runs nothing but the allowlisted sections, and a hostile path from the config stays a path", async () => {
    const scripts: string[] = [];
    const c = config();
    const bundle = await collect(c, { service: "checkout", sinceMs: Date.now() - 60_000 }, deps(scripts, c));
    expect(scripts).toHaveLength(2);
    const sections = scripts.flatMap((s) => [...s.matchAll(/^w_sec (\S+) /gm)].map((m) => m[1] ?? ""));
    const allowed = new Set<string>(TEMPLATE_IDS);
    const template = (id: string) => id.replace(/-\d+$/, "");
    expect(sections.filter((id) => !allowed.has(template(id)))).toEqual([]);
    expect(sections.sort()).toEqual(
      [
        "addresses",
        "addresses",
        "app-log-1",
        "clock",
        "clock",
        "kernel",
        "nginx-access-log",
        "nginx-conf",
        "nginx-error-log",
        "ps",
        "ps-parent",
        "ss",
      ].sort(),
    );
    // The command substitutions in the path never ran; the path was looked up literally.
    expect(existsSync(pwned)).toBe(false);
    expect(existsSync(`${pwned}.log`)).toBe(false);
    const be1 = bundle.hosts.find((h) => h.name === "be1");
    expect(be1?.commands.find((c) => c.id === "app-log-1")?.failure?.message).toContain(
      "No such file or directory",
    );
  });

  it("refuses a service name that is not in the config before connecting anywhere", async () => {
    const scripts: string[] = [];
    const c = config();
    const run = collect(c, { service: "checkout; touch /tmp/pwned", sinceMs: 0 }, deps(scripts, c));
    await expect(run).rejects.toBeInstanceOf(UserError);
    await expect(run).rejects.toThrow(
      'No service "checkout; touch /tmp/pwned" in the config: use one of checkout.',
    );
    expect(scripts).toEqual([]);
  });
});
