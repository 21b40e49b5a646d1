import { randomUUID } from "node:crypto";
import type { App, BlockButtonAction, SlashCommand } from "@slack/bolt";
import type { Config } from "../config/schema.js";
import { closestServices, serviceHosts } from "../investigate/investigate.js";
import type { Logger } from "../server/log.js";
import type { Metrics } from "../server/metrics.js";
import type { OutboxWriter } from "../server/outbox-writer.js";
import { parentIdOf } from "../server/runner.js";
import type { Run, RunSource, Store } from "../store/types.js";
import { mayDiagnose, needsLookup, ruleFor } from "./access.js";
import { MENTION_HELP, parseCommand, parseMention, quoted, type Request, USAGE } from "./command-text.js";
import { uploadEvidence } from "./evidence.js";
import {
  ACTIONS,
  investigatingMessage,
  REACTIONS,
  requester,
  type SlackMessage,
  textMessage,
} from "./messages.js";
import { summaryReply } from "./summary.js";
import type { UsergroupCache } from "./usergroups.js";

export interface BotDeps {
  config: Config;
  store: Store;
  outbox: OutboxWriter;
  /** Wake the runner after a run was queued. */
  wakeRunner: () => void;
  usergroups: UsergroupCache;
  log: Logger;
  metrics: Metrics;
  /** An incident was closed by hand: its summary is owed. */
  wakeIncidents: () => void;
  /** `@why502 explain`: pasted text to Slack mrkdwn. */
  explain: (text: string) => SlackMessage;
  now?: () => number;
}

interface Where {
  user: string;
  channel: string;
  /** The thread the request came from, when it did. */
  threadTs?: string;
}

const DEFAULT_WINDOW_TEXT = (ms: number) =>
  ms % 3_600_000 === 0
    ? `${ms / 3_600_000}h`
    : ms % 60_000 === 0
      ? `${ms / 60_000}m`
      : `${Math.round(ms / 1000)}s`;

/**
 * The Slack conversation: `/why502`, mentions in threads, and the buttons. Handlers only validate, record
 * and answer; the investigation is a queued run and every message an outbox entry.
 */
export function registerHandlers(app: App, deps: BotDeps): void {
  const now = deps.now ?? Date.now;
  const { config, store, outbox, log, metrics } = deps;
  const services = Object.keys(config.services);
  /** Windows longer than the config allows are refused like any bad window. */
  const withinMax = (r: Request): Request =>
    "windowMs" in r && r.windowMs !== undefined && r.windowMs > config.defaults.max_window
      ? {
          kind: "invalid",
          message: `A window of ${quoted(r.windowText ?? "")} is longer than this team allows (defaults.max_window): ask for less.`,
        }
      : r;

  /** Decide what a diagnose request gets: a refusal to show, or nothing (go ahead). Never touches a host. */
  async function refusal(
    service: string,
    w: Where,
    canWait: boolean,
  ): Promise<string | "lookup" | undefined> {
    if (!Object.hasOwn(config.services, service)) {
      metrics.requestsRejected.inc({ reason: "unknown_service" });
      const close = closestServices(config, service);
      return `I know no service "${quoted(service)}". ${close.length ? `Did you mean ${close.map((s) => `\`${s}\``).join(", ")}?` : ""} ${USAGE}`.replace(
        /\s+/g,
        " ",
      );
    }
    const rule = ruleFor(config.slack, service);
    if (!canWait && needsLookup(rule, (g) => deps.usergroups.cached(g))) return "lookup";
    const d = await mayDiagnose(rule, service, w, (g) => deps.usergroups.members(g));
    if (!d.ok) {
      metrics.requestsRejected.inc({ reason: "not_allowed" });
      return d.reason;
    }
    return undefined;
  }

  async function helpText(w: Where): Promise<string> {
    const mine: string[] = [];
    for (const s of services) {
      const d = await mayDiagnose(ruleFor(config.slack, s), s, w, (g) => deps.usergroups.members(g));
      if (d.ok) mine.push(`\`${s}\``);
    }
    return [
      `*why502* tells you why a service answers 502, with the evidence: ${USAGE}`,
      mine.length
        ? `Services you may diagnose here: ${mine.join(", ")}.`
        : "There is no service you may diagnose in this channel.",
      MENTION_HELP,
    ].join("\n");
  }

  /**
   * Queue a run with its parent message; a second request for a running service joins it, and a service
   * with an open incident is diagnosed into the incident's thread.
   */
  async function startRun(
    service: string,
    windowMs: number | undefined,
    windowText: string | undefined,
    w: Where,
    source: RunSource,
  ): Promise<{ joined?: Run; run?: Run; incidentChannel?: string }> {
    const incident = await store.openIncident(service);
    if (incident?.channel) {
      const last = incident.lastRunId ? await store.getRun(incident.lastRunId) : undefined;
      if (!last || last.state === "queued" || last.state === "running")
        return {
          joined: last ?? ({ requestedBy: `alert:${incident.source}` } as Run),
          incidentChannel: incident.channel,
        };
      const r = await rerun(last, windowMs, windowText, w.user, source);
      if (r?.run) await store.linkRunToIncident(r.run.id, incident.id, now());
      return { ...r, incidentChannel: incident.channel };
    }
    const id = randomUUID();
    const ms = windowMs ?? config.defaults.window;
    const { run, created } = await store.createRunIfIdle(
      {
        id,
        service,
        sinceMs: now() - ms,
        windowText: windowText ?? DEFAULT_WINDOW_TEXT(ms),
        requestedBy: w.user,
        source,
        channel: w.channel,
        parentOutboxId: parentIdOf(id),
        hosts: serviceHosts(config, service),
      },
      now(),
    );
    if (!created) return { joined: run };
    await outbox.post(
      parentIdOf(id),
      w.channel,
      investigatingMessage({ service, windowText: run.windowText, requestedBy: `<@${w.user}>` }),
      { runId: id },
    );
    await outbox.react(`${id}.running`, w.channel, parentIdOf(id), REACTIONS.running, true, id);
    deps.wakeRunner();
    return { run };
  }

  /** A re-run posts into the same thread and edits the same parent. */
  async function rerun(
    previous: Run,
    windowMs: number | undefined,
    windowText: string | undefined,
    user: string,
    source: RunSource,
  ) {
    if (!previous.channel || !previous.parentOutboxId) return;
    const id = randomUUID();
    const ms = windowMs ?? Math.max(60_000, (previous.createdAt - previous.sinceMs) | 0);
    const { run, created } = await store.createRunIfIdle(
      {
        id,
        service: previous.service,
        sinceMs: now() - ms,
        windowText: windowText ?? previous.windowText,
        requestedBy: user,
        source,
        channel: previous.channel,
        threadTs: previous.threadTs,
        parentOutboxId: previous.parentOutboxId,
        previousRunId: previous.id,
        hosts: serviceHosts(config, previous.service),
      },
      now(),
    );
    if (!created) return { joined: run };
    await store.recordAction({ runId: previous.id, user, action: "rerun", at: now(), detail: run.id });
    await outbox.edit(
      `${id}.progress.0`,
      previous.channel,
      previous.parentOutboxId,
      investigatingMessage({ service: run.service, windowText: run.windowText, requestedBy: `<@${user}>` }),
      id,
    );
    deps.wakeRunner();
    return { run };
  }

  const threadDeps = { config, store, outbox, now };
  const ephemeralId = () => `ephemeral.${randomUUID()}`;

  app.command("/why502", async ({ command, ack }) => {
    const c = command as SlashCommand;
    const w: Where = { user: c.user_id, channel: c.channel_id };
    const req = withinMax(parseCommand(c.text ?? ""));
    if (req.kind === "help") return ack({ response_type: "ephemeral", text: await helpText(w) });
    if (req.kind === "summary") {
      await ack();
      const why = await summaryReply(threadDeps, undefined, req.service);
      if (why) await outbox.ephemeral(ephemeralId(), w.channel, w.user, why);
      return;
    }
    if (req.kind !== "diagnose") {
      metrics.requestsRejected.inc({ reason: "bad_input" });
      return ack({ response_type: "ephemeral", text: req.kind === "invalid" ? req.message : USAGE });
    }
    const refused = await refusal(req.service, w, false);
    if (refused && refused !== "lookup") return ack({ response_type: "ephemeral", text: refused });
    await ack();
    if (refused === "lookup") {
      const late = await refusal(req.service, w, true);
      if (late) {
        await outbox.ephemeral(ephemeralId(), w.channel, w.user, late);
        return;
      }
    }
    const r = await startRun(req.service, req.windowMs, req.windowText, w, "slash");
    if (r.joined) {
      await outbox.ephemeral(
        ephemeralId(),
        w.channel,
        w.user,
        `Already investigating ${req.service}${r.incidentChannel ? ` for its open incident in <#${r.incidentChannel}>` : " here"} (asked by ${requester(r.joined.requestedBy)}): the diagnosis lands in that thread.`,
      );
    } else if (r.incidentChannel) {
      await outbox.ephemeral(
        ephemeralId(),
        w.channel,
        w.user,
        `${req.service} has an open incident: the diagnosis goes into its thread in <#${r.incidentChannel}>.`,
      );
    }
    log.info(
      {
        who: w.user,
        where: w.channel,
        service: req.service,
        run_id: r.run?.id ?? r.joined?.id,
        joined: !!r.joined,
      },
      "slash command",
    );
  });

  app.event("app_mention", async ({ event }) => {
    const e = event as { user?: string; channel: string; text: string; ts: string; thread_ts?: string };
    if (!e.user) return;
    const w: Where = { user: e.user, channel: e.channel, threadTs: e.thread_ts };
    const replyTo = e.thread_ts ?? e.ts;
    const reply = async (text: string | SlackMessage) => {
      // Mentions carry no response_url: answer in the thread the mention was written in.
      const msg = typeof text === "string" ? textMessage(text) : text;
      await outbox.add({
        id: `mention.${e.channel}.${e.ts}`,
        kind: "post",
        channel: e.channel,
        payload: { ...msg, thread_ts: replyTo },
      });
    };
    const req: Request = withinMax(parseMention(e.text ?? ""));
    const run = e.thread_ts ? await store.runByThread(e.channel, e.thread_ts) : undefined;
    switch (req.kind) {
      case "help":
        return reply(await helpText(w));
      case "invalid":
        metrics.requestsRejected.inc({ reason: "bad_input" });
        return reply(req.message);
      case "explain":
        return reply(deps.explain(req.text));
      case "summary": {
        const why = await summaryReply(threadDeps, run?.incidentId, req.service);
        if (why) return reply(why);
        return;
      }
      case "evidence": {
        if (!run) return reply("`@why502 evidence` works in the thread of a why502 diagnosis.");
        const why = await uploadEvidence(threadDeps, run, w.user);
        if (why) return reply(why);
        return;
      }
      case "rerun": {
        if (!run)
          return reply(
            "`@why502 rerun` works in the thread of a why502 diagnosis; elsewhere use `/why502 <service>`.",
          );
        const refused = await refusal(run.service, w, true);
        if (refused) return reply(refused);
        const r = await rerun(run, req.windowMs, req.windowText, w.user, "mention");
        if (r?.joined) return reply(`Already investigating ${run.service}: the diagnosis lands here.`);
        return;
      }
      case "diagnose": {
        const refused = await refusal(req.service, w, true);
        if (refused) return reply(refused);
        const r = await startRun(
          req.service,
          req.windowMs,
          req.windowText,
          { user: w.user, channel: w.channel },
          "mention",
        );
        if (r.joined)
          return reply(`Already investigating ${req.service} here: the diagnosis lands in that thread.`);
        return;
      }
    }
  });

  app.action<BlockButtonAction>(/^why502_/, async ({ ack, body, action }) => {
    await ack();
    const user = body.user.id;
    const channel = body.channel?.id;
    const runId = action.value ?? "";
    const run = await store.getRun(runId);
    const tell = async (text: string) => {
      if (channel) await outbox.ephemeral(ephemeralId(), channel, user, text);
    };
    if (!run || !channel) return tell("I no longer know that diagnosis.");
    switch (action.action_id) {
      case ACTIONS.rerun: {
        const refused = await refusal(run.service, { user, channel }, true);
        if (refused) return tell(refused);
        const r = await rerun(run, undefined, undefined, user, "button");
        if (r?.joined)
          return tell(`Already investigating ${run.service}: the diagnosis lands in this thread.`);
        return;
      }
      case ACTIONS.evidence: {
        const why = await uploadEvidence(threadDeps, run, user);
        if (why) return tell(why);
        return;
      }
      case ACTIONS.right:
      case ACTIONS.wrong: {
        const answer = action.action_id === ACTIONS.right ? "yes" : "no";
        const causes = run.verdicts.length ? run.verdicts.map((v) => v.cause) : [run.status ?? "unknown"];
        await store.recordFeedback({ runId, user, answer, causes, at: now() });
        await store.recordAction({ runId, user, action: `feedback_${answer}`, at: now() });
        for (const c of causes) metrics.feedback.inc({ verdict: c, answer });
        return tell(
          answer === "yes"
            ? "Thanks: recorded that this diagnosis was right."
            : "Thanks: recorded that this diagnosis was wrong. A line in the thread on what it really was helps improve the playbook.",
        );
      }
      case ACTIONS.resolve: {
        await store.recordAction({ runId, user, action: "resolve", at: now() });
        if (run.incidentId) {
          const closed = await store.closeIncident(run.incidentId, "resolved by hand", now());
          if (closed) {
            deps.wakeIncidents();
            return tell("Closed the incident: its summary follows in the thread.");
          }
        }
        if (run.parentOutboxId) {
          await outbox.react(
            `${runId}.resolved`,
            channel,
            run.parentOutboxId,
            REACTIONS.healthy,
            true,
            runId,
          );
          await outbox.post(
            `${runId}.resolve-note`,
            channel,
            textMessage(`:white_check_mark: Marked resolved by <@${user}>.`),
            { runId, parentId: run.parentOutboxId },
          );
        }
        return;
      }
      default:
        return tell("I do not know that button.");
    }
  });
}
