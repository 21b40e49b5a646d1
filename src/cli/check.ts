import { parseArgs } from "node:util";
import type { HostBundle } from "../bundle/schema.js";
import { UserError } from "../errors.js";
import type { Io } from "./io.js";
import { collectLive, configPath, loadLiveConfig } from "./live.js";

export const checkHelp = `Usage: why502 check [--config FILE] [--max-skew 5s]

Validates the config, then tries every host of every service the way diagnose would: reachable, host key
verified, logged in, each command present and each log readable, and the host's clock. Prints a table and
exits non-zero when anything is wrong.
`;

const SKEW_LIMIT_MS = 5000;

function row(cells: string[], widths: number[]): string {
  return cells
    .map((c, i) => c.padEnd(widths[i] ?? 0))
    .join("  ")
    .trimEnd();
}

function problems(h: HostBundle): string[] {
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
  const widths =
    rows[0]?.map((_, i) => Math.min(40, Math.max(...rows.map((r) => (r[i] ?? "").length)))) ?? [];
  for (const r of rows) io.stdout.write(`${row(r, widths)}\n`);
  io.stdout.write(bad === 0 ? "all hosts ok\n" : `${bad} host(s) with problems\n`);
  return bad === 0 ? 0 : 1;
}
