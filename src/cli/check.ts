import { parseArgs } from "node:util";
import type { HostBundle } from "../bundle/schema.js";
import type { Config } from "../config/schema.js";
import { oneLine } from "../diagnosis/render/escape.js";
import { UserError } from "../errors.js";
import { slackApi } from "../server/slack-api.js";
import { checkSlack, type SlackCheckRow } from "../slack/check.js";
import type { Io } from "./io.js";
import { collectLive, configPath, loadLiveConfig } from "./live.js";
import { secret } from "./serve.js";

export const checkHelp = `Usage: why502 check [--config FILE] [--max-skew 5s]

Validates the config, then tries every host of every service the way diagnose would: reachable, host key
verified, logged in, each command present and each log readable, and the host's clock. Prints a table and
exits non-zero when anything is wrong.

When SLACK_BOT_TOKEN (or SLACK_BOT_TOKEN_FILE) is set, also checks the Slack side: the token is valid, it
holds every scope in slack/manifest.yaml, the bot is in slack.channel and in every channel of slack.access,
and, when SLACK_APP_TOKEN is set, that Socket Mode can connect.
`;

const SKEW_LIMIT_MS = 5000;

function row(cells: string[], widths: number[]): string {
  return cells
    .map((c, i) => c.padEnd(widths[i] ?? 0))
    .join("  ")
    .trimEnd();
}

/** Rows as aligned columns; a cell is host text (names, addresses, what a host answered): one line, shown. */
export function table(cells: string[][]): string {
  const rows = cells.map((r) => r.map(oneLine));
  const widths =
    rows[0]?.map((_, i) => Math.min(40, Math.max(...rows.map((r) => (r[i] ?? "").length)))) ?? [];
  return rows.map((r) => `${row(r, widths)}\n`).join("");
}

/** The Slack checks, when a bot token is in the environment; undefined when it is not. */
function slackChecks(io: Io, config: Config): Promise<SlackCheckRow[]> | undefined {
  const botToken = secret(io.env, "SLACK_BOT_TOKEN");
  if (!botToken) return undefined;
  const appToken = secret(io.env, "SLACK_APP_TOKEN");
  const opts = { apiUrl: config.slack.api_url, timeoutMs: config.slack.request_timeout };
  return checkSlack({
    slack: config.slack,
    bot: slackApi(botToken, opts),
    ...(appToken && { app: slackApi(appToken, opts) }),
  });
}

const slackStatus = (r: SlackCheckRow): string =>
  r.problem ? `FAIL ${r.problem}` : `ok${r.detail ? ` ${r.detail}` : ""}`;

export function problems(h: HostBundle): string[] {
  if (h.failure) return [`${h.failure.code}: ${h.failure.message}`];
  const out = h.commands
    .filter((c) => c.failure)
    .map((c) => `${c.id}: ${c.failure?.code}: ${c.failure?.message}`);
  if (!h.clock) out.push("clock: could not read the host's clock");
  else if (Math.abs(h.clock.skewMs ?? 0) > SKEW_LIMIT_MS)
    out.push(`clock: skewed by ${Math.round((h.clock.skewMs ?? 0) / 1000)} s`);
  return out;
}

export async function runCheck(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { config: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    io.stdout.write(checkHelp);
    return 0;
  }
  if (positionals.length > 0)
    throw new UserError("usage", "check takes no arguments: it checks every service in the config.");
  const config = loadLiveConfig(values.config);
  io.stdout.write(
    `${configPath(values.config)}: config ok (${Object.keys(config.services).length} services)\n`,
  );
  // Slack is checked while the hosts are: neither waits for the other.
  const slack = slackChecks(io, config);
  const rows: string[][] = [["service", "host", "role", "address", "status", "skew"]];
  let bad = 0;
  for (const service of Object.keys(config.services)) {
    const bundle = await collectLive(io, config, service, Date.now() - 60_000);
    for (const h of bundle.hosts) {
      const issues = problems(h);
      if (issues.length) bad++;
      const skew = h.clock?.skewMs === undefined ? "-" : `${h.clock.skewMs} ms`;
      rows.push([
        service,
        h.name,
        h.role,
        h.address,
        issues.length ? `FAIL ${issues.join("; ")}` : "ok",
        skew,
      ]);
    }
  }
  io.stdout.write(table(rows));
  io.stdout.write(bad === 0 ? "all hosts ok\n" : `${bad} host(s) with problems\n`);
  if (!slack) return bad === 0 ? 0 : 1;
  const slackRows = await slack;
  const slackBad = slackRows.filter((r) => r.problem).length;
  io.stdout.write(
    table([["slack", "target", "status"], ...slackRows.map((r) => [r.check, r.target, slackStatus(r)])]),
  );
  io.stdout.write(slackBad === 0 ? "slack ok\n" : `${slackBad} Slack problem(s)\n`);
  return bad === 0 && slackBad === 0 ? 0 : 1;
}
