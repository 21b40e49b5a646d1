import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Bundle } from "../src/bundle/schema.js";
import { diagnoseBundle } from "../src/diagnosis/diagnose.js";
import { loadPlaybook } from "../src/playbook/loader.js";

const root = new URL("../", import.meta.url).pathname;
const fixture = (p: string) => readFileSync(`${root}src/evidence/__fixtures__/${p}`, "utf8");

describe("a unit's journal is read for the service's own output too", () => {
  it("finds the crash stack a service wrote to its journal (StandardOutput=journal)", () => {
    // Real captures: nginx 1.22 refusing 127.0.0.1:18190 (TZ=Europe/Berlin) and a Go panic read back with
    // `journalctl -o short-iso` from a journald stream; put together as one host's collection would be.
    const refused = fixture("nginx-error/captured-1.22-http.txt")
      .split("\n")
      .filter((l) => l.includes("127.0.0.1:18190") && l.includes("[error]"))
      .join("\n");
    const journal = fixture("app/journalctl-short-iso.txt")
      .split("\n")
      .filter((l) => l.includes(" checkout["))
      .join("\n");
    const bundle: Bundle = {
      version: 1,
      service: "checkout",
      collectedAt: "2026-11-25T12:35:00.000Z",
      window: { since: "2026-11-25T12:20:00.000Z", until: "2026-11-25T12:35:00.000Z" },
      backends: [{ host: "be1", address: "127.0.0.1", port: 18190, unit: "checkout.service" }],
      hosts: [
        {
          name: "gw",
          address: "127.0.0.10",
          role: "gateway",
          addresses: [],
          clock: { now: "2026-11-25T12:35:00.000Z", utcOffsetMinutes: 60 },
          commands: [
            {
              id: "nginx-error-log",
              kind: "nginx-error",
              source: "/var/log/nginx/error.log",
              exitCode: 0,
              stdout: refused,
              stderr: "",
              durationMs: 1,
              truncated: false,
            },
          ],
        },
        {
          name: "be1",
          address: "127.0.0.1",
          role: "backend",
          addresses: [],
          clock: { now: "2026-11-25T12:35:00.000Z", utcOffsetMinutes: 0 },
          commands: [
            {
              id: "systemd-journal",
              kind: "systemd",
              alsoParseAs: ["app"],
              source: "journalctl -u checkout.service",
              exitCode: 0,
              stdout: journal,
              stderr: "",
              durationMs: 1,
              truncated: false,
            },
          ],
        },
      ],
    };
    const d = diagnoseBundle(bundle, loadPlaybook(`${root}playbooks/why502.yaml`));
    expect(d.verdicts.map((v) => [v.target, v.cause, v.title])).toEqual([
      [
        "127.0.0.1:18190",
        "crashed",
        "Backend on be1 crashed (panic: runtime error: index out of range [1] with length 1)",
      ],
    ]);
    expect(d.verdicts[0]?.evidence[0]?.source).toBe("journalctl -u checkout.service");
  });
});
