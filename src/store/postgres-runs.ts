/** The runs table on PostgreSQL, and the feedback and actions on a run (see PostgresStore). */

import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import type pg from "pg";
import { runFinishValues, runInsertValues } from "./params.js";
import { type Db, lockService, transaction } from "./postgres-db.js";
import { actionFrom, feedbackFrom, type Row, RUN_COLUMNS, runFrom } from "./rows.js";
import type { Action, Feedback, NewRun, Run, RunResult } from "./types.js";

const gunzipAsync = promisify(gunzip);

/** Inserts the run unless its id is stored; says whether it did. */
export async function insertRun(db: Db, run: NewRun, now: number): Promise<boolean> {
  const r = await db.query(
    `INSERT INTO runs (id, service, since_ms, window_text, requested_by, source, channel, thread_ts,
       parent_outbox_id, previous_run_id, state, created_at, hosts, incident_id, post_policy)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'queued', $11, $12, $13, $14) ON CONFLICT (id) DO NOTHING`,
    runInsertValues(run, now),
  );
  return r.rowCount === 1;
}

/** The stored run; throws when there is none. */
export async function runById(db: Db, id: string): Promise<Run> {
  const r = await db.query<Row>(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = $1`, [id]);
  const row = r.rows[0];
  if (!row) throw new Error(`run ${id} was not stored`);
  return runFrom(row);
}

export async function createRunIfIdle(
  pool: pg.Pool,
  run: NewRun,
  now: number,
): Promise<{ run: Run; created: boolean }> {
  return transaction(pool, async (c) => {
    await lockService(c, run.service);
    const active = await c.query<{ id: string }>(
      "SELECT id FROM runs WHERE service = $1 AND channel = $2 AND state IN ('queued', 'running') ORDER BY created_at DESC, seq DESC LIMIT 1",
      [run.service, run.channel ?? null],
    );
    const id = active.rows[0]?.id;
    if (id !== undefined) return { run: await runById(c, id), created: false };
    await insertRun(c, run, now);
    return { run: await runById(c, run.id), created: true };
  });
}

export async function getRun(db: Db, id: string): Promise<Run | undefined> {
  const r = await db.query<Row>(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = $1`, [id]);
  return r.rows[0] ? runFrom(r.rows[0]) : undefined;
}

export async function claimRun(
  db: Db,
  owner: string,
  now: number,
  leaseMs: number,
): Promise<Run | undefined> {
  const r = await db.query<Row>(
    `WITH next AS (
       SELECT id FROM runs
       WHERE state = 'queued' OR (state = 'running' AND (lease_until IS NULL OR lease_until < $2))
       ORDER BY created_at, seq LIMIT 1
       FOR UPDATE SKIP LOCKED)
     UPDATE runs SET state = 'running', lease_owner = $1, lease_until = $3, attempts = attempts + 1,
       started_at = COALESCE(started_at, $2)
     FROM next WHERE runs.id = next.id
     RETURNING ${prefixed("runs", RUN_COLUMNS)}`,
    [owner, now, now + leaseMs],
  );
  return r.rows[0] ? runFrom(r.rows[0]) : undefined;
}

export async function renewRun(db: Db, id: string, owner: string, leaseUntil: number): Promise<boolean> {
  const r = await db.query(
    "UPDATE runs SET lease_until = $1 WHERE id = $2 AND lease_owner = $3 AND state = 'running'",
    [leaseUntil, id, owner],
  );
  return r.rowCount === 1;
}

export async function finishRun(db: Db, id: string, result: RunResult): Promise<void> {
  await db.query(
    `UPDATE runs SET state = 'done', lease_owner = NULL, lease_until = NULL, finished_at = $1, duration_ms = $2,
       hosts_failed = $3, verdicts = $4, status = $5, diagnosis = $6, bundle = $7 WHERE id = $8`,
    runFinishValues(id, result),
  );
}

export async function failRun(db: Db, id: string, error: string, now: number): Promise<void> {
  await db.query(
    "UPDATE runs SET state = 'failed', lease_owner = NULL, lease_until = NULL, error = $1, finished_at = $2 WHERE id = $3",
    [error, now, id],
  );
}

export async function activeRun(db: Db, service: string, channel: string): Promise<Run | undefined> {
  const r = await db.query<Row>(
    `SELECT ${RUN_COLUMNS} FROM runs WHERE service = $1 AND channel = $2 AND state IN ('queued', 'running')
     ORDER BY created_at DESC, seq DESC LIMIT 1`,
    [service, channel],
  );
  return r.rows[0] ? runFrom(r.rows[0]) : undefined;
}

export async function runByThread(db: Db, channel: string, threadTs: string): Promise<Run | undefined> {
  const r = await db.query<Row>(
    `SELECT ${RUN_COLUMNS} FROM runs WHERE channel = $1 AND thread_ts = $2 ORDER BY created_at DESC, seq DESC LIMIT 1`,
    [channel, threadTs],
  );
  return r.rows[0] ? runFrom(r.rows[0]) : undefined;
}

export async function runDiagnosis(db: Db, id: string): Promise<string | undefined> {
  const r = await db.query<{ diagnosis: string | null }>("SELECT diagnosis FROM runs WHERE id = $1", [id]);
  return r.rows[0]?.diagnosis ?? undefined;
}

export async function runBundle(db: Db, id: string): Promise<string | undefined> {
  const r = await db.query<{ bundle: Buffer | null }>("SELECT bundle FROM runs WHERE id = $1", [id]);
  const bundle = r.rows[0]?.bundle;
  return bundle ? (await gunzipAsync(bundle)).toString("utf8") : undefined;
}

export async function recentRuns(db: Db, limit: number): Promise<Run[]> {
  const r = await db.query<Row>(
    `SELECT ${RUN_COLUMNS} FROM runs ORDER BY created_at DESC, seq DESC LIMIT $1`,
    [limit],
  );
  return r.rows.map(runFrom);
}

export async function runsForIncident(db: Db, incidentId: string): Promise<Run[]> {
  const r = await db.query<Row>(
    `SELECT ${RUN_COLUMNS} FROM runs WHERE incident_id = $1 ORDER BY created_at, seq`,
    [incidentId],
  );
  return r.rows.map(runFrom);
}

export async function recordFeedback(db: Db, f: Feedback): Promise<void> {
  await db.query(
    `INSERT INTO feedback (run_id, "user", answer, causes, at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (run_id, "user") DO UPDATE SET answer = excluded.answer, causes = excluded.causes, at = excluded.at`,
    [f.runId, f.user, f.answer, JSON.stringify(f.causes), f.at],
  );
}

export async function feedback(db: Db, runId: string): Promise<Feedback[]> {
  const r = await db.query<Row>("SELECT * FROM feedback WHERE run_id = $1 ORDER BY at", [runId]);
  return r.rows.map(feedbackFrom);
}

export async function recordAction(db: Db, a: Action): Promise<void> {
  await db.query('INSERT INTO actions (run_id, "user", action, at, detail) VALUES ($1, $2, $3, $4, $5)', [
    a.runId,
    a.user,
    a.action,
    a.at,
    a.detail ?? null,
  ]);
}

export async function actions(db: Db, runId: string): Promise<Action[]> {
  const r = await db.query<Row>("SELECT * FROM actions WHERE run_id = $1 ORDER BY seq", [runId]);
  return r.rows.map(actionFrom);
}

function prefixed(table: string, columns: string): string {
  return columns
    .split(", ")
    .map((c) => `${table}.${c}`)
    .join(", ");
}
