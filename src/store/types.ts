import { z } from "zod";
import type { Alert } from "../alerts/types.js";
import type { Decision, IncidentView } from "../incidents/lifecycle.js";

/** Where a run was asked from. */
export const RunSource = z.enum(["slash", "mention", "button", "cli", "alert"]);
export type RunSource = z.infer<typeof RunSource>;

export const RunState = z.enum(["queued", "running", "done", "failed"]);
export type RunState = z.infer<typeof RunState>;

/** One investigation: the audit log's row and the job a worker claims. */
export const Run = z.object({
  id: z.string(),
  service: z.string(),
  sinceMs: z.number(),
  /** As the person wrote it (`15m`), for messages. */
  windowText: z.string(),
  requestedBy: z.string(),
  source: RunSource,
  channel: z.string().optional(),
  /** The Slack thread the run reports into (the parent message's ts), once known. */
  threadTs: z.string().optional(),
  /** The outbox entry of the parent message the run edits. */
  parentOutboxId: z.string().optional(),
  state: RunState,
  attempts: z.number(),
  createdAt: z.number(),
  startedAt: z.number().optional(),
  finishedAt: z.number().optional(),
  durationMs: z.number().optional(),
  hosts: z.array(z.string()),
  hostsFailed: z.array(z.object({ name: z.string(), code: z.string() })),
  verdicts: z.array(z.object({ target: z.string(), cause: z.string() })),
  status: z.enum(["failing", "healthy", "unknown"]).optional(),
  error: z.string().optional(),
  /** The run this one re-ran (same thread). */
  previousRunId: z.string().optional(),
  /** The incident the run diagnoses, when an alert asked for it. */
  incidentId: z.string().optional(),
  /** `if_changed`: post into the thread only when the verdicts differ from the previous run's (alert re-runs). */
  postPolicy: z.enum(["always", "if_changed"]),
});
export type Run = z.infer<typeof Run>;

export type NewRun = Pick<Run, "id" | "service" | "sinceMs" | "windowText" | "requestedBy" | "source"> &
  Partial<
    Pick<
      Run,
      "channel" | "threadTs" | "parentOutboxId" | "previousRunId" | "hosts" | "incidentId" | "postPolicy"
    >
  >;

export const Incident = z.object({
  id: z.string(),
  service: z.string(),
  channel: z.string().optional(),
  state: z.enum(["open", "resolved", "quiet"]),
  openedAt: z.number(),
  /** When the first alert says it started firing. */
  firstStartsAt: z.string().optional(),
  summary: z.string().optional(),
  source: z.string(),
  resolvedAt: z.number().optional(),
  closedReason: z.string().optional(),
  lastFiringAt: z.number(),
  lastRunAt: z.number().optional(),
  lastRunId: z.string().optional(),
  runCount: z.number(),
  /** A diagnosis is owed (opened, or a firing after the cooldown). */
  pendingRun: z.boolean(),
  /** A message about the incident's end is owed. */
  pendingNotice: z.enum(["resolved", "quiet"]).optional(),
  /** The outbox entry of the incident's parent message: its thread is the incident's thread. */
  parentOutboxId: z.string(),
});
export type Incident = z.infer<typeof Incident>;

export const AlertEvent = z.object({
  seq: z.number(),
  receivedAt: z.number(),
  source: z.string(),
  status: z.string(),
  key: z.string(),
  startsAt: z.string().optional(),
  endsAt: z.string().optional(),
  service: z.string().optional(),
  labels: z.record(z.string(), z.string()),
  summary: z.string().optional(),
  incidentId: z.string().optional(),
  /** What became of it: opened, joined, rerun, resolved, closed, or why it was ignored. */
  outcome: z.string(),
});
export type AlertEvent = z.infer<typeof AlertEvent>;

export interface AlertIntake {
  receivedAt: number;
  alert: Alert;
  /** The inventory service the alert maps to; absent: recorded only. */
  service?: string;
  channel?: string;
  /** The id to give an incident this alert opens. */
  newIncidentId: string;
  cooldownMs: number;
}

export interface RunResult {
  finishedAt: number;
  durationMs: number;
  hostsFailed: Run["hostsFailed"];
  verdicts: Run["verdicts"];
  status: NonNullable<Run["status"]>;
  /** The diagnosis as JSON text, and the masked bundle as gzipped JSON, kept for "Full evidence". */
  diagnosisJson: string;
  bundleGz: Buffer;
}

export const OutboxKind = z.enum([
  "post",
  "update",
  "ephemeral",
  "reaction_add",
  "reaction_remove",
  "upload",
]);
export type OutboxKind = z.infer<typeof OutboxKind>;

/** A Slack call owed: kept until Slack acknowledged it. */
export const OutboxEntry = z.object({
  seq: z.number(),
  id: z.string(),
  runId: z.string().optional(),
  kind: OutboxKind,
  channel: z.string(),
  /** Post into the thread of this (post) entry: its ts is known only once Slack accepted it. */
  parentId: z.string().optional(),
  /** Update or react to the message of this (post) entry. */
  targetId: z.string().optional(),
  payload: z.record(z.string(), z.unknown()),
  /** Pending entries with the same key are merged: the newer payload replaces the older (edits). */
  coalesceKey: z.string().optional(),
  state: z.enum(["pending", "done", "dead"]),
  attempts: z.number(),
  /** An attempt was made whose answer was not recorded: Slack may have the message already. */
  attempted: z.boolean(),
  nextAt: z.number(),
  ts: z.string().optional(),
  error: z.string().optional(),
  createdAt: z.number(),
  doneAt: z.number().optional(),
});
export type OutboxEntry = z.infer<typeof OutboxEntry>;

export type NewOutbox = Pick<OutboxEntry, "id" | "kind" | "channel" | "payload"> &
  Partial<Pick<OutboxEntry, "runId" | "parentId" | "targetId" | "coalesceKey" | "nextAt">>;

export const Feedback = z.object({
  runId: z.string(),
  user: z.string(),
  answer: z.enum(["yes", "no"]),
  /** The verdict causes the answer is about. */
  causes: z.array(z.string()),
  at: z.number(),
});
export type Feedback = z.infer<typeof Feedback>;

export const Action = z.object({
  runId: z.string(),
  user: z.string(),
  action: z.string(),
  at: z.number(),
  detail: z.string().optional(),
});
export type Action = z.infer<typeof Action>;

/**
 * Everything the bot owes someone, as rows before actions: runs (the audit log and the job queue), the
 * outbox of Slack calls, feedback and actions. Async and free of database types, so that a PostgreSQL
 * implementation can stand beside the SQLite one.
 */
export interface Store {
  createRun(run: NewRun, now: number): Promise<Run>;
  getRun(id: string): Promise<Run | undefined>;
  /**
   * Create the run unless a run of the same service is queued or running for the same channel: then that
   * one is returned (`created: false`). Check and create are one transaction, so requests that arrive
   * together start one run.
   */
  createRunIfIdle(run: NewRun, now: number): Promise<{ run: Run; created: boolean }>;
  /** The next queued run, or a running one whose lease ran out (its worker died): leased to `owner`. */
  claimRun(owner: string, now: number, leaseMs: number): Promise<Run | undefined>;
  renewRun(id: string, owner: string, leaseUntil: number): Promise<boolean>;
  finishRun(id: string, result: RunResult): Promise<void>;
  failRun(id: string, error: string, now: number): Promise<void>;
  /** A queued or running run of `service` reporting into `channel`: a second request joins it. */
  activeRun(service: string, channel: string): Promise<Run | undefined>;
  /** The latest run reporting into a thread. */
  runByThread(channel: string, threadTs: string): Promise<Run | undefined>;
  runDiagnosis(id: string): Promise<string | undefined>;
  runBundle(id: string): Promise<string | undefined>;
  recentRuns(limit: number): Promise<Run[]>;

  /**
   * Record a Slack call owed. With a coalesceKey, a pending entry with that key takes the new payload. An id
   * already stored is kept as it is (enqueueing is idempotent: a re-run of the same work owes nothing new).
   */
  enqueue(entry: NewOutbox, now: number): Promise<OutboxEntry>;
  /** Pending entries due by `now` whose parent/target message exists, in order, leased to `owner`. */
  claimOutbox(owner: string, now: number, limit: number, leaseMs: number): Promise<OutboxEntry[]>;
  getOutbox(id: string): Promise<OutboxEntry | undefined>;
  /** Mark that a call is about to be made: if the answer is lost, the next attempt looks first. */
  outboxAttempt(id: string, now: number): Promise<void>;
  outboxDone(id: string, ts: string | undefined, now: number): Promise<void>;
  /** Try again at `nextAt`; a new payload replaces the old one (a smaller message after a refusal). */
  outboxRetry(id: string, nextAt: number, error: string, payload?: Record<string, unknown>): Promise<void>;
  outboxDead(id: string, error: string, now: number): Promise<void>;
  outboxDepth(): Promise<number>;

  /**
   * Record an alert delivery and apply it to its service's incident, in one transaction: `decide` (pure)
   * sees what is stored and says what to do. Every delivery is recorded, whatever the decision.
   */
  applyAlert(
    intake: AlertIntake,
    decide: (view: IncidentView) => Decision,
  ): Promise<{ decision: Decision; incidentId?: string }>;
  getIncident(id: string): Promise<Incident | undefined>;
  openIncident(service: string): Promise<Incident | undefined>;
  /** Incidents owing a diagnosis or an end-of-incident message. */
  incidentsDue(): Promise<Incident[]>;
  /** Queue the incident's next diagnosis run (idempotent by run id) and clear its pending flag. */
  startIncidentRun(incidentId: string, run: NewRun, now: number): Promise<Run>;
  /** Link a run started by a person to the incident whose thread it reports into. */
  linkRunToIncident(runId: string, incidentId: string, now: number): Promise<void>;
  /**
   * Claim the incident's pending end-of-incident message for this replica until `now + leaseMs`: true when it
   * is this replica's to send; false when there is none or another replica's claim is still live (a claim
   * whose replica died runs out, and the next claim takes it).
   */
  claimIncidentNotice(incidentId: string, now: number, leaseMs: number): Promise<boolean>;
  clearIncidentNotice(incidentId: string): Promise<void>;
  /** Close open incidents with no firing for `quietMs` as "no resolution received". */
  closeQuietIncidents(now: number, quietMs: number): Promise<Incident[]>;
  alertEvents(incidentId: string): Promise<AlertEvent[]>;
  /** The incident's runs, oldest first. */
  runsForIncident(incidentId: string): Promise<Run[]>;
  /** Close an open incident by hand (the Resolve button, `summary`): a summary is then owed. */
  closeIncident(incidentId: string, reason: string, now: number): Promise<Incident | undefined>;
  /** Keep the impact counted at the close and the summary made from it (JSON text each). */
  saveIncidentSummary(
    incidentId: string,
    impactJson: string | undefined,
    summaryJson: string,
    now: number,
  ): Promise<void>;
  incidentSummary(incidentId: string): Promise<{ impactJson?: string; summaryJson?: string } | undefined>;
  recentIncidents(limit: number): Promise<Incident[]>;

  recordFeedback(f: Feedback): Promise<void>;
  feedback(runId: string): Promise<Feedback[]>;
  recordAction(a: Action): Promise<void>;
  actions(runId: string): Promise<Action[]>;

  /** Throws when the store cannot be used (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
