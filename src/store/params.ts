/**
 * The values both stores bind to the same statements, in the order of the statement's columns (the SQL
 * differs only in its placeholders, `?` in SQLite and `$1` in PostgreSQL). Absent optional values are NULL.
 */

import type { AlertIntake, NewOutbox, NewRun, RunResult } from "./types.js";

/**
 * The runs INSERT's values: id, service, since_ms, window_text, requested_by, source, channel, thread_ts,
 * parent_outbox_id, previous_run_id, created_at, hosts, incident_id, post_policy (state is 'queued' in the SQL).
 */
export function runInsertValues(run: NewRun, now: number): unknown[] {
  return [
    run.id,
    run.service,
    run.sinceMs,
    run.windowText,
    run.requestedBy,
    run.source,
    run.channel ?? null,
    run.threadTs ?? null,
    run.parentOutboxId ?? null,
    run.previousRunId ?? null,
    now,
    JSON.stringify(run.hosts ?? []),
    run.incidentId ?? null,
    run.postPolicy ?? "always",
  ];
}

/**
 * The alert_events INSERT's values for the intake's alert: received_at, source, status, alert_key, starts_at,
 * ends_at, service, labels, summary, incident_id, outcome.
 */
export function alertEventValues(
  intake: AlertIntake,
  incidentId: string | undefined,
  outcome: string,
): unknown[] {
  const a = intake.alert;
  return [
    intake.receivedAt,
    a.source,
    a.status,
    a.key,
    a.startsAt ?? null,
    a.endsAt ?? null,
    intake.service ?? null,
    JSON.stringify(a.labels),
    a.summary ?? null,
    incidentId ?? null,
    outcome,
  ];
}

/**
 * The incidents INSERT's values for the incident the intake's alert opens on `service`: id, service, channel,
 * opened_at, first_starts_at, summary, source, last_firing_at, parent_outbox_id (state and pending_run are in
 * the SQL, each store's own spelling of a flag).
 */
export function incidentOpenValues(intake: AlertIntake, service: string): unknown[] {
  const a = intake.alert;
  const id = intake.newIncidentId;
  const now = intake.receivedAt;
  return [
    id,
    service,
    intake.channel ?? null,
    now,
    a.startsAt ?? null,
    a.summary ?? null,
    a.source,
    now,
    `${id}.parent`,
  ];
}

/**
 * The outbox INSERT's values: id, run_id, kind, channel, parent_id, target_id, payload, coalesce_key,
 * next_at, created_at.
 */
export function outboxInsertValues(e: NewOutbox, now: number): unknown[] {
  return [
    e.id,
    e.runId ?? null,
    e.kind,
    e.channel,
    e.parentId ?? null,
    e.targetId ?? null,
    JSON.stringify(e.payload),
    e.coalesceKey ?? null,
    e.nextAt ?? now,
    now,
  ];
}

/**
 * The finished run's values: finished_at, duration_ms, hosts_failed, verdicts, status, diagnosis, bundle, then the
 * run's id (state 'done' and the lease cleared are in the SQL).
 */
export function runFinishValues(id: string, result: RunResult): unknown[] {
  return [
    result.finishedAt,
    result.durationMs,
    JSON.stringify(result.hostsFailed),
    JSON.stringify(result.verdicts),
    result.status,
    result.diagnosisJson,
    result.bundleGz,
    id,
  ];
}
