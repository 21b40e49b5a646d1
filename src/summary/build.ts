import { buildCauses, buildFollowUps, buildRounds, causesPhrase } from "./causes.js";
import { buildImpact, failingMinutes } from "./impact.js";
import type { Impact, Instant, RootCause, Summary, SummaryInput, TimelineEntry } from "./schema.js";
import { addMinutes, between, formatDuration, iso, ms } from "./time.js";
import { buildTimeline } from "./timeline.js";

export type { Summary, SummaryInput } from "./schema.js";

const HEADLINE_MAX = 150;

function exactErrors(timeline: TimelineEntry[]): number[] {
  return timeline
    .filter((e) => e.actor === "machine" && e.exact && (e.kind === "first_error" || e.kind === "last_error"))
    .map((e) => ms(e.at));
}

/**
 * First to last failing request: from the gateways' per-minute counts, made exact to the second by the
 * diagnoses' first and last nginx errors where those fall in (or before, after) the counted minutes; else from
 * the diagnoses alone; else the alert's own start and end; else the incident's opening and close.
 */
function buildSpan(input: SummaryInput, impact: Impact, timeline: TimelineEntry[], alert: Summary["alert"]) {
  const errs = exactErrors(timeline);
  const firstExact = errs.length ? Math.min(...errs) : undefined;
  const lastExact = errs.length ? Math.max(...errs) : undefined;
  const minutes = failingMinutes(impact);
  let start: Instant | undefined;
  let end: Instant | undefined;
  let from: Summary["span"]["from"];
  if (minutes) {
    from = "access log";
    start =
      firstExact !== undefined && firstExact < addMinutes(minutes.first, 1)
        ? { at: iso(firstExact), exact: true }
        : { at: iso(minutes.first), exact: false };
    end =
      lastExact !== undefined && lastExact >= ms(minutes.last)
        ? { at: iso(lastExact), exact: true }
        : { at: iso(addMinutes(minutes.last, 1)), exact: false };
  } else if (firstExact !== undefined && lastExact !== undefined) {
    from = "diagnoses";
    start = { at: iso(firstExact), exact: true };
    end = { at: iso(lastExact), exact: true };
  } else if (input.incident.alertStartsAt || alert.firstFiringAt) {
    from = "alert";
    start = { at: iso(input.incident.alertStartsAt ?? alert.firstFiringAt ?? 0), exact: true };
    const e =
      alert.resolvedAt ?? (input.incident.closedAt !== undefined ? iso(input.incident.closedAt) : undefined);
    if (e) end = { at: e, exact: true };
  } else {
    from = "incident";
    start = { at: iso(input.incident.openedAt), exact: true };
    if (input.incident.closedAt !== undefined) end = { at: iso(input.incident.closedAt), exact: true };
  }
  return {
    start,
    ...(end ? { end } : {}),
    ...(end ? { durationMs: Math.max(0, between(start.at, end.at)) } : {}),
    from,
  };
}

/** Firing to resolution, from the alert deliveries: an interval ends when the incident's last alert resolved. */
function buildAlert(input: SummaryInput): Summary["alert"] {
  const events = [...input.alertEvents].sort((a, b) => a.at - b.at);
  const intervals: { start: string; end?: string }[] = [];
  let open: { start: string; end?: string } | undefined;
  for (const e of events) {
    if (e.status === "firing" && !open && !e.outcome.startsWith("ignored")) {
      open = { start: iso(e.at) };
      intervals.push(open);
    } else if (e.status === "resolved" && e.outcome === "closed" && open) {
      open.end = iso(e.at);
      open = undefined;
    }
  }
  if (open && input.incident.closedAt !== undefined) open.end = iso(input.incident.closedAt);
  const firing = events.find((e) => e.status === "firing");
  const resolved = events.filter((e) => e.status === "resolved" && e.outcome === "closed").at(-1);
  return {
    ...(firing ? { firstFiringAt: iso(firing.at) } : {}),
    ...(resolved ? { resolvedAt: iso(resolved.at) } : {}),
    firings: events.filter((e) => e.status === "firing").length,
    intervals,
  };
}

/** The diagnoses' sentences with code spans, each once. */
function sentences(input: SummaryInput): Pick<Summary, "prose"> {
  const all = new Map(input.diagnoses.flatMap((d) => d.diagnosis.prose ?? []).map((p) => [p.join(""), p]));
  return all.size > 0 ? { prose: [...all.values()] } : {};
}

function headline(summary: Omit<Summary, "headline">, input: SummaryInput): string {
  const { span } = summary;
  const lasted =
    span.durationMs ??
    (input.incident.closedAt !== undefined
      ? between(input.incident.openedAt, input.incident.closedAt)
      : undefined);
  const approx = span.start?.exact === false || span.end?.exact === false ? "about " : "";
  const d = lasted !== undefined ? `${approx}${formatDuration(lasted)}` : undefined;
  const prefix = {
    resolved: d ? `Resolved after ${d}` : "Resolved",
    "resolved by hand": d ? `Resolved by hand after ${d}` : "Resolved by hand",
    "no resolution received": d
      ? `Closed after ${d}, no resolution received`
      : "Closed, no resolution received",
    open: d ? `Ongoing for ${d}` : "Ongoing",
  }[summary.state];
  const what = summary.causes.length
    ? causesPhrase(summary.causes)
    : input.diagnoses.length === 0
      ? "not diagnosed"
      : input.diagnoses.every((d) => d.diagnosis.status === "healthy")
        ? "no upstream failures found"
        : "no cause found";
  const text = `${prefix}: ${what}`;
  return text.length <= HEADLINE_MAX ? text : `${text.slice(0, HEADLINE_MAX - 1)}…`;
}

function buildNotes(input: SummaryInput, s: Omit<Summary, "headline" | "notes">): string[] {
  const notes: string[] = [];
  if (!s.impact.measured)
    notes.push(
      "The gateways' access logs were not counted: the 502 and 504 figures are the most one diagnosis saw in its window, a lower bound.",
    );
  else if (!s.impact.complete)
    notes.push(
      "The counts are incomplete (a gateway could not be read or a count was cut): the real figures are higher.",
    );
  if (s.span.start?.exact === false || s.span.end?.exact === false)
    notes.push("The first or last failing request is known only to the minute, from the per-minute counts.");
  if (s.detectionDelayMs !== undefined && s.detectionDelayMs < 0)
    notes.push(
      "The alert fired before the first failing request the gateways logged: their logs may not reach back far enough.",
    );
  if (input.diagnoses.length === 0) notes.push("No diagnosis was made during the incident.");
  input.diagnoses.forEach((d, i) => {
    const failed = d.diagnosis.hosts.filter((h) => !h.ok);
    if (failed.length)
      notes.push(
        `Diagnosis ${i + 1} could not read ${failed.map((h) => `${h.name} (${h.failure?.code ?? "failed"})`).join(", ")}.`,
      );
  });
  const corrected = new Map<string, number>();
  for (const d of input.diagnoses)
    for (const h of d.diagnosis.hosts)
      if (h.clockCorrectionMs) corrected.set(`${h.name}|${h.clockCorrectionMs}`, h.clockCorrectionMs);
  for (const [key, ms] of corrected) {
    const name = key.slice(0, key.lastIndexOf("|"));
    notes.push(
      `${name}'s clock was ${formatDuration(ms)} ${ms < 0 ? "ahead" : "behind"}: its times here are corrected, its log lines show its own.`,
    );
  }
  if (s.masked > 0)
    notes.push(`${s.masked} secret${s.masked === 1 ? " was" : "s were"} masked in the evidence.`);
  return notes;
}

/** Everything the end-of-incident message, the chart and the postmortem draft say, from the incident's records. */
export function buildSummary(input: SummaryInput): Summary {
  const impact = buildImpact(input);
  const rounds = buildRounds(input);
  const causes: RootCause[] = buildCauses(input);
  const timeline = buildTimeline(
    input,
    impact,
    rounds.map((r) => r.changed),
  );
  const alert = buildAlert(input);
  const span = buildSpan(input, impact, timeline, alert);
  const { incident } = input;
  const firstDiagnosis = input.diagnoses[0];
  const measuredSpan = span.from === "access log" || span.from === "diagnoses";
  const detectionDelayMs =
    measuredSpan && span.start && alert.firstFiringAt
      ? between(span.start.at, alert.firstFiringAt)
      : undefined;
  const notified = alert.firstFiringAt ? ms(alert.firstFiringAt) : incident.openedAt;
  const base = {
    version: 1 as const,
    incident: {
      id: incident.id,
      service: incident.service,
      source: incident.source,
      openedAt: iso(incident.openedAt),
      ...(incident.closedAt !== undefined ? { closedAt: iso(incident.closedAt) } : {}),
      ...(incident.alertStartsAt ? { alertStartsAt: iso(incident.alertStartsAt) } : {}),
      ...(incident.alertSummary ? { alertSummary: incident.alertSummary } : {}),
    },
    state:
      incident.closedAt === undefined ? ("open" as const) : (incident.closedReason ?? ("resolved" as const)),
    zone: input.zone,
    span,
    alert,
    ...(detectionDelayMs !== undefined ? { detectionDelayMs } : {}),
    ...(firstDiagnosis ? { timeToDiagnosisMs: between(notified, firstDiagnosis.at) } : {}),
    impact,
    causes,
    rounds,
    verdictsChanged: rounds.some((r) => r.changed),
    timeline,
    followUps: buildFollowUps(causes),
    masked: input.diagnoses.reduce((n, d) => n + d.diagnosis.masked, 0),
    ...sentences(input),
  };
  const withNotes = { ...base, notes: buildNotes(input, base) };
  return { ...withNotes, headline: headline(withNotes, input) };
}
