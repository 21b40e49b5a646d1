import { randomUUID } from "node:crypto";
import type { Config } from "../config/schema.js";
import type { OutboxWriter } from "../server/outbox-writer.js";
import type { Store } from "../store/types.js";
import { summaryBlocks } from "../summary/render.js";
import { Summary as SummarySchema } from "../summary/schema.js";
import { quoted } from "./command-text.js";
import { plainText } from "./messages.js";

/** What the summary repost reads and writes. */
export interface SummaryDeps {
  config: Config;
  store: Store;
  outbox: OutboxWriter;
}

/**
 * `/why502 summary <service>` and `@why502 summary`: an open incident says when its summary comes; a
 * closed one's summary is posted again into its thread.
 */
export async function summaryReply(
  deps: SummaryDeps,
  incidentId: string | undefined,
  service: string | undefined,
): Promise<string | undefined> {
  let inc = incidentId ? await deps.store.getIncident(incidentId) : undefined;
  if (!inc && service) {
    if (!Object.hasOwn(deps.config.services, service)) return `I know no service "${quoted(service)}".`;
    inc =
      (await deps.store.openIncident(service)) ??
      (await deps.store.recentIncidents(500)).find((i) => i.service === service);
  }
  if (!inc)
    return service
      ? `${quoted(service)} has had no incident yet.`
      : "This thread has no incident: `/why502 summary <service>`.";
  if (inc.state === "open")
    return `The ${inc.service} incident is still open: its summary is posted in its thread when the alert resolves, or when someone presses Resolve there.`;
  const stored = await deps.store.incidentSummary(inc.id);
  if (!stored?.summaryJson || !inc.channel)
    return `The ${inc.service} incident closed without a summary (no channel to post it in).`;
  const summary = SummarySchema.parse(JSON.parse(stored.summaryJson));
  await deps.outbox.post(
    `${inc.id}.summary.${randomUUID()}`,
    inc.channel,
    { text: plainText(summary.headline), blocks: summaryBlocks(summary) },
    { parentId: inc.parentOutboxId },
  );
  return undefined;
}
