import type { Config } from "../config/schema.js";
import type { Diagnosis } from "../diagnosis/types.js";
import { serviceHosts } from "../investigate/investigate.js";
import type { Logger } from "../server/log.js";
import type { OutboxWriter } from "../server/outbox-writer.js";
import {
  incidentClosedMessage,
  investigatingMessage,
  lasted,
  REACTIONS,
  requester,
  textMessage,
} from "../slack/messages.js";
import type { Incident, Store } from "../store/types.js";

export interface ManagerOptions {
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
      if (inc.pendingNotice) await this.notice(inc);
    }
  }

  private async queueRun(inc: Incident): Promise<void> {
    const { store, outbox, config } = this.o;
    const first = inc.runCount === 0;
    const runId = `${inc.id}.run${inc.runCount + 1}`;
    // The alert starts after the first 502s (rate windows, `for:`): look back before it, at least the window.
    const pad = Math.min(5 * 60_000, config.defaults.window);
    const since = Math.min(
      this.now() - config.defaults.window,
      (Date.parse(inc.firstStartsAt ?? "") || inc.openedAt) - pad,
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

  /** Causes found by the incident's latest diagnosis, as their titles. */
  private async causes(inc: Incident): Promise<string[]> {
    if (!inc.lastRunId) return [];
    const json = await this.o.store.runDiagnosis(inc.lastRunId);
    if (!json) return [];
    const d = JSON.parse(json) as Diagnosis;
    return d.verdicts.map((v) => v.title);
  }

  private async notice(inc: Incident): Promise<void> {
    const { store, outbox, config } = this.o;
    if (inc.channel && inc.pendingNotice) {
      const started = Date.parse(inc.firstStartsAt ?? "") || inc.openedAt;
      const durationMs = (inc.resolvedAt ?? this.now()) - started;
      const reason = inc.pendingNotice;
      const msg = incidentClosedMessage({
        service: inc.service,
        reason,
        durationMs,
        causes: await this.causes(inc),
        quietFor: lasted(config.alerts.quiet_close),
      });
      await outbox.edit(`${inc.id}.closed`, inc.channel, inc.parentOutboxId, msg);
      await outbox.post(
        `${inc.id}.closed-note`,
        inc.channel,
        textMessage(
          reason === "resolved"
            ? `:white_check_mark: The alert resolved after ${lasted(durationMs)}: incident closed.`
            : `:grey_question: No resolution arrived and the alert has not fired for ${lasted(config.alerts.quiet_close)}: incident closed as "no resolution received". If it is still failing, \`/why502 ${inc.service}\`.`,
        ),
        { parentId: inc.parentOutboxId },
      );
      await outbox.react(`${inc.id}.closed-react`, inc.channel, inc.parentOutboxId, REACTIONS.healthy, true);
      await outbox.react(
        `${inc.id}.closed-unreact`,
        inc.channel,
        inc.parentOutboxId,
        REACTIONS.failing,
        false,
      );
    }
    await store.clearIncidentNotice(inc.id);
  }
}
