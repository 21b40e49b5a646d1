/** Incidents in SQLite once alerts made them (applying an alert: sqlite-alerts.ts; see SqliteStore). */

import type Database from "better-sqlite3";
import { alertEventFrom, incidentFrom, opt, type Row } from "./rows.js";
import { insertRun, runById } from "./sqlite-runs.js";
import type { AlertEvent, Incident, NewRun, Run } from "./types.js";

export async function getIncident(db: Database.Database, id: string): Promise<Incident | undefined> {
  const r = db.prepare("SELECT * FROM incidents WHERE id = ?").get(id) as Row | undefined;
  return r ? incidentFrom(r) : undefined;
}

export async function openIncident(db: Database.Database, service: string): Promise<Incident | undefined> {
  const r = db.prepare("SELECT * FROM incidents WHERE service = ? AND state = 'open'").get(service) as
    | Row
    | undefined;
  return r ? incidentFrom(r) : undefined;
}

export async function incidentsDue(db: Database.Database): Promise<Incident[]> {
  const rows = db
    .prepare("SELECT * FROM incidents WHERE pending_run = 1 OR pending_notice IS NOT NULL ORDER BY opened_at")
    .all() as Row[];
  return rows.map(incidentFrom);
}

export async function startIncidentRun(
  db: Database.Database,
  incidentId: string,
  run: NewRun,
  now: number,
): Promise<Run> {
  db.transaction(() => {
    // Only the caller that queued the run clears the flag: one acting on a stale view keeps a re-run asked for since.
    if (!insertRun(db, { ...run, incidentId }, now)) return;
    db.prepare(
      "UPDATE incidents SET pending_run = 0, last_run_at = ?, last_run_id = ?, run_count = run_count + 1 WHERE id = ? AND pending_run = 1",
    ).run(now, run.id, incidentId);
  })();
  return runById(db, run.id);
}

export async function linkRunToIncident(
  db: Database.Database,
  runId: string,
  incidentId: string,
  now: number,
): Promise<void> {
  db.transaction(() => {
    db.prepare("UPDATE runs SET incident_id = ? WHERE id = ?").run(incidentId, runId);
    db.prepare(
      "UPDATE incidents SET last_run_at = ?, last_run_id = ?, run_count = run_count + 1 WHERE id = ?",
    ).run(now, runId, incidentId);
  })();
}

export async function claimIncidentNotice(
  db: Database.Database,
  incidentId: string,
  now: number,
  leaseMs: number,
): Promise<boolean> {
  return (
    db
      .prepare(
        `UPDATE incidents SET notice_claimed_until = ?
         WHERE id = ? AND pending_notice IS NOT NULL AND (notice_claimed_until IS NULL OR notice_claimed_until <= ?)`,
      )
      .run(now + leaseMs, incidentId, now).changes === 1
  );
}

export async function clearIncidentNotice(db: Database.Database, incidentId: string): Promise<void> {
  db.prepare("UPDATE incidents SET pending_notice = NULL WHERE id = ?").run(incidentId);
}

export async function closeQuietIncidents(
  db: Database.Database,
  now: number,
  quietMs: number,
): Promise<Incident[]> {
  const rows = db
    .prepare(
      `UPDATE incidents SET state = 'quiet', resolved_at = ?, closed_reason = 'no resolution received', pending_notice = 'quiet'
       WHERE state = 'open' AND last_firing_at < ? RETURNING *`,
    )
    .all(now, now - quietMs) as Row[];
  return rows.map(incidentFrom);
}

export async function alertEvents(db: Database.Database, incidentId: string): Promise<AlertEvent[]> {
  const rows = db
    .prepare("SELECT * FROM alert_events WHERE incident_id = ? ORDER BY seq")
    .all(incidentId) as Row[];
  return rows.map(alertEventFrom);
}

export async function closeIncident(
  db: Database.Database,
  incidentId: string,
  reason: string,
  now: number,
): Promise<Incident | undefined> {
  const r = db
    .prepare(
      `UPDATE incidents SET state = 'resolved', resolved_at = ?, closed_reason = ?, pending_notice = 'resolved', pending_run = 0
       WHERE id = ? AND state = 'open' RETURNING *`,
    )
    .get(now, reason, incidentId) as Row | undefined;
  return r ? incidentFrom(r) : undefined;
}

export async function saveIncidentSummary(
  db: Database.Database,
  incidentId: string,
  impactJson: string | undefined,
  summaryJson: string,
  now: number,
): Promise<void> {
  db.prepare("UPDATE incidents SET impact = ?, summary_json = ?, summarized_at = ? WHERE id = ?").run(
    impactJson ?? null,
    summaryJson,
    now,
    incidentId,
  );
}

export async function incidentSummary(
  db: Database.Database,
  incidentId: string,
): Promise<{ impactJson?: string; summaryJson?: string } | undefined> {
  const r = db.prepare("SELECT impact, summary_json FROM incidents WHERE id = ?").get(incidentId) as
    | { impact: string | null; summary_json: string | null }
    | undefined;
  return r ? { impactJson: opt(r.impact), summaryJson: opt(r.summary_json) } : undefined;
}

export async function recentIncidents(db: Database.Database, limit: number): Promise<Incident[]> {
  const rows = db.prepare("SELECT * FROM incidents ORDER BY opened_at DESC LIMIT ?").all(limit) as Row[];
  return rows.map(incidentFrom);
}
