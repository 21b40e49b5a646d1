import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { SLACK_BOT_SCOPES } from "../src/slack/check.js";
import { runMain } from "./support/run-main.js";
import { type ChannelSeed, type StandIn, startSlackStandIn } from "./support/slack/standin.js";

const root = new URL("../", import.meta.url).pathname;

let standin: StandIn | undefined;
let dir: string | undefined;
afterEach(async () => {
  await standin?.close();
  standin = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const CHANNELS: ChannelSeed[] = [
  { id: "C0CHECKOUT", name: "checkout-oncall", botIsMember: true },
  { id: "G0PAYMENTS", name: "payments-private", botIsMember: true, isPrivate: true },
];

/**
 * A why502.yaml whose one gateway is this machine (collected without SSH, `nginx -T` replaced by `cat` of a
 * small config), so its host row is ok and the exit code depends on the Slack checks alone.
 */
function config(apiUrl: string, slack: Record<string, unknown> = {}): string {
  dir = mkdtempSync(join(tmpdir(), "why502-slack-check-"));
  writeFileSync(join(dir, "nginx.conf"), "http { upstream checkout { server 127.0.0.1:9; } }\n");
  // nginx_t names nginx only: a stand-in named nginx prints the config.
  writeFileSync(join(dir, "nginx"), `#!/bin/sh\nexec cat '${join(dir, "nginx.conf")}'\n`);
  chmodSync(join(dir, "nginx"), 0o755);
  writeFileSync(join(dir, "error.log"), "");
  writeFileSync(join(dir, "access.log"), "");
  const yaml = {
    slack: {
      api_url: apiUrl,
      request_timeout: "2s",
      channel: "C0CHECKOUT",
      access: { checkout: { channels: ["C0CHECKOUT", "G0PAYMENTS"] } },
      ...slack,
    },
    hosts: { gw: { local: true } },
    services: {
      checkout: {
        upstream: "checkout",
        gateways: [
          {
            host: "gw",
            nginx_t: [join(dir, "nginx"), "-T"],
            error_log: join(dir, "error.log"),
            access_log: join(dir, "access.log"),
          },
        ],
        backends: { from_upstream: true },
      },
    },
  };
  writeFileSync(join(dir, "why502.yaml"), stringify(yaml));
  return join(dir, "why502.yaml");
}

async function check(path: string, env: NodeJS.ProcessEnv) {
  const r = await runMain(["check", "--config", path], { env: { HOME: dir, ...env } });
  expect(r.stdout).toContain("\nall hosts ok\n");
  return r;
}

/** The rows of the Slack table as [check, target, status], and the summary line after it. */
function slackTable(stdout: string): { rows: string[][]; summary: string | undefined } {
  const lines = stdout.split("\n");
  const start = lines.findIndex((l) => /^slack\s{2,}target\s{2,}status$/.test(l));
  expect(start, `no Slack table in:\n${stdout}`).toBeGreaterThan(0);
  const body = lines.slice(start + 1).filter((l) => l !== "");
  const summary = body.pop();
  return { rows: body.map((l) => l.split(/\s{2,}/)), summary };
}

function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const SCOPE_FIX =
  "add it under OAuth & Permissions → Bot Token Scopes, or paste slack/manifest.yaml, then reinstall the app";

describe("why502 check, the Slack side", () => {
  it("says everything is ok: token, scopes, every configured channel, Socket Mode (without connecting)", async () => {
    standin = await startSlackStandIn({ channels: CHANNELS, scopes: [...SLACK_BOT_SCOPES] });
    const path = config(standin.url);
    const tokenFile = join(dir ?? "", "bot-token");
    writeFileSync(tokenFile, "xoxb-standin\n");
    const r = await check(path, { SLACK_BOT_TOKEN_FILE: tokenFile, SLACK_APP_TOKEN: "xapp-standin" });
    const { rows, summary } = slackTable(r.stdout);
    expect(rows).toEqual([
      ["auth", "SLACK_BOT_TOKEN", "ok @why502 in why502 stand-in (T0WHY502)"],
      ["scopes", "SLACK_BOT_TOKEN", "ok all 11 granted"],
      [
        "channel",
        "#checkout-oncall",
        "ok member (C0CHECKOUT, named in slack.channel, slack.access.checkout.channels)",
      ],
      ["channel", "#payments-private", "ok member (G0PAYMENTS, named in slack.access.checkout.channels)"],
      ["socket mode", "SLACK_APP_TOKEN", "ok apps.connections.open answered"],
    ]);
    expect(summary).toBe("slack ok");
    expect(standin.calls.map((c) => c.method)).toEqual([
      "auth.test",
      "conversations.info",
      "conversations.info",
      "apps.connections.open",
    ]);
    expect(standin.socketConnections()).toBe(0);
    expect(r.code).toBe(0);
  });

  it("names each missing scope with what it is for and how to add it", async () => {
    const scopes = SLACK_BOT_SCOPES.filter((s) => s !== "reactions:write" && s !== "groups:read");
    standin = await startSlackStandIn({ channels: CHANNELS, scopes });
    const r = await check(config(standin.url), { SLACK_BOT_TOKEN: "xoxb-standin" });
    const { rows, summary } = slackTable(r.stdout);
    expect(rows).toEqual([
      ["auth", "SLACK_BOT_TOKEN", "ok @why502 in why502 stand-in (T0WHY502)"],
      [
        "scope",
        "reactions:write",
        `FAIL missing (needed for the running and healthy reactions): ${SCOPE_FIX}`,
      ],
      ["scope", "groups:read", `FAIL missing (needed for looking up private channels): ${SCOPE_FIX}`],
      [
        "channel",
        "#checkout-oncall",
        "ok member (C0CHECKOUT, named in slack.channel, slack.access.checkout.channels)",
      ],
      [
        "channel",
        "G0PAYMENTS",
        `FAIL missing_scope: cannot look it up without groups:read (named in slack.access.checkout.channels): ${SCOPE_FIX}`,
      ],
      ["socket mode", "SLACK_APP_TOKEN", "ok not set: serve would use HTTP mode"],
    ]);
    expect(summary).toBe("3 Slack problem(s)");
    expect(r.code).toBe(1);
  });

  it("says which channels the bot is not in and how to invite it", async () => {
    standin = await startSlackStandIn({
      channels: [
        { id: "C0CHECKOUT", name: "checkout-oncall", botIsMember: false },
        { id: "G0PAYMENTS", name: "payments-private", botIsMember: false, isPrivate: true },
      ],
      scopes: [...SLACK_BOT_SCOPES],
    });
    const r = await check(config(standin.url), { SLACK_BOT_TOKEN: "xoxb-standin" });
    const { rows, summary } = slackTable(r.stdout);
    expect(rows.filter((row) => row[0] === "channel")).toEqual([
      [
        "channel",
        "#checkout-oncall",
        "FAIL not_in_channel: the bot is not a member of #checkout-oncall (C0CHECKOUT, named in slack.channel, slack.access.checkout.channels): /invite @why502 in #checkout-oncall",
      ],
      [
        "channel",
        "G0PAYMENTS",
        "FAIL channel_not_found: no such channel, or a private one the bot is not in (named in slack.access.checkout.channels): check the id, or /invite @why502 in that channel",
      ],
    ]);
    expect(summary).toBe("2 Slack problem(s)");
    expect(r.code).toBe(1);
  });

  it("says the bot token is wrong and how to get the right one, and checks nothing that needs it", async () => {
    standin = await startSlackStandIn({ channels: CHANNELS, scopes: [...SLACK_BOT_SCOPES] });
    const r = await check(config(standin.url), { SLACK_BOT_TOKEN: "xoxb-not-the-one" });
    const { rows, summary } = slackTable(r.stdout);
    expect(rows).toEqual([
      [
        "auth",
        "SLACK_BOT_TOKEN",
        "FAIL invalid_auth: SLACK_BOT_TOKEN is not a valid bot token: copy the Bot User OAuth Token (xoxb-...) from OAuth & Permissions",
      ],
      ["socket mode", "SLACK_APP_TOKEN", "ok not set: serve would use HTTP mode"],
    ]);
    expect(summary).toBe("1 Slack problem(s)");
    expect(standin.calls.map((c) => c.method)).toEqual(["auth.test"]);
    expect(r.code).toBe(1);
  });

  it("says SLACK_APP_TOKEN is not an app-level token when it is a bot token", async () => {
    standin = await startSlackStandIn({ channels: CHANNELS, scopes: [...SLACK_BOT_SCOPES] });
    const r = await check(config(standin.url), {
      SLACK_BOT_TOKEN: "xoxb-standin",
      SLACK_APP_TOKEN: "xoxb-standin",
    });
    const { rows, summary } = slackTable(r.stdout);
    expect(rows.at(-1)).toEqual([
      "socket mode",
      "SLACK_APP_TOKEN",
      "FAIL not_allowed_token_type: SLACK_APP_TOKEN is not an app-level token: generate one under Basic Information → App-Level Tokens with the connections:write scope (xapp-...)",
    ]);
    expect(summary).toBe("1 Slack problem(s)");
    expect(r.code).toBe(1);
  });

  it("says which URL it could not reach when Slack does not answer, in one line", async () => {
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}/api/`;
    const r = await check(config(url), { SLACK_BOT_TOKEN: "xoxb-standin", SLACK_APP_TOKEN: "xapp-standin" });
    const { rows, summary } = slackTable(r.stdout);
    expect(rows).toEqual([
      [
        "api",
        "auth.test",
        `FAIL cannot reach ${url}auth.test (connect ECONNREFUSED 127.0.0.1:${port}): check slack.api_url and that this host can connect to it (DNS, firewall, proxy)`,
      ],
    ]);
    expect(summary).toBe("1 Slack problem(s)");
    expect(r.code).toBe(1);
  });

  it("says Slack answered with a server error, and that it is Slack's side", async () => {
    standin = await startSlackStandIn({ channels: CHANNELS, scopes: [...SLACK_BOT_SCOPES] });
    standin.down(true, "500");
    const r = await check(config(standin.url), { SLACK_BOT_TOKEN: "xoxb-standin" });
    const { rows, summary } = slackTable(r.stdout);
    expect(rows).toEqual([
      [
        "api",
        "auth.test",
        `FAIL ${standin.url}auth.test answered HTTP 500: Slack may be having an outage (https://slack-status.com); run the check again later`,
      ],
    ]);
    expect(summary).toBe("1 Slack problem(s)");
    expect(r.code).toBe(1);
  });

  it("leaves Slack alone when no bot token is set", async () => {
    standin = await startSlackStandIn();
    const r = await check(config(standin.url), {});
    expect(r.stdout).not.toMatch(/^slack\s/m);
    expect(r.stdout).toMatch(/\nall hosts ok\n$/);
    expect(standin.calls).toEqual([]);
    expect(r.code).toBe(0);
  });
});

describe("slack/manifest.yaml", () => {
  const manifest = parse(readFileSync(`${root}slack/manifest.yaml`, "utf8")) as {
    _metadata: { major_version: number };
    features: {
      bot_user: { display_name: string; always_online: boolean };
      slash_commands: { command: string; usage_hint: string; url: string; should_escape: boolean }[];
    };
    oauth_config: { scopes: { bot: string[] } };
    settings: {
      event_subscriptions: { request_url: string; bot_events: string[] };
      interactivity: { is_enabled: boolean; request_url: string };
      socket_mode_enabled: boolean;
    };
  };

  it("asks for exactly the scopes why502 check checks", () => {
    expect(manifest._metadata.major_version).toBe(2);
    expect(manifest.oauth_config.scopes.bot).toEqual([...SLACK_BOT_SCOPES]);
  });

  it("has the /why502 command, the app_mention event and interactivity, all at /slack/events", () => {
    expect(manifest.features.bot_user).toEqual({ display_name: "why502", always_online: true });
    expect(manifest.features.slash_commands).toEqual([
      expect.objectContaining({
        command: "/why502",
        usage_hint: "[service] [window]",
        url: "https://why502.example.com/slack/events",
        should_escape: false,
      }),
    ]);
    expect(manifest.settings.event_subscriptions).toEqual({
      request_url: "https://why502.example.com/slack/events",
      bot_events: ["app_mention"],
    });
    expect(manifest.settings.interactivity).toEqual({
      is_enabled: true,
      request_url: "https://why502.example.com/slack/events",
    });
    expect(manifest.settings.socket_mode_enabled).toBe(true);
  });
});
