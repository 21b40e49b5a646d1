import type { ActionsBlock, Button, KnownBlock } from "@slack/types";
import type { Prose } from "../diagnosis/prose.js";
import { blocksChars, renderBlocks, SLACK_LIMITS } from "../diagnosis/render/blocks.js";
import { clip, clipMrkdwn, forMrkdwn } from "../diagnosis/render/escape.js";
import { proseIndex, proseMrkdwn } from "../diagnosis/render/prose.js";
import type { Diagnosis } from "../diagnosis/types.js";
import { quoted } from "./command-text.js";

/** A Slack message as the outbox sends it: text (notifications, fallbacks) and blocks. */
export interface SlackMessage {
  text: string;
  blocks?: KnownBlock[];
  /** Leaner blocks to send if Slack refuses `blocks` (the outbox strips this field). */
  fallback_blocks?: KnownBlock[];
  reply_broadcast?: boolean;
}

export const ACTIONS = {
  rerun: "why502_rerun",
  evidence: "why502_evidence",
  right: "why502_feedback_yes",
  wrong: "why502_feedback_no",
  resolve: "why502_resolve",
} as const;

/** Reactions on the parent that show the state without opening the thread. */
export const REACTIONS = {
  running: "hourglass_flowing_sand",
  failing: "red_circle",
  healthy: "white_check_mark",
  unknown: "grey_question",
} as const;

const section = (text: string): KnownBlock => ({
  type: "section",
  text: { type: "mrkdwn", text: clipMrkdwn(text, SLACK_LIMITS.sectionText), verbatim: true },
});

/**
 * A message's top-level `text` (notifications, and what shows if the blocks cannot) is mrkdwn too: host
 * text in it is escaped the same way, so a `<!channel>` in a summary cannot page the channel from there.
 */
export function plainText(s: string, max = 3000): string {
  return clip(forMrkdwn(s), max);
}

/** Who asked, as a message shows it: a person is mentioned, an alert source is named. */
export function requester(who: string): string {
  if (/^[UW][A-Z0-9]{2,30}$/.test(who)) return `<@${who}>`;
  const source = /^alert:([a-z]+)$/.exec(who)?.[1];
  if (source)
    return `an alert from ${{ alertmanager: "Alertmanager", grafana: "Grafana", generic: "a webhook" }[source] ?? source}`;
  return quoted(who, 60);
}

export interface ParentState {
  service: string;
  windowText: string;
  requestedBy: string;
  progress?: { done: number; total: number; failed: string[] };
}

/** The parent message while the investigation runs: who asked, what, and how far collection got. */
export function investigatingMessage(p: ParentState): SlackMessage {
  const head = `:mag: Investigating 502s on *${forMrkdwn(p.service)}*, last ${forMrkdwn(p.windowText)}, asked by ${p.requestedBy}`;
  const progress = p.progress
    ? `collecting: ${p.progress.done}/${p.progress.total} hosts answered${p.progress.failed.length ? `, failed: ${p.progress.failed.map((f) => forMrkdwn(f)).join(", ")}` : ""}`
    : "connecting to the hosts…";
  return {
    text: plainText(`Investigating 502s on ${p.service}, last ${p.windowText}`),
    blocks: [
      section(head),
      { type: "context", elements: [{ type: "mrkdwn", verbatim: true, text: progress }] },
    ],
  };
}

/** The verdict line the parent is edited to once the diagnosis is in its thread. */
export function verdictLine(d: Diagnosis): string {
  const icon =
    d.status === "failing"
      ? ":red_circle:"
      : d.status === "healthy"
        ? ":white_check_mark:"
        : ":grey_question:";
  const causes = d.verdicts.length > 1 ? ` (${d.verdicts.length} causes)` : "";
  return `${icon} ${proseMrkdwn(d.summary, proseIndex(d.prose))}${causes}`;
}

export function parentDoneMessage(d: Diagnosis, p: ParentState, durationMs: number): SlackMessage {
  return {
    text: plainText(d.summary),
    blocks: [
      section(verdictLine(d)),
      {
        type: "context",
        elements: [
          {
            type: "mrkdwn",
            verbatim: true,
            text: `last ${forMrkdwn(p.windowText)} · asked by ${p.requestedBy} · ${seconds(durationMs)} · details in the thread`,
          },
        ],
      },
    ],
  };
}

export function parentFailedMessage(p: ParentState, why: string): SlackMessage {
  return {
    text: plainText(`Could not diagnose ${p.service}: ${why}`),
    blocks: [
      section(`:warning: Could not diagnose *${forMrkdwn(p.service)}*: ${forMrkdwn(why)}`),
      {
        type: "context",
        elements: [
          {
            type: "mrkdwn",
            verbatim: true,
            text: `asked by ${p.requestedBy} · \`@why502 rerun\` in the thread to try again`,
          },
        ],
      },
    ],
  };
}

/** The thread reply when a run failed: the service and the reason (which can quote a host) escaped. */
export function failedReply(service: string, why: string): SlackMessage {
  return textMessage(`:warning: Could not diagnose *${forMrkdwn(service)}*: ${forMrkdwn(why)}`);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function button(text: string, actionId: string, value: string, style?: "primary" | "danger"): Button {
  return {
    type: "button",
    text: { type: "plain_text", text, emoji: true },
    action_id: actionId,
    value,
    ...(style ? { style } : {}),
  };
}

export function actionsBlock(runId: string): ActionsBlock {
  return {
    type: "actions",
    block_id: `why502_actions_${runId}`.slice(0, 255),
    elements: [
      button("Re-run", ACTIONS.rerun, runId),
      button("Full evidence", ACTIONS.evidence, runId),
      button(":thumbsup: Right", ACTIONS.right, runId),
      button(":thumbsdown: Wrong", ACTIONS.wrong, runId),
      button("Resolve", ACTIONS.resolve, runId, "primary"),
    ],
  };
}

export interface ReplyContext {
  runId: string;
  durationMs: number;
  requestedBy: string;
  broadcast: boolean;
}

/** Hosts asked, and any that failed with why. */
function hostsContext(d: Diagnosis, durationMs: number): string {
  const failed = d.hosts.filter((h) => !h.ok);
  const failedText = failed.length
    ? `; failed: ${failed.map((h) => `${forMrkdwn(h.name)} (${forMrkdwn(h.failure?.code ?? "failed")}: ${quoted(h.failure?.message ?? "", 80)})`).join(", ")}`
    : "";
  return `took ${seconds(durationMs)}${failedText}`;
}

/** The diagnosis as a thread reply: the verdicts with their proof, buttons, and who/how long. */
export function diagnosisReply(d: Diagnosis, c: ReplyContext): SlackMessage {
  const tail: KnownBlock[] = [
    {
      type: "context",
      elements: [
        { type: "mrkdwn", verbatim: true, text: clipMrkdwn(hostsContext(d, c.durationMs), 2900) },
        {
          type: "mrkdwn",
          verbatim: true,
          text: `asked by ${c.requestedBy} · Was this right? Tell me with the buttons.`,
        },
      ],
    },
    actionsBlock(c.runId),
  ];
  const budget = SLACK_LIMITS.messageChars - blocksChars(tail);
  const blocks = [...renderBlocks(d, budget), ...tail];
  const lean = [...renderBlocks(d, 3000), ...tail];
  return {
    text: plainText(d.summary),
    blocks: blocks.slice(0, SLACK_LIMITS.blocks),
    fallback_blocks: lean.slice(0, SLACK_LIMITS.blocks),
    ...(c.broadcast ? { reply_broadcast: true } : {}),
  };
}

/** `12m`, `1h 5m`, `45s`: how long an incident lasted. */
export function lasted(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m}m`;
  return `${Math.floor(m / 60)}h${m % 60 ? ` ${m % 60}m` : ""}`;
}

/** The parent once the incident is over: how long it lasted and what caused it. */
export function incidentClosedMessage(p: {
  service: string;
  reason: "resolved" | "quiet";
  durationMs: number;
  causes: string[];
  /** The diagnosis's sentences with code spans (`Diagnosis.prose`), so the causes' titles keep theirs. */
  prose?: Prose[];
  quietFor?: string;
}): SlackMessage {
  const ix = proseIndex(p.prose);
  const causes = p.causes.length ? p.causes.map((c) => proseMrkdwn(c, ix)).join("; ") : "no cause was found";
  const head =
    p.reason === "resolved"
      ? `:white_check_mark: *${forMrkdwn(p.service)}*: resolved after ${lasted(p.durationMs)}: ${causes}`
      : `:white_check_mark: *${forMrkdwn(p.service)}*: closed after ${lasted(p.durationMs)} with no resolution received (no firing for ${p.quietFor ?? "a while"}): ${causes}`;
  return {
    text: plainText(
      `${p.service}: ${p.reason === "resolved" ? "resolved" : "closed, no resolution received"} after ${lasted(p.durationMs)}`,
    ),
    blocks: [section(head)],
  };
}

/** The parent once the incident's summary is in its thread: the summary's headline, escaped (it names hosts). */
export function summaryClosedMessage(service: string, headline: string): SlackMessage {
  return {
    text: plainText(`${service}: ${headline}`),
    blocks: [section(`:white_check_mark: ${forMrkdwn(headline)}`)],
  };
}

export function textMessage(text: string): SlackMessage {
  return { text, blocks: [section(text)] };
}
