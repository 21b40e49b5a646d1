import type { Action, AlertEvent, Feedback, Incident, OutboxEntry, Run } from "./types.js";
import {
  Feedback as FeedbackSchema,
  Incident as IncidentSchema,
  OutboxEntry as OutboxSchema,
  Run as RunSchema,
} from "./types.js";

/**
 * Stored rows to the store's objects, for both stores: the two schemas (migrations.ts, migrations-pg.ts) have
 * the same columns. Where their values differ, a flag is 0/1 in SQLite and a BOOLEAN in PostgreSQL (see
 * flag()); times and sequence numbers are numbers in both (PostgreSQL's BIGINT through the pool's type
 * parser, see postgres.ts).
 */
export type Row = Record<string, unknown>;

/** A column's value, NULL as undefined. */
export const opt = <T>(v: T | null | undefined): T | undefined => (v === null ? undefined : v);

/** A flag column: SQLite's INTEGER 0/1 or PostgreSQL's BOOLEAN. */
export const flag = (v: unknown): boolean => v === 1 || v === true;

/** The runs columns a Run is read from (not its diagnosis or bundle). */
export const RUN_COLUMNS =
  "id, service, since_ms, window_text, requested_by, source, channel, thread_ts, parent_outbox_id, previous_run_id, state, attempts, created_at, started_at, finished_at, duration_ms, hosts, hosts_failed, verdicts, status, error, incident_id, post_policy";

export function runFrom(r: Row): Run {
  return RunSchema.parse({
    id: r.id,
    service: r.service,
    sinceMs: r.since_ms,
    windowText: r.window_text,
    requestedBy: r.requested_by,
    source: r.source,
    channel: opt(r.channel),
    threadTs: opt(r.thread_ts),
    parentOutboxId: opt(r.parent_outbox_id),
    previousRunId: opt(r.previous_run_id),
    incidentId: opt(r.incident_id),
    postPolicy: r.post_policy ?? "always",
    state: r.state,
    attempts: r.attempts,
    createdAt: r.created_at,
    startedAt: opt(r.started_at),
    finishedAt: opt(r.finished_at),
    durationMs: opt(r.duration_ms),
    hosts: JSON.parse(String(r.hosts)),
    hostsFailed: JSON.parse(String(r.hosts_failed)),
    verdicts: JSON.parse(String(r.verdicts)),
    status: opt(r.status),
    error: opt(r.error),
  });
}

export function outboxFrom(r: Row): OutboxEntry {
  return OutboxSchema.parse({
    seq: r.seq,
    id: r.id,
    runId: opt(r.run_id),
    kind: r.kind,
    channel: r.channel,
    parentId: opt(r.parent_id),
    targetId: opt(r.target_id),
    payload: JSON.parse(String(r.payload)),
    coalesceKey: opt(r.coalesce_key),
    state: r.state,
    attempts: r.attempts,
    attempted: flag(r.attempted),
    nextAt: r.next_at,
    ts: opt(r.ts),
    error: opt(r.error),
    createdAt: r.created_at,
    doneAt: opt(r.done_at),
  });
}

export function incidentFrom(r: Row): Incident {
  return IncidentSchema.parse({
    id: r.id,
    service: r.service,
    channel: opt(r.channel),
    state: r.state,
    openedAt: r.opened_at,
    firstStartsAt: opt(r.first_starts_at),
    summary: opt(r.summary),
    source: r.source,
    resolvedAt: opt(r.resolved_at),
    closedReason: opt(r.closed_reason),
    lastFiringAt: r.last_firing_at,
    lastRunAt: opt(r.last_run_at),
    lastRunId: opt(r.last_run_id),
    runCount: r.run_count,
    pendingRun: flag(r.pending_run),
    pendingNotice: opt(r.pending_notice),
    parentOutboxId: r.parent_outbox_id,
  });
}

export function alertEventFrom(r: Row): AlertEvent {
  return {
    seq: Number(r.seq),
    receivedAt: Number(r.received_at),
    source: String(r.source),
    status: String(r.status),
    key: String(r.alert_key),
    startsAt: opt(r.starts_at as string | null),
    endsAt: opt(r.ends_at as string | null),
    service: opt(r.service as string | null),
    labels: JSON.parse(String(r.labels)) as Record<string, string>,
    summary: opt(r.summary as string | null),
    incidentId: opt(r.incident_id as string | null),
    outcome: String(r.outcome),
  };
}

export function feedbackFrom(r: Row): Feedback {
  return FeedbackSchema.parse({
    runId: r.run_id,
    user: r.user,
    answer: r.answer,
    causes: JSON.parse(String(r.causes)),
    at: r.at,
  });
}

export function actionFrom(r: Row): Action {
  return {
    runId: String(r.run_id),
    user: String(r.user),
    action: String(r.action),
    at: Number(r.at),
    detail: opt(r.detail as string | null),
  };
}
