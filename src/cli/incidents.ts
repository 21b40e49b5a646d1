import { parseArgs } from "node:util";
import dayjs from "dayjs";
import timezone from "dayjs/plugin/timezone.js";
import utc from "dayjs/plugin/utc.js";
import { UserError } from "../errors.js";
import { gatherSummaryInput } from "../incidents/summary-input.js";
import { lasted } from "../slack/messages.js";
import { openStore, storeName } from "../store/open.js";
import type { Incident, Store } from "../store/types.js";
import { buildSummary } from "../summary/build.js";
import { postmortemMarkdown, summaryJson, summaryText } from "../summary/render.js";
import { type Summary, Summary as SummarySchema } from "../summary/schema.js";
import type { Io } from "./io.js";
import { loadLiveConfig } from "./live.js";

dayjs.extend(utc);
dayjs.extend(timezone);

export const incidentsHelp = `Usage: why502 incidents [--config FILE] [--limit 20] [--json]

Lists recent incidents from the store (the one \`why502 serve\` writes): id, service, state, when it opened,
how long it lasted and the causes found. \`why502 summary <id>\` shows one's post-incident summary.
`;

export const summaryHelp = `Usage: why502 summary <incident-id> [--config FILE] [--format text|markdown|json]

The post-incident summary of a closed incident from the store: duration, impact, causes with their
evidence, one timeline and follow-ups. --format markdown prints the postmortem draft. An id prefix of at
least 6 characters is enough.
`;

async function causesOf(store: Store, inc: Incident): Promise<string> {
  if (!inc.lastRunId) return "-";
  const run = await store.getRun(inc.lastRunId);
  if (run?.state !== "done") return run ? `(${run.state})` : "-";
  return run.verdicts.length
    ? [...new Set(run.verdicts.map((v) => v.cause))].join(", ")
    : (run.status ?? "-");
}

export async function runIncidents(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: "string" },
      limit: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    io.stdout.write(incidentsHelp);
    return 0;
  }
  const limit = Number(values.limit ?? "20");
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
    throw new UserError("usage", `--limit "${values.limit}" is not a count: give a number from 1 to 10000.`);
  const config = loadLiveConfig(values.config);
  const store = await openStore(config, io.env);
  try {
    const incidents = await store.recentIncidents(limit);
    const zone = config.slack.timezone;
    const rows: Record<"id" | "service" | "state" | "opened" | "lasted" | "causes", string>[] = [];
    for (const inc of incidents) {
      const end = inc.resolvedAt ?? Date.now();
      rows.push({
        id: inc.id,
        service: inc.service,
        state: inc.state,
        opened: dayjs(inc.openedAt).tz(zone).format("YYYY-MM-DD HH:mm z"),
        lasted: `${lasted(end - (Date.parse(inc.firstStartsAt ?? "") || inc.openedAt))}${inc.state === "open" ? " so far" : ""}`,
        causes: await causesOf(store, inc),
      });
    }
    if (values.json) {
      for (const r of rows) io.stdout.write(`${JSON.stringify(r)}\n`);
      return 0;
    }
    if (rows.length === 0) {
      io.stdout.write(`No incidents in ${storeName(config)} yet.\n`);
      return 0;
    }
    const head = {
      id: "id",
      service: "service",
      state: "state",
      opened: "opened",
      lasted: "lasted",
      causes: "causes",
    };
    const keys = Object.keys(head) as (keyof typeof head)[];
    const widths = keys.map((k) => Math.max(...[head, ...rows].map((r) => String(r[k]).length)));
    for (const r of [head, ...rows])
      io.stdout.write(
        `${keys
          .map((k, i) => String(r[k]).padEnd(widths[i] ?? 0))
          .join("  ")
          .trimEnd()}\n`,
      );
    return 0;
  } finally {
    await store.close();
  }
}

export async function runSummary(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      config: { type: "string" },
      format: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    io.stdout.write(summaryHelp);
    return 0;
  }
  const id = positionals[0];
  if (!id) throw new UserError("usage", "summary needs an incident id: `why502 incidents` lists them.");
  const format = values.format ?? "text";
  if (!["text", "markdown", "json"].includes(format))
    throw new UserError("usage", `--format "${format}" is not known: use text, markdown or json.`);
  const config = loadLiveConfig(values.config);
  const store = await openStore(config, io.env);
  try {
    const all = await store.recentIncidents(100_000);
    const matches = all.filter((i) => i.id === id || (id.length >= 6 && i.id.startsWith(id)));
    if (matches.length === 0)
      throw new UserError(
        "not_found",
        `No incident "${id}" in ${storeName(config)}: \`why502 incidents\` lists them.`,
      );
    if (matches.length > 1)
      throw new UserError("usage", `"${id}" names ${matches.length} incidents: give more of the id.`);
    const inc = matches[0] as Incident;
    if (inc.state === "open")
      throw new UserError(
        "bad_input",
        `Incident ${inc.id} (${inc.service}) is still open: its summary is made when it closes (the alert resolves, or Resolve in its thread).`,
      );
    const stored = await store.incidentSummary(inc.id);
    let summary: Summary;
    if (stored?.summaryJson) summary = SummarySchema.parse(JSON.parse(stored.summaryJson));
    else {
      const input = await gatherSummaryInput(store, inc.id, config.slack.timezone, undefined);
      if (!input) throw new UserError("not_found", `No incident "${id}" in ${storeName(config)}.`);
      summary = buildSummary(input);
    }
    if (format === "json") io.stdout.write(summaryJson(summary));
    else if (format === "markdown") io.stdout.write(postmortemMarkdown(summary));
    else io.stdout.write(summaryText(summary));
    return 0;
  } finally {
    await store.close();
  }
}
