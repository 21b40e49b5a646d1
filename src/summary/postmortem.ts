import { clip, md, mdCode, mdFence, mdSentence, oneLine } from "./escape.js";
import type { RootCause, Summary, TimelineEntry, TimelineKind } from "./schema.js";
import { aboutDuration, between, durationMs, formatDuration } from "./time.js";
import {
  detectionWords,
  diagnosisWords,
  entryTime,
  impactWords,
  incidentDate,
  occurrenceWords,
  requesterWords,
  seenInWords,
  sourceName,
  spanSource,
  utcTime,
  zoneLabel,
} from "./words.js";

export interface PostmortemOptions {
  /** Where the chart PNG will sit beside the document (a relative path or URL). */
  chartFile?: string;
}

const DEATHS: TimelineKind[] = ["oom_kill", "crash", "segfault", "exit", "nginx_reload"];
const DETECTION_SLOW_MS = durationMs(5, "minute");

function person(who: string): string {
  return requesterWords(who) ?? mdCode(who);
}

/** `10:15:53 (09:15:53 UTC)`: the team's clock, UTC beside. */
function when(e: Pick<TimelineEntry, "at" | "exact">, s: Summary): string {
  return `${entryTime(e, s.zone, incidentDate(s))} (${utcTime(e)} UTC)`;
}

/** A path we were given, as a Markdown link target: no space or parenthesis can end it early. */
function linkTarget(file: string): string {
  return encodeURI(file).replace(/\(/g, "%28").replace(/\)/g, "%29");
}

function summarySection(s: Summary): string[] {
  const out = ["## Summary", ""];
  const { start, end, durationMs } = s.span;
  const service = md(s.incident.service);
  const failing = s.impact.status502 + s.impact.status504;
  let text = "";
  if (start && end) {
    const approx = !start.exact || !end.exact ? "about " : "";
    text += `From ${when(start, s)} to ${when(end, s)} on ${incidentDate(s)}, for ${approx}${aboutDuration(durationMs ?? 0)} (${formatDuration(durationMs ?? 0)}), `;
  } else if (start) text += `From ${when(start, s)} on ${incidentDate(s)}, `;
  text += `${service} answered ${s.impact.measured && s.impact.complete ? "" : "at least "}${failing} request${failing === 1 ? "" : "s"} with 502 or 504.`;
  out.push(text, "");
  const causes = s.causes.length
    ? `The diagnoses found: ${s.causes.map((c) => mdSentence(s, c.title)).join("; ")}.`
    : s.rounds.length
      ? "The diagnoses found no cause."
      : "No diagnosis was made.";
  out.push(causes, "");
  const ended = {
    resolved: "The alert resolved and closed the incident.",
    "resolved by hand": "The incident was resolved by hand.",
    "no resolution received": "No resolution was received: the incident was closed after a quiet period.",
    open: "The incident was still open when this draft was written.",
  }[s.state];
  out.push(ended, "");
  return out;
}

function impactSection(s: Summary): string[] {
  const i = s.impact;
  const out = ["## Impact", ""];
  out.push(`- Failing requests: ${impactWords(s)}.`);
  if (i.peak)
    out.push(
      `- Peak: ${i.peak.status502 + i.peak.status504} in the minute from ${when({ at: i.peak.minute, exact: false }, s)}.`,
    );
  if (s.span.durationMs !== undefined)
    out.push(`- Duration: ${formatDuration(s.span.durationMs)}, ${spanSource(s)}.`);
  if (!i.measured) out.push("- The gateways' access logs were not counted: the figures are a lower bound.");
  else if (!i.complete)
    out.push(
      "- **The counts are incomplete**: a gateway could not be read or a count was cut; the real figures are higher.",
    );
  out.push("");
  if (i.byTarget.length) {
    out.push("| Target | Backend | 502 | 504 |", "|---|---|---:|---:|");
    for (const t of i.byTarget)
      out.push(
        `| ${mdCode(t.target, "table")} | ${t.host ? md(t.host, "table") : "?"} | ${t.status502} | ${t.status504} |`,
      );
    out.push("");
  }
  out.push("**To fill in:** who was affected (users, orders, partners) and how.", "");
  return out;
}

function causeSection(c: RootCause, i: number, s: Summary): string[] {
  const out = [`### ${i + 1}. ${mdSentence(s, c.title)}`, ""];
  const facts = [
    `${mdCode(c.cause)} on ${mdCode(c.target)}`,
    `clients saw ${c.status}`,
    `confidence ${c.confidence}`,
    occurrenceWords(c.occurrences, c.cause),
    seenInWords(c.seenIn, s.rounds.length),
  ].filter((x) => x);
  out.push(`${facts.join(", ")}.`, "");
  if (c.markedWrongBy.length)
    out.push(`Marked wrong in Slack by ${c.markedWrongBy.map(person).join(", ")}: check it first.`, "");
  if (c.markedRightBy.length)
    out.push(`Confirmed in Slack by ${c.markedRightBy.map(person).join(", ")}.`, "");
  out.push(mdSentence(s, c.explanation), "");
  if (c.titles.length > 1) {
    out.push("Each time:", "");
    for (const t of c.titles) out.push(`- ${mdSentence(s, t)}`);
    out.push("");
  }
  if (c.evidence.length) {
    const shown = c.evidence.slice(0, 8);
    out.push("Evidence:", "");
    out.push(
      mdFence(
        shown.map((r) => {
          const at = r.time ? ` (${utcTime({ at: r.time, exact: true })} UTC)` : "";
          return `${oneLine(r.host)} ${oneLine(r.source)}:${r.line}${at}\n  ${clip(r.text.split("\n").slice(0, 6).join("\n  "), 1200)}`;
        }),
      ),
    );
    if (c.evidence.length > shown.length)
      out.push("", `_${c.evidence.length - shown.length} more lines in the summary's JSON._`);
    out.push("");
  }
  return out;
}

function rootCauseSection(s: Summary): string[] {
  const out = ["## Root cause", ""];
  if (!s.causes.length) out.push("The diagnoses found no cause. **To fill in.**", "");
  s.causes.forEach((c, i) => {
    out.push(...causeSection(c, i, s));
  });
  if (s.verdictsChanged) {
    out.push("### The verdicts changed during the incident", "");
    for (const r of s.rounds) {
      const v = r.verdicts.length
        ? r.verdicts.map((x) => `${mdCode(x.cause)} on ${mdCode(x.target)}`).join(", ")
        : md(r.status);
      out.push(
        `${r.n}. ${when({ at: r.at, exact: true }, s)}, asked by ${person(r.requestedBy)}: ${v}${r.changed ? " (changed)" : ""}`,
      );
    }
    out.push("");
  }
  return out;
}

function triggerSection(s: Summary): string[] {
  const out = ["## Trigger", ""];
  const first = s.timeline.find((e) => e.actor === "machine" && DEATHS.includes(e.kind));
  const firstError = s.timeline.find((e) => e.kind === "first_error");
  if (first) {
    const host = first.host ? ` on ${md(first.host)}` : "";
    out.push(
      `The first event in the evidence that set it off: ${md(first.text)}${host} at ${when(first, s)}.`,
    );
  } else if (firstError) {
    out.push(
      `No backend event in the evidence set it off: the failures start with the ${md(firstError.text)} at ${when(firstError, s)}.`,
    );
  } else out.push("The evidence shows no trigger.");
  out.push("", "**To fill in:** what changed before it (a deploy, traffic, configuration, data)?", "");
  return out;
}

function detectionSection(s: Summary): string[] {
  const out = ["## Detection", ""];
  if (s.alert.firstFiringAt) {
    const summary = s.incident.alertSummary ? ` (${md(s.incident.alertSummary)})` : "";
    const delay = detectionWords(s);
    out.push(
      `An alert from ${md(sourceName(s.incident.source))}${summary} reached why502 at ${when({ at: s.alert.firstFiringAt, exact: true }, s)}${delay ? `, ${delay}` : ""}.`,
    );
  } else out.push(`The incident was opened from ${md(sourceName(s.incident.source))}, with no alert.`);
  const first = s.rounds[0];
  const after = diagnosisWords(s);
  if (first)
    out.push(
      "",
      `The first diagnosis was delivered at ${when({ at: first.at, exact: true }, s)}${after ? `, ${after}` : ""}, asked by ${person(first.requestedBy)}; ${s.rounds.length} in all.`,
    );
  out.push("", "**To fill in:** could it have been caught sooner, or by a customer first?", "");
  return out;
}

function resolutionSection(s: Summary): string[] {
  const out = ["## Resolution", ""];
  const lastError = [...s.timeline].reverse().find((e) => e.kind === "last_error");
  if (lastError) out.push(`- The ${md(lastError.text)} at ${when(lastError, s)}.`);
  const lastDeath = [...s.timeline].reverse().find((e) => e.actor === "machine" && DEATHS.includes(e.kind));
  const restarts = s.timeline.filter(
    (e) => e.kind === "restart" && (!lastDeath || between(lastDeath.at, e.at) >= 0),
  );
  for (const r of restarts.slice(-3))
    out.push(`- ${r.host ? `${md(r.host)}: ` : ""}${md(r.text)} at ${when(r, s)}.`);
  const closing = s.timeline.find(
    (e) => e.kind === "alert_resolved" || e.kind === "resolve" || e.kind === "closed",
  );
  if (closing) {
    const by = closing.kind === "resolve" && closing.user ? `${person(closing.user)} ` : "";
    out.push(`- ${by}${md(closing.text)} at ${when(closing, s)}.`);
  }
  const people = s.timeline.filter((e) => e.actor === "person" && e.kind !== "resolve");
  for (const p of people) out.push(`- ${p.user ? `${person(p.user)} ` : ""}${md(p.text)} at ${when(p, s)}.`);
  out.push("", "**To fill in:** what was done to recover, and what decided how long it lasted.", "");
  return out;
}

function timelineSection(s: Summary): string[] {
  const out = ["## Timeline", "", `Times in ${md(zoneLabel(s))}, UTC in brackets.`, ""];
  for (const e of s.timeline) {
    const host = e.host ? ` · ${md(e.host)}` : "";
    const by = e.actor === "person" && e.user ? ` · ${person(e.user)}` : "";
    const asked = e.kind === "diagnosis" && e.user ? ` (asked by ${person(e.user)})` : "";
    out.push(
      `- **${entryTime(e, s.zone, incidentDate(s))}** (${utcTime(e)} UTC)${host}${by} · ${md(e.text)}${asked}`,
    );
    if (e.ref) out.push(`  ${mdCode(clip(oneLine(e.ref.text), 200))}`);
  }
  out.push("");
  return out;
}

function actionSection(s: Summary): string[] {
  const out = ["## Action items", ""];
  for (const f of s.followUps)
    out.push(`- [ ] ${mdSentence(s, f.text)} (for ${f.causes.map((c) => mdCode(c)).join(", ")})`);
  if (s.detectionDelayMs !== undefined && s.detectionDelayMs > DETECTION_SLOW_MS)
    out.push(
      `- [ ] Alert sooner: the first alert came ${formatDuration(s.detectionDelayMs)} after the first failing request.`,
    );
  if (s.impact.measured && !s.impact.complete)
    out.push("- [ ] Make every gateway's access log readable to why502, so the next count is complete.");
  if (s.rounds.some((r) => r.hostsFailed.length))
    out.push("- [ ] Give why502 access to the hosts it could not read (see Notes).");
  out.push("- [ ] **To fill in:** owners and dates.", "");
  return out;
}

/**
 * A blameless postmortem draft in Markdown: what happened, how bad, why, in what order and what to do,
 * with the chart. Every piece of host text is escaped: no HTML, link or image comes from a log line.
 */
export function postmortemMarkdown(s: Summary, opts: PostmortemOptions = {}): string {
  const out: string[] = [];
  out.push(`# Postmortem draft: ${md(s.incident.service)}, ${incidentDate(s)}`, "");
  out.push(
    `_Drafted by why502 from its records of incident ${mdCode(s.incident.id)}. Blameless: it says what the systems did and when, not who erred. Check each statement and fill in the parts marked **To fill in** before sharing._`,
    "",
  );
  out.push(`**${md(s.headline)}**`, "");
  if (opts.chartFile)
    out.push(
      `![Failing requests per minute on ${md(s.incident.service)}](${linkTarget(opts.chartFile)})`,
      "",
    );
  out.push(`Times are ${md(zoneLabel(s))}, with UTC beside them.`, "");
  out.push(...summarySection(s));
  out.push(...impactSection(s));
  out.push(...rootCauseSection(s));
  out.push(...triggerSection(s));
  out.push(...detectionSection(s));
  out.push(...resolutionSection(s));
  out.push(...timelineSection(s));
  out.push(...actionSection(s));
  if (s.notes.length) {
    out.push("## Notes", "");
    for (const n of s.notes) out.push(`- ${md(n)}`);
    out.push("");
  }
  return `${out.join("\n").trimEnd()}\n`;
}
