/** The outbox in SQLite: messages to Slack, claimed under a lease (see SqliteStore). */

import type Database from "better-sqlite3";
import { outboxInsertValues } from "./params.js";
import { outboxFrom, type Row } from "./rows.js";
import type { NewOutbox, OutboxEntry } from "./types.js";

export async function enqueue(db: Database.Database, e: NewOutbox, now: number): Promise<OutboxEntry> {
  const tx = db.transaction((): string => {
    if (e.coalesceKey) {
      const merged = db
        .prepare(
          `UPDATE outbox SET payload = ? WHERE coalesce_key = ? AND state = 'pending'
             AND (lease_until IS NULL OR lease_until < ?) RETURNING id`,
        )
        .get(JSON.stringify(e.payload), e.coalesceKey, now) as { id: string } | undefined;
      if (merged) return merged.id;
    }
    db.prepare(
      `INSERT INTO outbox (id, run_id, kind, channel, parent_id, target_id, payload, coalesce_key, next_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    ).run(...outboxInsertValues(e, now));
    return e.id;
  });
  const id = tx.immediate();
  const entry = await getOutbox(db, id);
  if (!entry) throw new Error(`outbox entry ${id} was not stored`);
  return entry;
}

export async function claimOutbox(
  db: Database.Database,
  owner: string,
  now: number,
  limit: number,
  leaseMs: number,
): Promise<OutboxEntry[]> {
  const tx = db.transaction(() => {
    // Due, not leased, its parent/target message already in Slack, and for posts no earlier pending
    // post to the same channel (messages keep their order).
    const rows = db
      .prepare(
        `SELECT o.* FROM outbox o
         WHERE o.state = 'pending' AND o.next_at <= ? AND (o.lease_until IS NULL OR o.lease_until < ?)
           AND (o.parent_id IS NULL OR EXISTS (SELECT 1 FROM outbox p WHERE p.id = o.parent_id AND p.state = 'done'))
           AND (o.target_id IS NULL OR EXISTS (SELECT 1 FROM outbox t WHERE t.id = o.target_id AND t.state = 'done'))
           AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.state = 'pending' AND e.seq < o.seq
             AND e.channel = o.channel AND o.kind IN ('post', 'upload') AND e.kind IN ('post', 'upload'))
           AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.state = 'pending' AND e.seq < o.seq
             AND o.kind = 'update' AND e.kind = 'update' AND e.target_id = o.target_id)
         ORDER BY o.seq LIMIT ?`,
      )
      .all(now, now, limit) as Row[];
    const lease = db.prepare("UPDATE outbox SET lease_owner = ?, lease_until = ? WHERE id = ?");
    for (const r of rows) lease.run(owner, now + leaseMs, r.id);
    return rows;
  });
  return tx.immediate().map(outboxFrom);
}

export async function getOutbox(db: Database.Database, id: string): Promise<OutboxEntry | undefined> {
  const r = db.prepare("SELECT * FROM outbox WHERE id = ?").get(id) as Row | undefined;
  return r ? outboxFrom(r) : undefined;
}

export async function outboxAttempt(db: Database.Database, id: string, _now: number): Promise<void> {
  db.prepare("UPDATE outbox SET attempted = 1, attempts = attempts + 1 WHERE id = ?").run(id);
}

export async function outboxDone(
  db: Database.Database,
  id: string,
  ts: string | undefined,
  now: number,
): Promise<void> {
  db.transaction(() => {
    db.prepare(
      "UPDATE outbox SET state = 'done', ts = COALESCE(?, ts), done_at = ?, lease_owner = NULL, lease_until = NULL, error = NULL WHERE id = ?",
    ).run(ts ?? null, now, id);
    if (ts) {
      db.prepare("UPDATE runs SET thread_ts = ? WHERE parent_outbox_id = ? AND thread_ts IS NULL").run(
        ts,
        id,
      );
    }
  })();
}

export async function outboxRetry(
  db: Database.Database,
  id: string,
  nextAt: number,
  error: string,
  payload?: Record<string, unknown>,
): Promise<void> {
  db.prepare(
    "UPDATE outbox SET next_at = ?, error = ?, payload = COALESCE(?, payload), lease_owner = NULL, lease_until = NULL WHERE id = ?",
  ).run(nextAt, error, payload ? JSON.stringify(payload) : null, id);
}

export async function outboxDead(
  db: Database.Database,
  id: string,
  error: string,
  now: number,
): Promise<void> {
  const kill = db.prepare(
    "UPDATE outbox SET state = 'dead', error = ?, done_at = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?",
  );
  const dependents = db.prepare(
    "SELECT id FROM outbox WHERE state = 'pending' AND (parent_id = ? OR target_id = ?)",
  );
  db.transaction(() => {
    // What was to go into (or edit) a message that will never exist cannot be sent either.
    const todo = [{ id, error }];
    for (let next = todo.pop(); next; next = todo.pop()) {
      kill.run(next.error, now, next.id);
      for (const d of dependents.all(next.id, next.id) as { id: string }[])
        todo.push({ id: d.id, error: `its message could not be posted: ${error}` });
    }
  })();
}

export async function outboxDepth(db: Database.Database): Promise<number> {
  const r = db.prepare("SELECT count(*) AS n FROM outbox WHERE state = 'pending'").get() as {
    n: number;
  };
  return r.n;
}
