import { existsSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { redactPatterns, redactSources } from "../diagnosis/mask.js";
import { UserError } from "../errors.js";
import { workerDiagnoser } from "../investigate/diagnoser.js";
import { countImpact } from "../investigate/impact.js";
import { createLogger } from "../server/log.js";
import { type SlackSecrets, startBot } from "../server/serve.js";
import { explainForSlack } from "../slack/explain.js";
import { openStore } from "../store/open.js";
import { defaultPlaybookPath, type Io } from "./io.js";
import { loadLiveConfig } from "./live.js";

export const serveHelp = `Usage: why502 serve [--config FILE] [--port 3000] [--host 0.0.0.0]

Runs the Slack app. Socket Mode when SLACK_APP_TOKEN is set (no public URL needed), otherwise Slack's HTTP
mode at /slack/events with signing-secret verification. The same HTTP server answers /healthz, /readyz
and /metrics.

Environment (each also as NAME_FILE: a file holding the value, for container secrets):
  SLACK_BOT_TOKEN       the bot token (xoxb-...), required
  SLACK_APP_TOKEN       an app-level token with connections:write (xapp-...): Socket Mode
  SLACK_SIGNING_SECRET  the app's signing secret: HTTP mode (required without SLACK_APP_TOKEN)
  LOG_LEVEL             fatal, error, warn, info (default), debug, trace or silent

Options:
  --config FILE     inventory, SSH, slack: and store: settings (default: ./why502.yaml)
  --port N          HTTP port (default 3000; 0 picks a free one)
  --host ADDR       address to listen on (default 0.0.0.0)
  --playbook FILE   another playbook (default: the built-in one)
`;

/** A secret from NAME, or from the file NAME_FILE names (trailing newline dropped). */
export function secret(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const file = env[`${name}_FILE`];
  if (file) {
    try {
      return readFileSync(file, "utf8").replace(/\r?\n$/, "");
    } catch (e) {
      throw new UserError(
        "bad_input",
        `Cannot read ${name}_FILE (${file}): ${e instanceof Error ? e.message : String(e)}: point it at a readable file.`,
      );
    }
  }
  const v = env[name];
  return v === undefined || v === "" ? undefined : v;
}

export function slackSecrets(env: NodeJS.ProcessEnv): SlackSecrets {
  const botToken = secret(env, "SLACK_BOT_TOKEN");
  if (!botToken)
    throw new UserError(
      "usage",
      "serve needs SLACK_BOT_TOKEN (or SLACK_BOT_TOKEN_FILE): the Bot User OAuth Token (xoxb-...) from the app's OAuth & Permissions page.",
    );
  const appToken = secret(env, "SLACK_APP_TOKEN");
  const signingSecret = secret(env, "SLACK_SIGNING_SECRET");
  if (!appToken && !signingSecret)
    throw new UserError(
      "usage",
      "serve needs SLACK_APP_TOKEN for Socket Mode or SLACK_SIGNING_SECRET for HTTP mode: set one (see the README's Slack setup).",
    );
  if (appToken && !appToken.startsWith("xapp-"))
    throw new UserError(
      "usage",
      "SLACK_APP_TOKEN must be an app-level token (xapp-...), not a bot or user token.",
    );
  return { botToken, appToken, signingSecret };
}

/** DejaVu Sans as Debian's fonts-dejavu-core installs it (WHY502_FONT_DIR elsewhere); none found: no chart. */
export function chartFonts(env: NodeJS.ProcessEnv): string[] {
  const dir = env.WHY502_FONT_DIR ?? "/usr/share/fonts/truetype/dejavu";
  return ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf"].map((f) => `${dir}/${f}`).filter((f) => existsSync(f));
}

export async function runServe(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: "string" },
      port: { type: "string" },
      host: { type: "string" },
      playbook: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    io.stdout.write(serveHelp);
    return 0;
  }
  const port = Number(values.port ?? "3000");
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UserError("usage", `--port "${values.port}" is not a port: give a number from 0 to 65535.`);
  const secrets = slackSecrets(io.env);
  const config = loadLiveConfig(values.config);
  const log = createLogger(io.env.LOG_LEVEL, 2, redactPatterns(config));
  const store = await openStore(config, io.env, {
    exclusive: true,
    onError: (e) =>
      log.warn({ err: e.message }, "lost a connection to PostgreSQL; reconnecting on the next call"),
  });
  const diagnoser = workerDiagnoser(values.playbook ?? defaultPlaybookPath(), redactSources(config));
  const bot = await startBot({
    config,
    store,
    secrets,
    env: io.env,
    secretEnv: io.env,
    diagnose: diagnoser.diagnose,
    explain: (text) => explainForSlack(text, { redact: redactPatterns(config) }),
    log,
    port,
    host: values.host ?? "0.0.0.0",
    fontFiles: chartFonts(io.env),
    impact: async (service, sinceMs, untilMs) => {
      const i = await countImpact(config, io.env, service, sinceMs, untilMs);
      return { perMinute: i.perMinute, complete: i.complete };
    },
  });
  io.stderr.write(`why502 serving (${bot.mode} mode), health and metrics on port ${bot.port}\n`);
  const signal = await (io.stopRequested ?? new Promise<string>(() => {}));
  log.info({ signal }, "stopping: finishing what is in flight");
  await bot.stop();
  await diagnoser.close();
  await store.close();
  return 0;
}
