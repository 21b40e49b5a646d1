import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_WINDOW_MS, parseSince } from "../../src/config/since.js";
import { UserError } from "../../src/errors.js";
import { parseCommand } from "../../src/slack/command-text.js";
import { fuzzSettings } from "../support/fuzz.js";
import { assertAllowlisted } from "./allowlist.js";
import { fuzzConfig } from "./fuzz-config.js";
import { serviceName, windowText } from "./hostile.js";
import { expectReferencePlan, referenceScripts } from "./plan-reference.js";
import { plannedScripts, type SentScript } from "./script-check.js";

const config = fuzzConfig();
const services = Object.keys(config.services);
const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);

const reference = await referenceScripts(config, NOW);
const expectReferenceScripts = (service: string, sent: SentScript[], sinceMs: number) =>
  expectReferencePlan(reference, config, NOW, service, sent, sinceMs);

describe("the collection plan of any accepted input holds only allowlisted commands", () => {
  it("every service's script is allowlisted templates with quoted slots from the config", () => {
    const templates = new Set<string>();
    for (const [service, sent] of reference) {
      expect(sent.length, service).toBeGreaterThan(0);
      for (const { script } of sent) {
        assertAllowlisted(script, config);
        for (const m of script.matchAll(/^w_sec (\S+)/gm)) templates.add((m[1] ?? "").replace(/-\d+$/, ""));
      }
    }
    // Every template but the aggregate (impact counting, not a diagnosis) is exercised by this inventory.
    expect([...templates].sort()).toEqual(
      [
        "addresses",
        "app-log",
        "clock",
        "docker-events",
        "docker-inspect",
        "docker-logs",
        "journal-file",
        "kernel",
        "nginx-access-log",
        "nginx-conf",
        "nginx-error-log",
        "pm2-jlist",
        "pm2-log",
        "ps",
        "ps-parent",
        "ss",
        "supervisord-log",
        "supervisord-status",
        "systemd-journal",
        "systemd-show",
      ].sort(),
    );
  });

  it("the check itself refuses a script with anything added to a command, or a slot not from the config", () => {
    const script = reference.get("checkout")?.find((s) => s.host === "be1")?.script ?? "";
    const tamper = (from: string, to: string) => {
      expect(script).toContain(from);
      return script.replace(from, to);
    };
    expect(() => assertAllowlisted(tamper("'ss -ltnpH '", "'ss -ltnpH; reboot '"), config)).toThrow(
      /not an allowlisted form/,
    );
    expect(() => assertAllowlisted(tamper("w_sec ss ", "w_sec rm "), config)).toThrow(
      /no allowlisted template/,
    );
    expect(() =>
      assertAllowlisted(tamper("'\"'\"'sport = :8080'\"'\"''", "'\"'\"'sport = :22'\"'\"''"), config),
    ).toThrow(/not from the config/);
    expect(() =>
      assertAllowlisted(tamper("w_sec ss 262144 5 w_cmd 5 ", "w_sec ss 262144 5 w_cmd 5 $(id)"), config),
    ).toThrow(/unquoted/);
  });

  it("a slash command's service and window, whatever they are: refused, or the reference plan in its window", async () => {
    await fc.assert(
      fc.asyncProperty(serviceName(services), fc.option(windowText, { nil: undefined }), async (name, w) => {
        const req = parseCommand(w === undefined ? name : `${name} ${w}`);
        if (req.kind !== "diagnose" || !Object.hasOwn(config.services, req.service)) return;
        if ((req.windowMs ?? 0) > config.defaults.max_window) return;
        const sinceMs = NOW - (req.windowMs ?? config.defaults.window);
        expectReferenceScripts(req.service, await plannedScripts(config, req.service, sinceMs, NOW), sinceMs);
      }),
      fuzzSettings(600),
    );
  });

  it("--since, whatever it is: a one-sentence usage error, or the reference plan in its window", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...services), windowText, async (service, since) => {
        let sinceMs: number;
        try {
          sinceMs = parseSince(since, {
            now: NOW,
            defaultMs: config.defaults.window,
            maxMs: DEFAULT_MAX_WINDOW_MS,
          });
        } catch (e) {
          expect(e).toBeInstanceOf(UserError);
          return;
        }
        expectReferenceScripts(service, await plannedScripts(config, service, sinceMs, NOW), sinceMs);
      }),
      fuzzSettings(400),
    );
  });

  it("regression: __proto__ and constructor are no services (collect() once read them off Object)", async () => {
    for (const name of ["__proto__", "constructor", "toString"])
      await expect(plannedScripts(config, name, NOW - 60_000, NOW)).rejects.toThrow(
        /No service ".+" in the config/,
      );
  });

  it("collect() itself refuses any name that is not a service of the config, before a host is contacted", async () => {
    await fc.assert(
      fc.asyncProperty(serviceName(services), async (name) => {
        if (Object.hasOwn(config.services, name)) return;
        await expect(plannedScripts(config, name, NOW - 60_000, NOW)).rejects.toBeInstanceOf(UserError);
      }),
      fuzzSettings(300),
    );
  });
});
