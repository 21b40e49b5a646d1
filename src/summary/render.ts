import type { ContextBlock, KnownBlock, SectionBlock } from "@slack/types";
import { blocksChars, SLACK_LIMITS } from "../diagnosis/render/blocks.js";
import { clipMrkdwn } from "../diagnosis/render/escape.js";
import { clip, mrkdwn, mrkdwnCode, mrkdwnSentence, oneLine, preformatted, visible } from "./escape.js";
import type { RootCause, Summary, TimelineEntry } from "./schema.js";
import {
  detectionWords,
  diagnosisWords,
  entryTime,
  impactWords,
  incidentDate,
  isSlackUser,
  occurrenceWords,
  peakWords,
  requesterWords,
  seenInWords,
  sourceName,
  spanSource,
  spanWords,
  zoneLabel,
} from "./words.js";

export { postmortemMarkdown } from "./postmortem.js";

// --- Slack Block Kit ----------------------------------------------------------------------------------

export interface SummaryBlocksOptions {
  /** The whole message's character budget (Slack refuses ~11-13k); default SLACK_LIMITS.messageChars. */
  maxChars?: number;
  /** The chart, once uploaded: shown as an image block. */
  chart?: { slackFileId: string } | { imageUrl: string };
}

/** A mrkdwn section; `verbatim` keeps Slack from linking or mentioning anything in plain text by itself. */
function section(text: string): SectionBlock {
  return {
    type: "section",
    text: { type: "mrkdwn", text: clipMrkdwn(text, SLACK_LIMITS.sectionText), verbatim: true },
  };
}

function context(texts: string[]): ContextBlock {
  return {
    type: "context",
    elements: texts
      .filter((t) => t !== "")
      .slice(0, SLACK_LIMITS.contextElements)
      .map((t) => ({
        type: "mrkdwn" as const,
        text: clipMrkdwn(t, SLACK_LIMITS.sectionText),
        verbatim: true,
      })),
  };
}

/** A person is mentioned (they did it), an alert is named, anything else is text. */
function slackWho(who: string): string {
  if (isSlackUser(who)) return `<@${who}>`;
  return requesterWords(who) ?? mrkdwn(who);
}

/** Sections of lines, each within the section limit. */
function linesSections(head: string, lines: string[]): SectionBlock[] {
  const out: SectionBlock[] = [];
  let text = head;
  for (const l of lines) {
    const line = clipMrkdwn(l, 600);
    if (text.length + line.length + 1 > SLACK_LIMITS.sectionText) {
      out.push(section(text));
      text = line;
    } else text = text ? `${text}\n${line}` : line;
  }
  if (text) out.push(section(text));
  return out;
}

function slackEntry(e: TimelineEntry, s: Summary, date: string): string {
  const t = `\`${entryTime(e, s.zone, date)}\``;
  const who = e.actor === "person" && e.user ? `${slackWho(e.user)} ` : "";
  const host = e.host ? `*${mrkdwn(e.host)}* ` : "";
  const asked = e.kind === "diagnosis" && e.user ? ` (asked by ${slackWho(e.user)})` : "";
  return `${t} ${host}${who}${mrkdwn(e.text)}${asked}`;
}

function causeBlocks(c: RootCause, i: number, s: Summary, evidenceLines: number): KnownBlock[] {
  const facts = [
    mrkdwnCode(c.cause),
    `target ${mrkdwnCode(c.target)}`,
    `clients saw ${c.status}`,
    `confidence ${c.confidence}`,
    occurrenceWords(c.occurrences, c.cause),
    seenInWords(c.seenIn, s.rounds.length),
    c.markedWrongBy.length ? `marked wrong by ${c.markedWrongBy.map(slackWho).join(", ")}` : "",
    c.markedRightBy.length ? `confirmed by ${c.markedRightBy.map(slackWho).join(", ")}` : "",
  ].filter((x) => x !== "");
  const blocks: KnownBlock[] = [section(`*${i + 1}. ${mrkdwnSentence(s, c.title)}*\n${facts.join(" · ")}`)];
  if (evidenceLines > 0 && c.evidence.length > 0) {
    const lines = c.evidence
      .slice(0, evidenceLines)
      .map((r) => `${oneLine(r.host)} ${oneLine(r.source)}:${r.line}\n  ${clip(oneLine(r.text), 240)}`);
    blocks.push(preformatted(lines, SLACK_LIMITS.sectionText));
  }
  return blocks;
}

function changedBlock(s: Summary): KnownBlock | undefined {
  if (!s.verdictsChanged) return undefined;
  const date = incidentDate(s);
  const lines = s.rounds.map((r) => {
    const v = r.verdicts.length
      ? r.verdicts.map((x) => `${mrkdwnCode(x.cause)} on ${mrkdwnCode(x.target)}`).join(", ")
      : mrkdwn(r.status);
    return `${r.n}. \`${entryTime({ at: r.at, exact: true }, s.zone, date)}\` ${v}${r.changed ? " ← changed" : ""}`;
  });
  return linesSections("*The verdicts changed during the incident*", lines)[0];
}

interface Level {
  evidence: number;
  timeline: number;
  followUps: number;
  causes: number;
}

const LEVELS: Level[] = [
  { evidence: 3, timeline: 40, followUps: 10, causes: 8 },
  { evidence: 2, timeline: 25, followUps: 8, causes: 6 },
  { evidence: 1, timeline: 15, followUps: 6, causes: 5 },
  { evidence: 0, timeline: 10, followUps: 5, causes: 4 },
  { evidence: 0, timeline: 5, followUps: 3, causes: 3 },
  { evidence: 0, timeline: 0, followUps: 0, causes: 2 },
];

function assemble(s: Summary, level: Level, opts: SummaryBlocksOptions): KnownBlock[] {
  const date = incidentDate(s);
  const blocks: KnownBlock[] = [
    {
      type: "header",
      text: { type: "plain_text", text: clip(`Incident summary: ${oneLine(s.incident.service)}`, 150) },
    },
    section(`*${mrkdwn(s.headline)}*`),
  ];
  const when = spanWords(s);
  blocks.push(
    context([
      when ? `${mrkdwn(when)}, ${spanSource(s)}` : "",
      detectionWords(s) ? `detected ${detectionWords(s)}` : "",
      diagnosisWords(s) ? `first diagnosis ${diagnosisWords(s)}` : "",
      `${s.rounds.length} diagnos${s.rounds.length === 1 ? "is" : "es"}`,
    ]),
  );
  const peak = peakWords(s);
  const targets = s.impact.byTarget
    .slice(0, 8)
    .map(
      (t) =>
        `• ${mrkdwnCode(t.target)}${t.host ? ` (${mrkdwn(t.host)})` : ""}: ${t.status502} × 502${t.status504 ? `, ${t.status504} × 504` : ""}`,
    );
  const impactHead = `*Impact*\n${impactWords(s)}${peak ? ` · ${peak}` : ""}`;
  const warn =
    s.impact.measured && !s.impact.complete
      ? ["⚠️ counts incomplete: a gateway could not be read or a count was cut"]
      : [];
  blocks.push(...linesSections(impactHead, [...warn, ...targets]).slice(0, 1));
  if (opts.chart) {
    const alt = clip(`Failing requests per minute on ${oneLine(s.incident.service)}, ${date}`, 2000);
    blocks.push(
      "slackFileId" in opts.chart
        ? { type: "image", alt_text: alt, slack_file: { id: opts.chart.slackFileId } }
        : { type: "image", alt_text: alt, image_url: opts.chart.imageUrl },
    );
  }
  if (s.causes.length) {
    blocks.push({ type: "divider" }, section(`*Root cause${s.causes.length === 1 ? "" : "s"}*`));
    s.causes.slice(0, level.causes).forEach((c, i) => {
      blocks.push(...causeBlocks(c, i, s, level.evidence));
    });
    if (s.causes.length > level.causes)
      blocks.push(context([`${s.causes.length - level.causes} more in the postmortem draft`]));
  }
  const changed = changedBlock(s);
  if (changed) blocks.push(changed);
  if (level.timeline > 0 && s.timeline.length) {
    const shown = s.timeline.slice(0, level.timeline).map((e) => slackEntry(e, s, date));
    const more = s.timeline.length - shown.length;
    blocks.push({ type: "divider" });
    blocks.push(
      ...linesSections(`*Timeline* · ${mrkdwn(zoneLabel(s))}`, [
        ...shown,
        ...(more > 0 ? [`_${more} more in the postmortem draft_`] : []),
      ]),
    );
  }
  if (level.followUps > 0 && s.followUps.length) {
    const items = s.followUps.slice(0, level.followUps).map((f) => `• ${mrkdwnSentence(s, f.text)}`);
    const more = s.followUps.length - items.length;
    blocks.push(
      ...linesSections("*Follow-up*", [
        ...items,
        ...(more > 0 ? [`_${more} more in the postmortem draft_`] : []),
      ]),
    );
  }
  blocks.push(
    context([
      ...s.notes.slice(0, 6).map((n) => mrkdwn(n)),
      `incident ${mrkdwnCode(s.incident.id)} · ${mrkdwn(sourceName(s.incident.source))} · times in ${mrkdwn(zoneLabel(s))}`,
    ]),
  );
  return blocks;
}

/**
 * The end-of-incident thread message: headline, impact, root causes with their proof, the timeline and the
 * follow-ups, within Slack's limits whatever the input (evidence excerpts go first, then timeline entries).
 */
export function summaryBlocks(s: Summary, opts: SummaryBlocksOptions = {}): KnownBlock[] {
  const max = opts.maxChars ?? SLACK_LIMITS.messageChars;
  let blocks: KnownBlock[] = [];
  for (const level of LEVELS) {
    blocks = assemble(s, level, opts);
    if (blocks.length <= SLACK_LIMITS.blocks && blocksChars(blocks) <= max) return blocks;
  }
  // Still too long (a huge headline or notes): keep the head and the closing context only.
  const tail = blocks.at(-1);
  const head = blocks.slice(0, 4);
  const out = tail ? [...head, tail] : head;
  while (out.length > 2 && blocksChars(out) > max) out.splice(out.length - 2, 1);
  return out;
}

// --- Terminal -----------------------------------------------------------------------------------------

function who(s: string): string {
  return requesterWords(s) ?? visible(s);
}

/** The summary as a person reads it in a terminal (host text with its control characters made visible). */
export function summaryText(s: Summary): string {
  const out: string[] = [];
  const t = (x: string) => oneLine(x);
  const date = incidentDate(s);
  out.push(`${t(s.incident.service)}: ${t(s.headline)}`);
  out.push(`incident ${t(s.incident.id)} · ${t(sourceName(s.incident.source))} · times in ${zoneLabel(s)}`);
  out.push("");
  const row = (k: string, v: string | undefined) => {
    if (v) out.push(`${k.padEnd(16)}${v}`);
  };
  const when = spanWords(s);
  row("Duration", when ? `${date} ${when}, ${spanSource(s)}` : undefined);
  row("Detection", detectionWords(s));
  row("First diagnosis", diagnosisWords(s));
  row("Impact", `${impactWords(s)}${peakWords(s) ? `; ${peakWords(s)}` : ""}`);
  for (const x of s.impact.byTarget)
    out.push(
      `${"".padEnd(16)}${t(x.target)}${x.host ? ` (${t(x.host)})` : ""}: ${x.status502} × 502, ${x.status504} × 504`,
    );
  if (s.causes.length) {
    out.push("", "Root causes");
    s.causes.forEach((c, i) => {
      out.push(` ${i + 1}. ${t(c.cause)}  ${t(c.title)}`);
      const facts = [
        `target ${t(c.target)}`,
        `confidence ${c.confidence}`,
        occurrenceWords(c.occurrences, c.cause),
        seenInWords(c.seenIn, s.rounds.length),
        c.markedWrongBy.length ? `marked wrong by ${c.markedWrongBy.map(who).join(", ")}` : "",
      ].filter((x) => x);
      out.push(`    ${facts.join(" · ")}`);
      for (const r of c.evidence.slice(0, 4))
        out.push(`    ${t(r.host)} ${t(r.source)}:${r.line}  ${clip(t(r.text), 100)}`);
      if (c.evidence.length > 4) out.push(`    (${c.evidence.length - 4} more lines in --json)`);
    });
  }
  if (s.verdictsChanged) {
    out.push("", "Verdicts changed during the incident");
    for (const r of s.rounds) {
      const v = r.verdicts.length
        ? r.verdicts.map((x) => `${t(x.cause)} on ${t(x.target)}`).join(", ")
        : r.status;
      out.push(
        `  ${r.n}. ${entryTime({ at: r.at, exact: true }, s.zone, date)}  ${v}${r.changed ? "  (changed)" : ""}`,
      );
    }
  }
  if (s.timeline.length) {
    out.push("", `Timeline · ${zoneLabel(s)}`);
    for (const e of s.timeline) {
      const by = e.user && e.actor === "person" ? `${who(e.user)} ` : "";
      const asked = e.kind === "diagnosis" && e.user ? ` (asked by ${who(e.user)})` : "";
      out.push(
        `  ${entryTime(e, s.zone, date).padEnd(8)}  ${t(e.host ?? "").padEnd(12)} ${by}${t(e.text)}${asked}`,
      );
    }
  }
  if (s.followUps.length) {
    out.push("", "Follow-up");
    for (const f of s.followUps) out.push(`  - ${t(f.text)}`);
  }
  if (s.notes.length) {
    out.push("", "Notes");
    for (const n of s.notes) out.push(`  - ${t(n)}`);
  }
  return `${out.join("\n")}\n`;
}

/** The summary as JSON (its schema is `Summary` in schema.ts). */
export function summaryJson(s: Summary): string {
  return `${JSON.stringify(s, null, 2)}\n`;
}
