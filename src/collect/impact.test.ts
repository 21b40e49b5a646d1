import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import {
  fixture,
  fixtureFormat,
  fixtureLines,
  referenceCounts,
  restamp,
} from "../../test/support/access-log.js";
import { parseConfig } from "../config/load.js";
import { UserError } from "../errors.js";
import { resolveHost } from "./hosts.js";
import { collectImpact } from "./impact.js";
import { LocalTransport } from "./local-transport.js";
import { TEMPLATE_IDS } from "./plan.js";
import { type Transport, TransportError } from "./transport.js";

const dir = mkdtempSync(join(tmpdir(), "why502-impact-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MAIN_EXT = fixtureFormat("main_ext");
const T0 = Date.UTC(2026, 10, 25, 12, 0, 0) / 1000;
/** A window that holds every line here (the fixtures' too), shorter than defaults.max_window (7 days). */
const DAY = { sinceMs: (T0 - 86_400) * 1000, untilMs: (T0 + 86_400) * 1000 };

/** A gateway's access log: real main_ext lines, `perSecond` a second for `seconds` from T0, at +05:30. */
function accessLog(name: string, seconds: number, perSecond: number, shift = 0): string {
  const lines = [...fixtureLines("main_ext.txt"), ...fixtureLines("captured-main-ext.log")];
  const out: string[] = [];
  for (let i = 0; i < seconds * perSecond; i++)
    out.push(restamp(lines[(i + shift) % lines.length] ?? "", T0 + Math.floor(i / perSecond), 330));
  const text = `${out.join("\n")}\n`;
  writeFileSync(join(dir, name), text);
  return text;
}

type GatewaySpec = Record<string, unknown> & { host: string };

function config(gateways: GatewaySpec[]) {
  const hosts = Object.fromEntries(gateways.map((g) => [g.host, { local: true }]));
  return parseConfig(
    stringify({
      hosts,
      services: { checkout: { gateways, upstream: "app", backends: { port: 18080, from_upstream: true } } },
    }),
    "why502.yaml",
  );
}

/** Runs each script for real on this machine and keeps it, so a test can see what reached the "host". */
function deps(c: ReturnType<typeof config>, scripts: string[] = [], down = new Set<string>()) {
  return {
    resolve: (name: string) => resolveHost(c, name, { home: dir, username: "root" }),
    connect: async (h: { name: string }): Promise<Transport> => {
      if (down.has(h.name)) throw new TransportError("unreachable", h.name, `${h.name}: connection refused.`);
      const local = new LocalTransport({ name: h.name });
      return {
        host: h.name,
        exec(script, opts) {
          scripts.push(script);
          return local.exec(script, opts);
        },
        close: () => local.close(),
      };
    },
    now: Date.now,
    nonce: () => "ImpactN0nce0123456789",
  };
}

const sum = (m: Map<string, number>, into = new Map<string, number>()) => {
  for (const [k, n] of m) into.set(k, (into.get(k) ?? 0) + n);
  return into;
};
const keyed = (rows: { minute: string; status: number; target: string; count: number }[]) =>
  new Map(rows.map((r) => [`${r.minute.slice(0, 16)} ${r.status} ${r.target}`, r.count]));

describe("collectImpact", () => {
  it("adds up the gateways' counts, each made on its host; only the aggregate runs there", async () => {
    const a = accessLog("a.log", 900, 6);
    const b = accessLog("b.log", 900, 4, 7);
    const c = config([
      { host: "gw1", access_log: join(dir, "a.log"), log_format: MAIN_EXT },
      { host: "gw2", access_log: join(dir, "b.log"), log_format: MAIN_EXT },
    ]);
    const scripts: string[] = [];
    const since = T0 + 120;
    const until = T0 + 600;
    const impact = await collectImpact(
      c,
      "checkout",
      { sinceMs: since * 1000 + 400, untilMs: until * 1000 + 999 },
      deps(c, scripts),
    );
    expect(impact.complete).toBe(true);
    expect(impact.hosts.map((h) => [h.name, h.ok, h.failure, h.incomplete])).toEqual([
      ["gw1", true, undefined, undefined],
      ["gw2", true, undefined, undefined],
    ]);
    const want = sum(referenceCounts(b, MAIN_EXT, since, until), referenceCounts(a, MAIN_EXT, since, until));
    expect(keyed(impact.perMinute)).toEqual(want);
    expect(impact.perMinute[0]).toMatchObject({ minute: "2026-11-25T12:02:00.000Z" });
    expect(impact.perMinute.at(-1)).toMatchObject({ minute: "2026-11-25T12:10:00.000Z" });
    const ordered = impact.perMinute.map((r) => `${r.minute} ${r.status} ${r.target}`);
    expect(ordered).toEqual([...ordered].sort());
    // one script per gateway, whose only section is the allowlisted aggregate
    expect(scripts).toHaveLength(2);
    for (const s of scripts)
      expect([...s.matchAll(/^w_sec (\S+) /gm)].map((m) => m[1])).toEqual(["nginx-access-aggregate"]);
    expect(TEMPLATE_IDS).toContain("nginx-access-aggregate");
    expect(impact.hosts[0]?.totals).toMatchObject({ stopped: true, dropped: 0 });
  });

  it("reads the access log and its format from nginx -T where the config says discover", async () => {
    mkdirSync(join(dir, "logs"), { recursive: true });
    writeFileSync(join(dir, "logs", "combined.log"), fixture("combined.txt"));
    const conf = fixture("nginx-T.txt").replaceAll("/tmp/why502-access/logs/", `${dir}/logs/`);
    writeFileSync(join(dir, "nginx-T.txt"), conf);
    // nginx_t names nginx only: a stand-in named nginx prints the config.
    mkdirSync(join(dir, "bin"), { recursive: true });
    writeFileSync(join(dir, "bin", "nginx"), `#!/bin/sh\nexec cat '${join(dir, "nginx-T.txt")}'\n`);
    chmodSync(join(dir, "bin", "nginx"), 0o755);
    const c = config([{ host: "gw1", nginx_t: [join(dir, "bin", "nginx"), "-T"] }]);
    const scripts: string[] = [];
    const impact = await collectImpact(c, "checkout", { ...DAY }, deps(c, scripts));
    expect(impact.hosts[0]).toMatchObject({ ok: true, accessLog: join(dir, "logs", "combined.log") });
    expect(keyed(impact.perMinute)).toEqual(
      referenceCounts(fixture("combined.txt"), fixtureFormat("combined"), 0, 2e9),
    );
    expect(scripts.map((s) => [...s.matchAll(/^w_sec (\S+) /gm)].map((m) => m[1]))).toEqual([
      ["nginx-conf"],
      ["nginx-access-aggregate"],
    ]);
  });

  it("is incomplete when a gateway fails, says why, and still adds up the others", async () => {
    accessLog("ok.log", 60, 2);
    writeFileSync(join(dir, "iso.log"), fixture("iso_msec.txt"));
    const c = config([
      { host: "gw1", access_log: join(dir, "ok.log"), log_format: MAIN_EXT },
      { host: "gw2", access_log: join(dir, "missing.log"), log_format: MAIN_EXT },
      { host: "gw3", access_log: join(dir, "iso.log"), log_format: fixtureFormat("iso_msec") },
      { host: "gw4", access_log: join(dir, "ok.log"), log_format: MAIN_EXT },
    ]);
    const impact = await collectImpact(c, "checkout", { ...DAY }, deps(c, [], new Set(["gw4"])));
    expect(impact.complete).toBe(false);
    expect(impact.hosts.map((h) => [h.name, h.ok, h.failure?.code, h.failure?.message])).toEqual([
      ["gw1", true, undefined, undefined],
      ["gw2", false, "error", `why502: ${join(dir, "missing.log")}: No such file or directory`],
      [
        "gw3",
        false,
        "error",
        `the log_format of ${join(dir, "iso.log")} cannot be counted on the host: the log_format has no $time_local`,
      ],
      ["gw4", false, "unreachable", "gw4: connection refused."],
    ]);
    expect(impact.perMinute.reduce((n, r) => n + r.count, 0)).toBe(impact.hosts[0]?.totals?.counted);
  });

  it("is incomplete when a gateway hit its key cap, and says how many requests were left out", async () => {
    accessLog("many.log", 600, 5);
    const c = config([{ host: "gw1", access_log: join(dir, "many.log"), log_format: MAIN_EXT }]);
    const impact = await collectImpact(c, "checkout", { ...DAY, maxKeys: 10 }, deps(c));
    expect(impact.complete).toBe(false);
    expect(impact.perMinute).toHaveLength(10);
    const dropped = impact.hosts[0]?.totals?.dropped ?? 0;
    expect(dropped).toBeGreaterThan(0);
    expect(impact.hosts[0]).toMatchObject({
      ok: true,
      incomplete: `${dropped} requests were not counted: more than 10 distinct minute, status and upstream keys`,
    });
  });

  it("a hostile access_log path and log_format from the config stay data; only integers reach the script", async () => {
    const pwned = join(dir, "pwned");
    const path = `${dir}/a'$(touch ${pwned})\`touch ${pwned}\`;touch ${pwned}.log`;
    const format = `$remote_addr [$time_local] "$request" $status '$(touch ${pwned}.format)' \`touch ${pwned}.format\``;
    const c = config([{ host: "gw1", access_log: path, log_format: format }]);
    const scripts: string[] = [];
    const impact = await collectImpact(c, "checkout", DAY, deps(c, scripts));
    expect(existsSync(pwned)).toBe(false);
    expect(existsSync(`${pwned}.log`)).toBe(false);
    expect(existsSync(`${pwned}.format`)).toBe(false);
    expect(impact.hosts[0]?.failure?.message).toBe(`why502: ${path}: No such file or directory`);
    expect(scripts).toHaveLength(1);
    const line = scripts[0]?.split("\n").find((l) => l.startsWith("w_sec nginx-access-aggregate ")) ?? "";
    expect(line.endsWith(` ${DAY.untilMs / 1000} 90 20000 '3 1 2 1 3 1 0 0 0 0 0 0'`)).toBe(true);
    expect(scripts[0]).not.toContain(".format");
  });

  it("refuses an unknown service, a window that ends before it starts and one too long, in a sentence", async () => {
    const c = config([{ host: "gw1", access_log: join(dir, "a.log") }]);
    await expect(collectImpact(c, "shop", { sinceMs: 0, untilMs: 1 }, deps(c))).rejects.toThrow(
      new UserError("not_found", 'No service "shop" in the config: use one of checkout.'),
    );
    await expect(collectImpact(c, "checkout", { sinceMs: 2000, untilMs: 1000 }, deps(c))).rejects.toThrow(
      "The impact window must end after it starts (since 2000, until 1000).",
    );
    await expect(
      collectImpact(c, "checkout", { sinceMs: 0, untilMs: 8 * 86_400_000 }, deps(c)),
    ).rejects.toThrow(
      "The impact window is longer than defaults.max_window: ask for a shorter one, or raise defaults.max_window.",
    );
  });
});
