import type { Config } from "../config/schema.js";
import type { Diagnosis } from "../diagnosis/types.js";
import { serviceHosts } from "../investigate/investigate.js";
import type { Logger } from "../server/log.js";
import type { OutboxWriter } from "../server/outbox-writer.js";
import {
  incidentClosedMessage,
  investigatingMessage,
  lasted,
  plainText,
  REACTIONS,
  requester,
  summaryClosedMessage,
  textMessage,
} from "../slack/messages.js";
import type { Incident, Store } from "../store/types.js";
import { buildSummary } from "../summary/build.js";
import { chartSpec, renderChartPng } from "../summary/chart.js";
import { postmortemMarkdown, summaryBlocks } from "../summary/render.js";
import type { Summary } from "../summary/schema.js";
import { gatherSummaryInput, type Impact } from "./summary-input.js";

/**
 * How long a replica holds an incident's end-of-incident message: the impact count (90 s at most on the
 * gateways), the chart and the posts. A replica that dies holding it delays the summary by this much.
 */
const NOTICE_LEASE_MS = 3 * 60_000;

export interface ManagerOptions {
  /** Counts per minute, status and upstream from the gateways' access logs over a window (aggregated on the host). */
  impact?: (service: string, sinceMs: number, untilMs: number) => Promise<Impact | undefined>;
  /** Font files for the chart (DejaVu Sans); none: the summary goes without its chart. */
  fontFiles?: string[];
  store: Store;
  outbox: OutboxWriter;
  config: Config;
  log: Logger;
  wakeRunner: () => void;
  now?: () => number;
}

/**
 * Turns what incidents owe into work: a queued diagnosis run when one opens (or fires again after the
 * cooldown), the end-of-incident messages, and the quiet close of incidents whose alerts stopped without a
 * resolution. Everything it does is read from the store, so a restart picks up where it stopped.
 */
export class IncidentManager {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private again = false;
  private readonly now: () => number;

  constructor(private readonly o: ManagerOptions) {
    this.now = o.now ?? Date.now;
  }

  start(): void {
    this.timer = setInterval(() => this.wake(), 1000);
    this.timer.unref();
    this.wake();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.ticking;
  }

  wake(): void {
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.ticking = this.tick()
      .catch((e: unknown) => this.o.log.error({ err: e }, "incident manager failed"))
      .finally(() => {
        this.ticking = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  private async tick(): Promise<void> {
    const { store, config } = this.o;
    for (const q of await store.closeQuietIncidents(this.now(), config.alerts.quiet_close)) {
      this.o.log.info({ incident_id: q.id, service: q.service }, "incident closed: no resolution received");
    }
    for (const inc of await store.incidentsDue()) {
      if (inc.pendingRun && inc.state === "open") await this.queueRun(inc);
      // One replica counts the impact and posts the summary; the others leave it while its claim lives.
      if (inc.pendingNotice && (await store.claimIncidentNotice(inc.id, this.now(), NOTICE_LEASE_MS)))
        await this.notice(inc);
    }
  }

  private async queueRun(inc: Incident): Promise<void> {
    const { store, outbox, config } = this.o;
    const first = inc.runCount === 0;
    const runId = `${inc.id}.run${inc.runCount + 1}`;
    // The alert starts after the first 502s (rate windows, `for:`): look back before it, at least the window.
    const pad = Math.min(5 * 60_000, config.defaults.window);
    // The sender's startsAt moves the start back, never further than defaults.max_window.
    const since = Math.max(
      this.now() - config.defaults.max_window,
      Math.min(
        this.now() - config.defaults.window,
        (Date.parse(inc.firstStartsAt ?? "") || inc.openedAt) - pad,
      ),
    );
    const windowText = lasted(this.now() - since);
    if (!inc.channel)
      this.o.log.warn(
        { incident_id: inc.id, service: inc.service },
        "incident has no Slack channel: set services.<name>.slack_channel or slack.channel",
      );
    if (first && inc.channel) {
      await outbox.post(
        inc.parentOutboxId,
        inc.channel,
        investigatingMessage({
          service: inc.service,
          windowText,
          requestedBy: requester(`alert:${inc.source}`),
        }),
        { runId },
      );
      await outbox.react(
        `${inc.id}.running`,
        inc.channel,
        inc.parentOutboxId,
        REACTIONS.running,
        true,
        runId,
      );
    }
    await store.startIncidentRun(
      inc.id,
      {
        id: runId,
        service: inc.service,
        sinceMs: since,
        windowText,
        requestedBy: `alert:${inc.source}`,
        source: "alert",
        channel: inc.channel,
        parentOutboxId: inc.parentOutboxId,
        previousRunId: inc.lastRunId,
        postPolicy: first ? "always" : "if_changed",
        hosts: serviceHosts(config, inc.service),
      },
      this.now(),
    );
    this.o.log.info(
      { incident_id: inc.id, service: inc.service, run_id: runId, first },
      "incident diagnosis queued",
    );
    this.o.wakeRunner();
  }

  /** Causes found by the incident's latest diagnosis, as their titles (and the sentences' code spans). */
  private async causes(inc: Incident): Promise<Pick<Diagnosis, "prose"> & { titles: string[] }> {
    if (!inc.lastRunId) return { titles: [] };
    const json = await this.o.store.runDiagnosis(inc.lastRunId);
    if (!json) return { titles: [] };
    const d = JSON.parse(json) as Diagnosis;
    return { titles: d.verdicts.map((v) => v.title), ...(d.prose ? { prose: d.prose } : {}) };
  }

  private async notice(inc: Incident): Promise<void> {
    const { store } = this.o;
    if (inc.channel && inc.pendingNotice) {
      try {
        await this.postSummary(inc, inc.channel);
      } catch (e) {
        // The summary is a courtesy; the incident's end must still be said.
        this.o.log.error(
          { err: e, incident_id: inc.id },
          "post-incident summary failed; posting the close only",
        );
        await this.postClose(inc, inc.channel);
      }
    }
    await store.clearIncidentNotice(inc.id);
  }

  /** The post-incident summary in the thread, its chart and postmortem draft uploaded, the parent edited. */
  private async postSummary(inc: Incident, channel: string): Promise<Summary> {
    const { store, outbox, config } = this.o;
    const closedAt = inc.resolvedAt ?? this.now();
    const started = Date.parse(inc.firstStartsAt ?? "") || inc.openedAt;
    const impact = this.o.impact
      ? await this.o
          .impact(inc.service, started - Math.min(15 * 60_000, config.defaults.window), closedAt)
          .catch((e: unknown) => {
            this.o.log.warn({ err: e, incident_id: inc.id }, "impact could not be counted");
            return undefined;
          })
      : undefined;
    const input = await gatherSummaryInput(store, inc.id, config.slack.timezone, impact);
    if (!input) throw new Error(`incident ${inc.id} vanished`);
    const summary = buildSummary(input);
    await store.saveIncidentSummary(
      inc.id,
      impact ? JSON.stringify(impact) : undefined,
      JSON.stringify(summary),
      this.now(),
    );
    const base = `why502-${inc.service}-${inc.id.slice(0, 8)}`;
    const files: { filename: string; title: string; content: string; encoding?: "base64" }[] = [];
    if (this.o.fontFiles?.length) {
      const png = await renderChartPng(chartSpec(summary), { fontFiles: this.o.fontFiles });
      files.push({
        filename: `${base}.png`,
        title: `${inc.service}: 502s per minute`,
        content: png.toString("base64"),
        encoding: "base64",
      });
    }
    files.push({
      filename: `${base}.postmortem.md`,
      title: `${inc.service}: postmortem draft`,
      content: postmortemMarkdown(summary, files.length ? { chartFile: files[0]?.filename } : {}),
    });
    const blocks = summaryBlocks(summary);
    await outbox.post(
      `${inc.id}.summary`,
      channel,
      { text: plainText(summary.headline), blocks },
      { parentId: inc.parentOutboxId },
    );
    await outbox.add({
      id: `${inc.id}.summary-files`,
      kind: "upload",
      channel,
      parentId: inc.parentOutboxId,
      payload: { initial_comment: "The incident's chart and a postmortem draft to start from.", files },
    });
    await outbox.edit(
      `${inc.id}.closed`,
      channel,
      inc.parentOutboxId,
      summaryClosedMessage(inc.service, summary.headline),
    );
    await outbox.react(`${inc.id}.closed-react`, channel, inc.parentOutboxId, REACTIONS.healthy, true);
    await outbox.react(`${inc.id}.closed-unreact`, channel, inc.parentOutboxId, REACTIONS.failing, false);
    this.o.log.info(
      { incident_id: inc.id, service: inc.service, headline: summary.headline },
      "post-incident summary",
    );
    return summary;
  }

  /** Without a summary: the parent says how long it lasted and what caused it, and the thread says it closed. */
  private async postClose(inc: Incident, channel: string): Promise<void> {
    const { outbox, config } = this.o;
    const reason = inc.pendingNotice ?? "resolved";
    const started = Date.parse(inc.firstStartsAt ?? "") || inc.openedAt;
    const durationMs = (inc.resolvedAt ?? this.now()) - started;
    const found = await this.causes(inc);
    const msg = incidentClosedMessage({
      service: inc.service,
      reason,
      durationMs,
      causes: found.titles,
      ...(found.prose ? { prose: found.prose } : {}),
      quietFor: lasted(config.alerts.quiet_close),
    });
    await outbox.edit(`${inc.id}.closed`, channel, inc.parentOutboxId, msg);
    await outbox.post(
      `${inc.id}.closed-note`,
      channel,
      textMessage(
        reason === "resolved"
          ? `:white_check_mark: The alert resolved after ${lasted(durationMs)}: incident closed.`
          : `:grey_question: No resolution arrived and the alert has not fired for ${lasted(config.alerts.quiet_close)}: incident closed as "no resolution received". If it is still failing, \`/why502 ${inc.service}\`.`,
      ),
      { parentId: inc.parentOutboxId },
    );
    await outbox.react(`${inc.id}.closed-react`, channel, inc.parentOutboxId, REACTIONS.healthy, true);
    await outbox.react(`${inc.id}.closed-unreact`, channel, inc.parentOutboxId, REACTIONS.failing, false);
  }
}
