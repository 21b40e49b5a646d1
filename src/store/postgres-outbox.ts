/** The outbox on PostgreSQL: messages to Slack, claimed under a lease (see PostgresStore). */

import type pg from "pg";
import { outboxInsertValues } from "./params.js";
import { type Db, LOCK, transaction } from "./postgres-db.js";
import { outboxFrom, type Row } from "./rows.js";
import type { NewOutbox, OutboxEntry } from "./types.js";

export async function enqueue(pool: pg.Pool, e: NewOutbox, now: number): Promise<OutboxEntry> {
  const coalesceKey = e.coalesceKey;
  const insert = (db: Db) =>
    db.query(
      `INSERT INTO outbox (id, run_id, kind, channel, parent_id, target_id, payload, coalesce_key, next_at, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING`,
      outboxInsertValues(e, now),
    );
  if (!coalesceKey) {
    await insert(pool);
    return outboxById(pool, e.id);
  }
  return transaction(pool, async (c) => {
    // Two replicas enqueueing edits of one message at once must not both insert.
    await c.query("SELECT pg_advisory_xact_lock($1, hashtext($2))", [LOCK.coalesce, coalesceKey]);
    const merged = await c.query<{ id: string; seq: number }>(
      `UPDATE outbox SET payload = $1 WHERE coalesce_key = $2 AND state = 'pending'
         AND (lease_until IS NULL OR lease_until < $3) RETURNING id, seq`,
      [JSON.stringify(e.payload), coalesceKey, now],
    );
    const first = merged.rows.sort((a, b) => a.seq - b.seq)[0];
    if (first) return outboxById(c, first.id);
    await insert(c);
    return outboxById(c, e.id);
  });
}

/** The stored entry; throws when there is none. */
async function outboxById(db: Db, id: string): Promise<OutboxEntry> {
  const r = await db.query<Row>("SELECT * FROM outbox WHERE id = $1", [id]);
  const row = r.rows[0];
  if (!row) throw new Error(`outbox entry ${id} was not stored`);
  return outboxFrom(row);
}

export async function claimOutbox(
  db: Db,
  owner: string,
  now: number,
  limit: number,
  leaseMs: number,
): Promise<OutboxEntry[]> {
  // Due, not leased, its parent/target message already in Slack, and for posts no earlier pending post to
  // the same channel (messages keep their order), for edits no earlier pending edit of the same message.
  // Rows another replica is claiming right now are skipped, and rechecked against these conditions once
  // that claim commits, so a lease taken meanwhile is seen.
  const r = await db.query<Row>(
    `WITH due AS (
       SELECT o.seq FROM outbox o
       WHERE o.state = 'pending' AND o.next_at <= $1 AND (o.lease_until IS NULL OR o.lease_until < $1)
         AND (o.parent_id IS NULL OR EXISTS (SELECT 1 FROM outbox p WHERE p.id = o.parent_id AND p.state = 'done'))
         AND (o.target_id IS NULL OR EXISTS (SELECT 1 FROM outbox t WHERE t.id = o.target_id AND t.state = 'done'))
         AND NOT (o.kind IN ('post', 'upload') AND EXISTS (SELECT 1 FROM outbox e WHERE e.state = 'pending'
           AND e.seq < o.seq AND e.channel = o.channel AND e.kind IN ('post', 'upload')))
         AND NOT (o.kind = 'update' AND EXISTS (SELECT 1 FROM outbox e WHERE e.state = 'pending'
           AND e.seq < o.seq AND e.kind = 'update' AND e.target_id = o.target_id))
       ORDER BY o.seq LIMIT $2
       FOR UPDATE OF o SKIP LOCKED)
     UPDATE outbox SET lease_owner = $3, lease_until = $4 FROM due WHERE outbox.seq = due.seq
     RETURNING outbox.*`,
    [now, limit, owner, now + leaseMs],
  );
  return r.rows.map(outboxFrom).sort((a, b) => a.seq - b.seq);
}

export async function getOutbox(db: Db, id: string): Promise<OutboxEntry | undefined> {
  const r = await db.query<Row>("SELECT * FROM outbox WHERE id = $1", [id]);
  return r.rows[0] ? outboxFrom(r.rows[0]) : undefined;
}

export async function outboxAttempt(db: Db, id: string, _now: number): Promise<void> {
  await db.query("UPDATE outbox SET attempted = true, attempts = attempts + 1 WHERE id = $1", [id]);
}

export async function outboxDone(
  pool: pg.Pool,
  id: string,
  ts: string | undefined,
  now: number,
): Promise<void> {
  await transaction(pool, async (c) => {
    await c.query(
      "UPDATE outbox SET state = 'done', ts = COALESCE($1, ts), done_at = $2, lease_owner = NULL, lease_until = NULL, error = NULL WHERE id = $3",
      [ts ?? null, now, id],
    );
    if (ts)
      await c.query("UPDATE runs SET thread_ts = $1 WHERE parent_outbox_id = $2 AND thread_ts IS NULL", [
        ts,
        id,
      ]);
  });
}

export async function outboxRetry(
  db: Db,
  id: string,
  nextAt: number,
  error: string,
  payload?: Record<string, unknown>,
): Promise<void> {
  await db.query(
    "UPDATE outbox SET next_at = $1, error = $2, payload = COALESCE($3, payload), lease_owner = NULL, lease_until = NULL WHERE id = $4",
    [nextAt, error, payload ? JSON.stringify(payload) : null, id],
  );
}

export async function outboxDead(pool: pg.Pool, id: string, error: string, now: number): Promise<void> {
  await transaction(pool, async (c) => {
    await c.query(
      "UPDATE outbox SET state = 'dead', error = $1, done_at = $2, lease_owner = NULL, lease_until = NULL WHERE id = $3",
      [error, now, id],
    );
    // What was to go into (or edit) a message that will never exist cannot be sent either.
    await c.query(
      `WITH RECURSIVE doomed (id) AS (
         SELECT o.id FROM outbox o WHERE o.state = 'pending' AND (o.parent_id = $1 OR o.target_id = $1)
         UNION
         SELECT o.id FROM outbox o JOIN doomed d ON o.parent_id = d.id OR o.target_id = d.id
         WHERE o.state = 'pending')
       UPDATE outbox SET state = 'dead', error = $2, done_at = $3, lease_owner = NULL, lease_until = NULL
       FROM doomed WHERE outbox.id = doomed.id`,
      [id, `its message could not be posted: ${error}`, now],
    );
  });
}

export async function outboxDepth(db: Db): Promise<number> {
  const r = await db.query<{ n: number }>("SELECT count(*) AS n FROM outbox WHERE state = 'pending'");
  return r.rows[0]?.n ?? 0;
}
