import { z } from "zod";
import { Prose } from "../diagnosis/prose.js";
import { Diagnosis, EvidenceRef } from "../diagnosis/types.js";

/** How an incident ended. */
export const ClosedReason = z.enum(["resolved", "no resolution received", "resolved by hand"]);
export type ClosedReason = z.infer<typeof ClosedReason>;

function isZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return zone.length > 0;
  } catch {
    return false;
  }
}

/** An IANA zone name (`Europe/Berlin`, `UTC`): the team's, for the times people read. */
export const Zone = z
  .string()
  .refine(isZone, { message: "expected an IANA time zone such as Europe/Berlin or UTC" });

const Iso = z.iso.datetime({ offset: true });

/** One count from the gateways' access logs: requests of one minute, one status, one upstream address. */
export const ImpactCount = z.object({
  /** Start of the UTC minute, on the collector's clock (host stamps corrected for clock skew). */
  minute: Iso,
  status: z.number().int().min(100).max(599),
  /** The upstream address (`$upstream_addr`'s last peer), or `-` when nginx chose none. */
  target: z.string(),
  count: z.number().int().nonnegative(),
});
export type ImpactCount = z.infer<typeof ImpactCount>;

export const SummaryInput = z.object({
  incident: z.object({
    id: z.string(),
    service: z.string(),
    /** ms since the epoch */
    openedAt: z.number(),
    closedAt: z.number().optional(),
    closedReason: ClosedReason.optional(),
    /** alertmanager | grafana | generic | slack */
    source: z.string(),
    /** When the first alert says it started firing. */
    alertStartsAt: Iso.optional(),
    alertSummary: z.string().optional(),
  }),
  zone: Zone,
  impact: z
    .object({
      /** Every status, not only errors: the other statuses give the share of requests that failed. */
      perMinute: z.array(ImpactCount),
      /** false when a gateway could not be read or a count was cut. */
      complete: z.boolean(),
    })
    .optional(),
  /** In the order they were made; `at` is when the diagnosis was delivered. */
  diagnoses: z.array(
    z.object({ runId: z.string(), at: z.number(), requestedBy: z.string(), diagnosis: Diagnosis }),
  ),
  alertEvents: z.array(
    z.object({ at: z.number(), status: z.enum(["firing", "resolved"]), outcome: z.string() }),
  ),
  /** rerun, evidence, feedback_yes, feedback_no, resolve; `runId` says which diagnosis a button was on. */
  actions: z.array(
    z.object({ at: z.number(), user: z.string(), action: z.string(), runId: z.string().optional() }),
  ),
});
export type SummaryInput = z.infer<typeof SummaryInput>;

/** Validate raw input; problems come back with their place (`diagnoses[1].at: expected number`), never thrown. */
export function parseSummaryInput(
  data: unknown,
): { ok: true; input: SummaryInput } | { ok: false; problems: string[] } {
  const r = SummaryInput.safeParse(data);
  if (r.success) return { ok: true, input: r.data };
  return {
    ok: false,
    problems: r.error.issues.map((i) => {
      const path = i.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
      return `${path.replace(/^\./, "") || "input"}: ${i.message}`;
    }),
  };
}

/** A moment and whether it is known to the second (false: only the minute, from per-minute counts). */
export const Instant = z.object({ at: Iso, exact: z.boolean() });
export type Instant = z.infer<typeof Instant>;

export const TimelineKind = z.enum([
  "first_error",
  "oom_kill",
  "crash",
  "segfault",
  "last_words",
  "exit",
  "restart",
  "nginx_reload",
  "event",
  "last_error",
  "alert_firing",
  "diagnosis",
  "rerun",
  "evidence",
  "feedback_yes",
  "feedback_no",
  "resolve",
  "action",
  "alert_resolved",
  "closed",
]);
export type TimelineKind = z.infer<typeof TimelineKind>;

export const TimelineEntry = z.object({
  at: Iso,
  /** The stamp has sub-second digits (entries of one second are in exact order only when all have them). */
  precise: z.boolean(),
  /** false: only the minute is known. */
  exact: z.boolean(),
  kind: TimelineKind,
  actor: z.enum(["machine", "alert", "bot", "person"]),
  /** What happened, in plain words (host names and addresses inside are host text). */
  text: z.string(),
  host: z.string().optional(),
  target: z.string().optional(),
  /** The log line that shows it. */
  ref: EvidenceRef.optional(),
  /** Who did it (Slack user id) or asked for it (`alert:grafana`). */
  user: z.string().optional(),
  runId: z.string().optional(),
  /** How many diagnoses saw this line. */
  seenBy: z.number().int().optional(),
});
export type TimelineEntry = z.infer<typeof TimelineEntry>;

export const RootCause = z.object({
  cause: z.string(),
  target: z.string(),
  /** The backend host behind the target when known, else the target. */
  subject: z.string(),
  /** The latest title; `titles` keeps every distinct one (a pid per OOM kill). */
  title: z.string(),
  titles: z.array(z.string()),
  explanation: z.string(),
  status: z.number(),
  confidence: z.enum(["high", "medium", "low"]),
  /** Separate events of this cause (kills, crashes) the diagnoses saw; a condition (stale address) counts 1. */
  occurrences: z.number().int(),
  /** The diagnoses (1-based, in order) that gave this verdict. */
  seenIn: z.array(z.number().int()),
  /** The last diagnosis gave it too. */
  inLastDiagnosis: z.boolean(),
  evidence: z.array(EvidenceRef),
  nextSteps: z.array(z.string()),
  /** People said a diagnosis with this verdict was wrong / right. */
  markedWrongBy: z.array(z.string()),
  markedRightBy: z.array(z.string()),
});
export type RootCause = z.infer<typeof RootCause>;

/** One diagnosis as the sequence of verdicts reads it. */
export const DiagnosisRound = z.object({
  n: z.number().int(),
  runId: z.string(),
  at: Iso,
  requestedBy: z.string(),
  status: z.enum(["failing", "healthy", "unknown"]),
  summary: z.string(),
  verdicts: z.array(z.object({ target: z.string(), cause: z.string(), title: z.string() })),
  /** Its verdicts differ from the previous diagnosis's (causes per target). */
  changed: z.boolean(),
  hostsFailed: z.array(z.string()),
});
export type DiagnosisRound = z.infer<typeof DiagnosisRound>;

export const MinuteCount = z.object({
  minute: Iso,
  status502: z.number().int(),
  status504: z.number().int(),
  requests: z.number().int(),
});
export type MinuteCount = z.infer<typeof MinuteCount>;

export const Impact = z.object({
  /** Counted from the gateways' access logs (else: the largest count one diagnosis saw, a lower bound). */
  measured: z.boolean(),
  complete: z.boolean(),
  requests: z.number().int().optional(),
  status502: z.number().int(),
  status504: z.number().int(),
  byTarget: z.array(
    z.object({
      target: z.string(),
      host: z.string().optional(),
      status502: z.number().int(),
      status504: z.number().int(),
    }),
  ),
  peak: MinuteCount.optional(),
  /** Minutes with any request, in order. */
  perMinute: z.array(MinuteCount),
});
export type Impact = z.infer<typeof Impact>;

export const Summary = z.object({
  version: z.literal(1),
  incident: z.object({
    id: z.string(),
    service: z.string(),
    source: z.string(),
    openedAt: Iso,
    closedAt: Iso.optional(),
    alertStartsAt: Iso.optional(),
    alertSummary: z.string().optional(),
  }),
  state: z.enum(["resolved", "resolved by hand", "no resolution received", "open"]),
  zone: Zone,
  /** For the parent message: `Resolved after 12m: checkout-1 OOM-killed (3×)`. */
  headline: z.string(),
  /** First to last failing request (502 or 504) the gateways logged. */
  span: z.object({
    start: Instant.optional(),
    end: Instant.optional(),
    durationMs: z.number().optional(),
    from: z.enum(["access log", "diagnoses", "alert", "incident"]),
  }),
  alert: z.object({
    firstFiringAt: Iso.optional(),
    resolvedAt: Iso.optional(),
    firings: z.number().int(),
    intervals: z.array(z.object({ start: Iso, end: Iso.optional() })),
  }),
  /** First failing request to the first alert firing received. */
  detectionDelayMs: z.number().optional(),
  /** Alert firing (or the incident's opening) to the first diagnosis delivered. */
  timeToDiagnosisMs: z.number().optional(),
  impact: Impact,
  causes: z.array(RootCause),
  rounds: z.array(DiagnosisRound),
  verdictsChanged: z.boolean(),
  timeline: z.array(TimelineEntry),
  followUps: z.array(z.object({ text: z.string(), causes: z.array(z.string()) })),
  /** What the reader should know about the data (incomplete counts, hosts that did not answer). */
  notes: z.array(z.string()),
  masked: z.number().int(),
  /** The diagnoses' sentences with code spans (`Diagnosis.prose`): titles, explanations and follow-ups keep theirs. */
  prose: z.array(Prose).optional(),
});
export type Summary = z.infer<typeof Summary>;
