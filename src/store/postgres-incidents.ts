/** Incidents on PostgreSQL once alerts made them (applying an alert: postgres-alerts.ts; see PostgresStore). */

import type pg from "pg";
import { type Db, transaction } from "./postgres-db.js";
import { insertRun, runById } from "./postgres-runs.js";
import { alertEventFrom, incidentFrom, type Row } from "./rows.js";
import type { AlertEvent, Incident, NewRun, Run } from "./types.js";

export async function getIncident(db: Db, id: string): Promise<Incident | undefined> {
  const r = await db.query<Row>("SELECT * FROM incidents WHERE id = $1", [id]);
  return r.rows[0] ? incidentFrom(r.rows[0]) : undefined;
}

export async function openIncident(db: Db, service: string): Promise<Incident | undefined> {
  const r = await db.query<Row>("SELECT * FROM incidents WHERE service = $1 AND state = 'open'", [service]);
  return r.rows[0] ? incidentFrom(r.rows[0]) : undefined;
}

export async function incidentsDue(db: Db): Promise<Incident[]> {
  const r = await db.query<Row>(
    "SELECT * FROM incidents WHERE pending_run OR pending_notice IS NOT NULL ORDER BY opened_at",
  );
  return r.rows.map(incidentFrom);
}

export async function startIncidentRun(
  pool: pg.Pool,
  incidentId: string,
  run: NewRun,
  now: number,
): Promise<Run> {
  return transaction(pool, async (c) => {
    // Only the call that queued the run clears the flag: a replica acting on a stale view (the run
    // already queued by another) must not swallow a re-run asked for since.
    if (!(await insertRun(c, { ...run, incidentId }, now))) return runById(c, run.id);
    await c.query(
      "UPDATE incidents SET pending_run = false, last_run_at = $1, last_run_id = $2, run_count = run_count + 1 WHERE id = $3 AND pending_run",
      [now, run.id, incidentId],
    );
    return runById(c, run.id);
  });
}

export async function linkRunToIncident(
  pool: pg.Pool,
  runId: string,
  incidentId: string,
  now: number,
): Promise<void> {
  await transaction(pool, async (c) => {
    await c.query("UPDATE runs SET incident_id = $1 WHERE id = $2", [incidentId, runId]);
    await c.query(
      "UPDATE incidents SET last_run_at = $1, last_run_id = $2, run_count = run_count + 1 WHERE id = $3",
      [now, runId, incidentId],
    );
  });
}

export async function claimIncidentNotice(
  db: Db,
  incidentId: string,
  now: number,
  leaseMs: number,
): Promise<boolean> {
  const r = await db.query(
    `UPDATE incidents SET notice_claimed_until = $1
     WHERE id = $2 AND pending_notice IS NOT NULL AND (notice_claimed_until IS NULL OR notice_claimed_until <= $3)`,
    [now + leaseMs, incidentId, now],
  );
  return r.rowCount === 1;
}

export async function clearIncidentNotice(db: Db, incidentId: string): Promise<void> {
  await db.query("UPDATE incidents SET pending_notice = NULL WHERE id = $1", [incidentId]);
}

export async function closeQuietIncidents(db: Db, now: number, quietMs: number): Promise<Incident[]> {
  // An alert being applied holds its incident's row (FOR UPDATE): this waits, then sees its firing.
  const r = await db.query<Row>(
    `UPDATE incidents SET state = 'quiet', resolved_at = $1, closed_reason = 'no resolution received', pending_notice = 'quiet'
     WHERE state = 'open' AND last_firing_at < $2 RETURNING *`,
    [now, now - quietMs],
  );
  return r.rows.map(incidentFrom);
}

export async function alertEvents(db: Db, incidentId: string): Promise<AlertEvent[]> {
  const r = await db.query<Row>("SELECT * FROM alert_events WHERE incident_id = $1 ORDER BY seq", [
    incidentId,
  ]);
  return r.rows.map(alertEventFrom);
}

export async function closeIncident(
  db: Db,
  incidentId: string,
  reason: string,
  now: number,
): Promise<Incident | undefined> {
  const r = await db.query<Row>(
    `UPDATE incidents SET state = 'resolved', resolved_at = $1, closed_reason = $2, pending_notice = 'resolved', pending_run = false
     WHERE id = $3 AND state = 'open' RETURNING *`,
    [now, reason, incidentId],
  );
  return r.rows[0] ? incidentFrom(r.rows[0]) : undefined;
}

export async function saveIncidentSummary(
  db: Db,
  incidentId: string,
  impactJson: string | undefined,
  summaryJson: string,
  now: number,
): Promise<void> {
  await db.query("UPDATE incidents SET impact = $1, summary_json = $2, summarized_at = $3 WHERE id = $4", [
    impactJson ?? null,
    summaryJson,
    now,
    incidentId,
  ]);
}

export async function incidentSummary(
  db: Db,
  incidentId: string,
): Promise<{ impactJson?: string; summaryJson?: string } | undefined> {
  const r = await db.query<{ impact: string | null; summary_json: string | null }>(
    "SELECT impact, summary_json FROM incidents WHERE id = $1",
    [incidentId],
  );
  const row = r.rows[0];
  return row
    ? { impactJson: row.impact ?? undefined, summaryJson: row.summary_json ?? undefined }
    : undefined;
}

export async function recentIncidents(db: Db, limit: number): Promise<Incident[]> {
  const r = await db.query<Row>("SELECT * FROM incidents ORDER BY opened_at DESC LIMIT $1", [limit]);
  return r.rows.map(incidentFrom);
}
