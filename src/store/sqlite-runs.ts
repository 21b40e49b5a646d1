/** The runs table in SQLite, and the feedback and actions on a run (see SqliteStore). */

import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import type Database from "better-sqlite3";
import { runFinishValues, runInsertValues } from "./params.js";
import { actionFrom, feedbackFrom, opt, type Row, RUN_COLUMNS, runFrom } from "./rows.js";
import type { Action, Feedback, NewRun, Run, RunResult } from "./types.js";

const gunzipAsync = promisify(gunzip);

/** Insert the run unless its id exists; true when it was inserted. */
export function insertRun(db: Database.Database, run: NewRun, now: number): boolean {
  return (
    db
      .prepare(
        `INSERT INTO runs (id, service, since_ms, window_text, requested_by, source, channel, thread_ts,
         parent_outbox_id, previous_run_id, state, created_at, hosts, incident_id, post_policy)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
      )
      .run(...runInsertValues(run, now)).changes === 1
  );
}

/** The stored run; throws when there is none. */
export async function runById(db: Database.Database, id: string): Promise<Run> {
  const stored = await getRun(db, id);
  if (!stored) throw new Error(`run ${id} was not stored`);
  return stored;
}

export async function createRun(db: Database.Database, run: NewRun, now: number): Promise<Run> {
  insertRun(db, run, now);
  return runById(db, run.id);
}

export async function createRunIfIdle(
  db: Database.Database,
  run: NewRun,
  now: number,
): Promise<{ run: Run; created: boolean }> {
  const tx = db.transaction((): { id: string; created: boolean } => {
    const active = db
      .prepare(
        "SELECT id FROM runs WHERE service = ? AND channel = ? AND state IN ('queued', 'running') ORDER BY created_at DESC LIMIT 1",
      )
      .get(run.service, run.channel ?? null) as { id: string } | undefined;
    if (active) return { id: active.id, created: false };
    insertRun(db, run, now);
    return { id: run.id, created: true };
  });
  const r = tx.immediate();
  return { run: await runById(db, r.id), created: r.created };
}

export async function getRun(db: Database.Database, id: string): Promise<Run | undefined> {
  const r = db.prepare(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = ?`).get(id) as Row | undefined;
  return r ? runFrom(r) : undefined;
}

export async function claimRun(
  db: Database.Database,
  owner: string,
  now: number,
  leaseMs: number,
): Promise<Run | undefined> {
  const claim = db.transaction(() => {
    const r = db
      .prepare(
        `SELECT id FROM runs
         WHERE state = 'queued' OR (state = 'running' AND (lease_until IS NULL OR lease_until < ?))
         ORDER BY created_at LIMIT 1`,
      )
      .get(now) as { id: string } | undefined;
    if (!r) return undefined;
    db.prepare(
      `UPDATE runs SET state = 'running', lease_owner = ?, lease_until = ?, attempts = attempts + 1,
           started_at = COALESCE(started_at, ?) WHERE id = ?`,
    ).run(owner, now + leaseMs, now, r.id);
    return r.id;
  });
  const id = claim.immediate();
  return id ? getRun(db, id) : undefined;
}

export async function renewRun(
  db: Database.Database,
  id: string,
  owner: string,
  leaseUntil: number,
): Promise<boolean> {
  const r = db
    .prepare("UPDATE runs SET lease_until = ? WHERE id = ? AND lease_owner = ? AND state = 'running'")
    .run(leaseUntil, id, owner);
  return r.changes === 1;
}

export async function finishRun(db: Database.Database, id: string, result: RunResult): Promise<void> {
  db.prepare(
    `UPDATE runs SET state = 'done', lease_owner = NULL, lease_until = NULL, finished_at = ?, duration_ms = ?,
         hosts_failed = ?, verdicts = ?, status = ?, diagnosis = ?, bundle = ? WHERE id = ?`,
  ).run(...runFinishValues(id, result));
}

export async function failRun(db: Database.Database, id: string, error: string, now: number): Promise<void> {
  db.prepare(
    "UPDATE runs SET state = 'failed', lease_owner = NULL, lease_until = NULL, error = ?, finished_at = ? WHERE id = ?",
  ).run(error, now, id);
}

export async function activeRun(
  db: Database.Database,
  service: string,
  channel: string,
): Promise<Run | undefined> {
  const r = db
    .prepare(
      `SELECT ${RUN_COLUMNS} FROM runs WHERE service = ? AND channel = ? AND state IN ('queued', 'running')
       ORDER BY created_at DESC LIMIT 1`,
    )
    .get(service, channel) as Row | undefined;
  return r ? runFrom(r) : undefined;
}

export async function runByThread(
  db: Database.Database,
  channel: string,
  threadTs: string,
): Promise<Run | undefined> {
  const r = db
    .prepare(
      `SELECT ${RUN_COLUMNS} FROM runs WHERE channel = ? AND thread_ts = ? ORDER BY created_at DESC, rowid DESC LIMIT 1`,
    )
    .get(channel, threadTs) as Row | undefined;
  return r ? runFrom(r) : undefined;
}

export async function runDiagnosis(db: Database.Database, id: string): Promise<string | undefined> {
  const r = db.prepare("SELECT diagnosis FROM runs WHERE id = ?").get(id) as
    | { diagnosis: string | null }
    | undefined;
  return opt(r?.diagnosis);
}

export async function runBundle(db: Database.Database, id: string): Promise<string | undefined> {
  const r = db.prepare("SELECT bundle FROM runs WHERE id = ?").get(id) as
    | { bundle: Buffer | null }
    | undefined;
  return r?.bundle ? (await gunzipAsync(r.bundle)).toString("utf8") : undefined;
}

export async function recentRuns(db: Database.Database, limit: number): Promise<Run[]> {
  const rows = db
    .prepare(`SELECT ${RUN_COLUMNS} FROM runs ORDER BY created_at DESC, rowid DESC LIMIT ?`)
    .all(limit) as Row[];
  return rows.map(runFrom);
}

export async function runsForIncident(db: Database.Database, incidentId: string): Promise<Run[]> {
  const rows = db
    .prepare(`SELECT ${RUN_COLUMNS} FROM runs WHERE incident_id = ? ORDER BY created_at, rowid`)
    .all(incidentId) as Row[];
  return rows.map(runFrom);
}

export async function recordFeedback(db: Database.Database, f: Feedback): Promise<void> {
  db.prepare(
    `INSERT INTO feedback (run_id, user, answer, causes, at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (run_id, user) DO UPDATE SET answer = excluded.answer, causes = excluded.causes, at = excluded.at`,
  ).run(f.runId, f.user, f.answer, JSON.stringify(f.causes), f.at);
}

export async function feedback(db: Database.Database, runId: string): Promise<Feedback[]> {
  const rows = db.prepare("SELECT * FROM feedback WHERE run_id = ? ORDER BY at").all(runId) as Row[];
  return rows.map(feedbackFrom);
}

export async function recordAction(db: Database.Database, a: Action): Promise<void> {
  db.prepare("INSERT INTO actions (run_id, user, action, at, detail) VALUES (?, ?, ?, ?, ?)").run(
    a.runId,
    a.user,
    a.action,
    a.at,
    a.detail ?? null,
  );
}

export async function actions(db: Database.Database, runId: string): Promise<Action[]> {
  const rows = db.prepare("SELECT * FROM actions WHERE run_id = ? ORDER BY seq").all(runId) as Row[];
  return rows.map(actionFrom);
}
