import { randomBytes } from "node:crypto";
import { existsSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { loadBundle } from "../bundle/load.js";
import type { Bundle } from "../bundle/schema.js";
import { diagnoseBundle } from "../diagnosis/diagnose.js";
import { redactPatterns } from "../diagnosis/mask.js";
import { maskBundle } from "../diagnosis/mask-bundle.js";
import type { Diagnosis } from "../diagnosis/types.js";
import { UserError } from "../errors.js";
import { investigate } from "../investigate/investigate.js";
import { loadPlaybook } from "../playbook/loader.js";
import { defaultPlaybookPath, type Io, wantsColor } from "./io.js";
import { hostCount, loadLiveConfig, progressLine, sinceMs } from "./live.js";
import { outputFormat, renderAs } from "./render.js";

export const diagnoseHelp = `Usage: why502 diagnose <service> [options]

Collects evidence from the service's nginx gateways and backends over SSH (read-only), and explains
why nginx answers 502. With --bundle, replays saved evidence instead, with no hosts and no network.

Options:
  --config FILE       inventory and SSH settings (default: ./why502.yaml)
  --since WHEN        window start: a duration back from now (30m, 2h) or a time (default: the config's window)
  --save FILE         also write the collected bundle to FILE (mode 0600, secrets masked), to replay or
                      attach to the incident
  --raw               with --save: write the bundle as collected, secrets not masked
  --bundle FILE       replay a saved bundle instead of collecting (see docs/bundle.md)
  --json              print the diagnosis as JSON (same as --format json)
  --format FORMAT     text (default), json, markdown or blocks (Slack Block Kit)
  --trace             show each question the playbook asked, the value seen and the evidence
  --playbook FILE     use another playbook (default: the built-in playbooks/why502.yaml)
`;

export async function runDiagnose(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      bundle: { type: "string" },
      config: { type: "string" },
      since: { type: "string" },
      save: { type: "string" },
      raw: { type: "boolean" },
      json: { type: "boolean" },
      format: { type: "string" },
      trace: { type: "boolean" },
      playbook: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    io.stdout.write(diagnoseHelp);
    return 0;
  }
  const service = positionals[0];
  if (!service)
    throw new UserError("usage", "diagnose needs a service name, e.g. `why502 diagnose checkout`.");
  const format = outputFormat(values.json, values.format);
  if (values.raw && !values.save)
    throw new UserError("usage", "--raw says how --save writes the bundle: give --save FILE with it.");
  const playbook = loadPlaybook(values.playbook ?? defaultPlaybookPath());

  let bundle: Bundle;
  let diagnosis: Diagnosis | undefined;
  let redact: RegExp[] = [];
  if (values.bundle) {
    if (values.since || values.config) {
      throw new UserError(
        "usage",
        "--bundle replays saved evidence: --since and --config apply only to live collection.",
      );
    }
    bundle = loadBundle(values.bundle);
    if (bundle.service !== service) {
      throw new UserError(
        "usage",
        `Bundle ${values.bundle} holds service "${bundle.service}", not "${service}": pass the service it was collected for.`,
      );
    }
  } else {
    const config = loadLiveConfig(values.config);
    redact = redactPatterns(config);
    if (!config.services[service]) {
      throw new UserError(
        "not_found",
        `No service "${service}" in the config: use one of ${Object.keys(config.services).join(", ")}.`,
      );
    }
    const progress = progressLine(io, hostCount(config, service));
    try {
      const run = await investigate(
        {
          service,
          sinceMs: sinceMs(values.since, config, Date.now()),
          requestedBy: `cli:${io.env.USER ?? "unknown"}`,
        },
        {
          config,
          env: io.env,
          onProgress: progress.update,
          diagnose: async (b) => diagnoseBundle(b, playbook, { redact }),
        },
      );
      bundle = run.bundle;
      diagnosis = run.diagnosis;
    } finally {
      progress.end();
    }
  }
  if (values.save) saveBundle(values.save, values.raw ? bundle : maskBundle(bundle, redact).bundle);
  diagnosis ??= diagnoseBundle(bundle, playbook, { redact });
  io.stdout.write(renderAs(diagnosis, format, { color: wantsColor(io), trace: values.trace ?? false }));
  return 0;
}

/**
 * Write the bundle to `path`, readable by its owner only: a regular file is written beside it with mode 0600
 * and renamed over it, so that no one who could read the old file reads the new one. A pipe or device
 * (`/dev/stdout`) is written as it is.
 */
function saveBundle(path: string, bundle: Bundle): void {
  const text = `${JSON.stringify(bundle, null, 1)}\n`;
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    if (existsSync(path) && !statSync(path).isFile()) {
      writeFileSync(path, text);
      return;
    }
    writeFileSync(tmp, text, { mode: 0o600, flag: "wx" });
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new UserError(
      "bad_input",
      `Cannot write the bundle to ${path}: ${e instanceof Error ? e.message : String(e)}.`,
    );
  }
}
