import type { Summary, TimelineEntry } from "./schema.js";
import { clock, dateIn, formatDuration, offset } from "./time.js";

const SOURCES: Record<string, string> = {
  alertmanager: "Alertmanager",
  grafana: "Grafana",
  generic: "a webhook",
  slack: "Slack",
};

export function sourceName(source: string): string {
  return SOURCES[source] ?? source;
}

/** A Slack user id (`U0ABC123`). */
export function isSlackUser(who: string): boolean {
  return /^[UW][A-Z0-9]{2,30}$/.test(who);
}

/** `alert:grafana` -> `an alert from Grafana`; anything else is the person's id or name, as given. */
export function requesterWords(who: string): string | undefined {
  const source = /^alert:([a-z]+)$/.exec(who)?.[1];
  return source ? `an alert from ${sourceName(source)}` : undefined;
}

/** `Europe/Berlin (UTC+01:00)`, the offset at the incident's start. */
export function zoneLabel(s: Summary): string {
  const at = s.span.start?.at ?? s.incident.openedAt;
  return s.zone === "UTC" || s.zone === "Etc/UTC" ? "UTC" : `${s.zone} (UTC${offset(at, s.zone)})`;
}

/** The incident's date in the team's zone. */
export function incidentDate(s: Summary): string {
  return dateIn(s.span.start?.at ?? s.incident.openedAt, s.zone);
}

/**
 * The time an entry shows, in the zone: `10:15:53`, `10:15` for a minute known from counts; the date first
 * when it is not the incident's date.
 */
export function entryTime(e: Pick<TimelineEntry, "at" | "exact">, zone: string, date: string): string {
  const t = clock(e.at, zone, e.exact ? "second" : "minute");
  const d = dateIn(e.at, zone);
  return d === date ? t : `${d} ${t}`;
}

export function utcTime(e: Pick<TimelineEntry, "at" | "exact">): string {
  return clock(e.at, "UTC", e.exact ? "second" : "minute");
}

/** `10:15:53 → 10:16:04 (11s)`. */
export function spanWords(s: Summary, zone = s.zone): string | undefined {
  const { start, end, durationMs } = s.span;
  if (!start) return undefined;
  const date = incidentDate(s);
  const a = entryTime(start, zone, date);
  if (!end) return `from ${a}`;
  const approx = !start.exact || !end.exact ? "about " : "";
  return `${a} → ${entryTime(end, zone, date)} (${approx}${formatDuration(durationMs ?? 0)})`;
}

export function spanSource(s: Summary): string {
  return {
    "access log": "first to last failing request the gateways logged",
    diagnoses: "first to last failing request the diagnoses saw",
    alert: "the alert's start to its resolution (no failing request was counted)",
    incident: "the incident's opening to its close (no failing request was counted)",
  }[s.span.from];
}

/** `2s after the first 502`, or before. */
export function detectionWords(s: Summary): string | undefined {
  const d = s.detectionDelayMs;
  if (d === undefined) return undefined;
  return d >= 0
    ? `${formatDuration(d)} after the first failing request`
    : `${formatDuration(d)} before the first failing request`;
}

export function diagnosisWords(s: Summary): string | undefined {
  const d = s.timeToDiagnosisMs;
  if (d === undefined) return undefined;
  return `${formatDuration(Math.max(0, d))} after ${s.alert.firstFiringAt ? "the alert" : "the incident opened"}`;
}

/** `23 × 502, 0 × 504 of 126 requests (18.3%)`. */
export function impactWords(s: Summary): string {
  const i = s.impact;
  const lower = i.measured && i.complete ? "" : "at least ";
  const share =
    i.requests !== undefined && i.requests > 0
      ? ` of ${i.requests} requests (${(((i.status502 + i.status504) / i.requests) * 100).toFixed(1)}%)`
      : "";
  return `${lower}${i.status502} × 502, ${i.status504} × 504${share}`;
}

export function peakWords(s: Summary): string | undefined {
  const p = s.impact.peak;
  if (!p) return undefined;
  const minute = clock(p.minute, s.zone, "minute");
  return `peak ${p.status502 + p.status504} in the minute from ${minute}`;
}

export function seenInWords(seenIn: number[], total: number): string {
  if (total <= 1) return "";
  if (seenIn.length === total) return total === 2 ? "in both diagnoses" : `in all ${total} diagnoses`;
  return `in diagnosis${seenIn.length === 1 ? "" : "es"} ${seenIn.join(", ")} of ${total}`;
}

export function occurrenceWords(n: number, cause: string): string {
  if (n <= 1) return "";
  const unit =
    {
      oom_killed: "kills",
      crashed: "crashes",
      crashed_segfault: "crashes",
      exited_on_purpose: "exits",
      crashed_no_trace: "deaths",
    }[cause] ?? "times";
  return `${n} ${unit}`;
}
