import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { localCheckoutConfig } from "../../test/support/local-checkout.js";
import { nginxLine, wall } from "../../test/support/run-script.js";
import { tempFiles } from "../../test/support/temp-files.js";
import { deriveFacts } from "../facts/derive.js";
import { collect } from "./collect.js";
import { type ResolvedHost, resolveHost } from "./hosts.js";
import { LocalTransport } from "./local-transport.js";
import { type Transport, TransportError } from "./transport.js";

// A connection lost in the middle of a host's script: the sections that arrived before are kept, the host is
// marked partial with the loss said, and the section it was in and the ones after it say why they are empty.

const { dir } = tempFiles("why502-partial-");

const NONCE = "PartialN0nce00000001";

/** Runs the script here for real, then loses the connection as ssh2 does: with what was read so far. */
function losingAfter(sectionId: string) {
  return async (h: ResolvedHost): Promise<Transport> => {
    const local = new LocalTransport();
    if (h.name !== "gw") return local;
    return {
      host: "gw",
      async exec(script, opts) {
        const r = await local.exec(script, opts);
        const cut = r.stdout.indexOf(`@@why502:${NONCE} begin ${sectionId}\n`);
        if (cut < 0) throw new Error(`no section ${sectionId} in the script's output`);
        // a few bytes into that section: it had begun and not finished
        const stdout = r.stdout.slice(0, cut + `@@why502:${NONCE} begin ${sectionId}\n`.length + 5);
        const partial = { ...r, stdout, stderr: "", exitCode: null, truncated: false };
        const msg = "The connection to gw (127.0.0.1:22) was lost while a command was running.";
        throw new TransportError("unreachable", "gw", msg, { partial });
      },
      close: () => local.close(),
    };
  };
}

function setup() {
  const now = Math.floor(Date.now() / 1000);
  const errorLog = join(dir, "error.log");
  writeFileSync(errorLog, nginxLine(wall(now - 30, new Date().getTimezoneOffset() * -1), 1));
  writeFileSync(join(dir, "access.log"), "");
  const config = localCheckoutConfig(errorLog, join(dir, "access.log"));
  return { config, now };
}

describe("a connection lost in the middle of a host's collection", () => {
  it("keeps the sections that arrived, marks the host partial, and says why the rest is missing", async () => {
    const { config, now } = setup();
    const bundle = await collect(
      config,
      { service: "checkout", sinceMs: (now - 120) * 1000 },
      {
        resolve: (name: string) => resolveHost(config, name, { home: dir, username: "root" }),
        connect: losingAfter("nginx-access-log"),
        now: Date.now,
        nonce: () => NONCE,
      },
    );
    const gw = bundle.hosts.find((h) => h.name === "gw");
    const ids = gw?.commands.map((c) => c.id) ?? [];
    const at = ids.indexOf("nginx-access-log");
    expect(at).toBeGreaterThan(0);
    expect(gw?.failure?.code).toBe("unreachable");
    // the clock and addresses sections count too: they arrived before the commands
    expect(gw?.failure?.message).toBe(
      `The connection to gw (127.0.0.1:22) was lost while a command was running; what arrived before is kept (partial: ${at + 2} of ${ids.length + 2} sections).`,
    );
    expect(gw?.clock?.now).toBeDefined();
    // before the loss: whole, no failure
    const log = gw?.commands.find((c) => c.id === "nginx-error-log");
    expect(log?.failure).toBeUndefined();
    expect(log?.stdout).toContain("connect() failed (111: Connection refused)");
    // the one running: what came of it, and why it stopped
    expect(gw?.commands[at]?.failure).toEqual({
      code: "unreachable",
      message: "the connection was lost before the section finished",
    });
    expect(gw?.commands[at]?.truncated).toBe(true);
    for (const c of gw?.commands.slice(at + 1) ?? [])
      expect(c.failure).toEqual({
        code: "unreachable",
        message: "not run: the connection was lost before it began",
      });
    // the gateway's error log still counts: the target is found, and the host is said to have failed
    const facts = deriveFacts(bundle);
    expect(facts.targets.map((t) => t.facts.address)).toEqual(["172.21.0.19:9000"]);
    expect(facts.hosts.find((h) => h.name === "gw")?.ok).toBe(false);
  });

  it("with nothing arrived yet, the host failed as before: the loss, no commands", async () => {
    const { config, now } = setup();
    const bundle = await collect(
      config,
      { service: "checkout", sinceMs: (now - 120) * 1000 },
      {
        resolve: (name: string) => resolveHost(config, name, { home: dir, username: "root" }),
        connect: losingAfter("clock"),
        now: Date.now,
        nonce: () => NONCE,
      },
    );
    const gw = bundle.hosts.find((h) => h.name === "gw");
    expect(gw?.failure).toEqual({
      code: "unreachable",
      message: "The connection to gw (127.0.0.1:22) was lost while a command was running.",
    });
    expect(gw?.commands).toEqual([]);
  });
});
