import { gunzipSync, gzipSync } from "node:zlib";
import Database from "better-sqlite3";
import { MIGRATIONS } from "./migrations.js";
import type { Action, Feedback, NewOutbox, NewRun, OutboxEntry, Run, RunResult, Store } from "./types.js";
import { Feedback as FeedbackSchema, OutboxEntry as OutboxSchema, Run as RunSchema } from "./types.js";

type Row = Record<string, unknown>;

const opt = <T>(v: T | null | undefined): T | undefined => (v === null ? undefined : v);

function runFrom(r: Row): Run {
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

function outboxFrom(r: Row): OutboxEntry {
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
    attempted: r.attempted === 1,
    nextAt: r.next_at,
    ts: opt(r.ts),
    error: opt(r.error),
    createdAt: r.created_at,
    doneAt: opt(r.done_at),
  });
}

const RUN_COLUMNS =
  "id, service, since_ms, window_text, requested_by, source, channel, thread_ts, parent_outbox_id, previous_run_id, state, attempts, created_at, started_at, finished_at, duration_ms, hosts, hosts_failed, verdicts, status, error";

/**
 * The embedded store: one SQLite file in WAL mode (better-sqlite3, synchronous under the async interface).
 * One process owns the file: on open, leases left by a previous process are released, so a restart
 * resumes at once what was in flight.
 */
export class SqliteStore implements Store {
  private readonly db: Database.Database;

  private constructor(db: Database.Database) {
    this.db = db;
  }

  static open(path: string): SqliteStore {
    const db = new Database(path, { timeout: 2000 });
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
    const store = new SqliteStore(db);
    store.migrate();
    db.prepare("UPDATE outbox SET lease_owner = NULL, lease_until = NULL WHERE state = 'pending'").run();
    db.prepare("UPDATE runs SET lease_owner = NULL, lease_until = NULL WHERE state = 'running'").run();
    return store;
  }

  /** The schema version this file is at. */
  version(): number {
    return Number(this.db.pragma("user_version", { simple: true }));
  }

  private migrate(): void {
    const current = this.version();
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      this.db.transaction(() => {
        this.db.exec(m.sql);
        this.db.pragma(`user_version = ${m.version}`);
      })();
    }
  }

  async createRun(run: NewRun, now: number): Promise<Run> {
    this.db
      .prepare(
        `INSERT INTO runs (id, service, since_ms, window_text, requested_by, source, channel, thread_ts,
           parent_outbox_id, previous_run_id, state, created_at, hosts)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)`,
      )
      .run(
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
      );
    const created = await this.getRun(run.id);
    if (!created) throw new Error(`run ${run.id} was not stored`);
    return created;
  }

  async getRun(id: string): Promise<Run | undefined> {
    const r = this.db.prepare(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = ?`).get(id) as Row | undefined;
    return r ? runFrom(r) : undefined;
  }

  async claimRun(owner: string, now: number, leaseMs: number): Promise<Run | undefined> {
    const claim = this.db.transaction(() => {
      const r = this.db
        .prepare(
          `SELECT id FROM runs
           WHERE state = 'queued' OR (state = 'running' AND (lease_until IS NULL OR lease_until < ?))
           ORDER BY created_at LIMIT 1`,
        )
        .get(now) as { id: string } | undefined;
      if (!r) return undefined;
      this.db
        .prepare(
          `UPDATE runs SET state = 'running', lease_owner = ?, lease_until = ?, attempts = attempts + 1,
             started_at = COALESCE(started_at, ?) WHERE id = ?`,
        )
        .run(owner, now + leaseMs, now, r.id);
      return r.id;
    });
    const id = claim.immediate();
    return id ? this.getRun(id) : undefined;
  }

  async renewRun(id: string, owner: string, leaseUntil: number): Promise<boolean> {
    const r = this.db
      .prepare("UPDATE runs SET lease_until = ? WHERE id = ? AND lease_owner = ? AND state = 'running'")
      .run(leaseUntil, id, owner);
    return r.changes === 1;
  }

  async finishRun(id: string, result: RunResult): Promise<void> {
    this.db
      .prepare(
        `UPDATE runs SET state = 'done', lease_owner = NULL, lease_until = NULL, finished_at = ?, duration_ms = ?,
           hosts_failed = ?, verdicts = ?, status = ?, diagnosis = ?, bundle = ? WHERE id = ?`,
      )
      .run(
        result.finishedAt,
        result.durationMs,
        JSON.stringify(result.hostsFailed),
        JSON.stringify(result.verdicts),
        result.status,
        result.diagnosisJson,
        gzipSync(result.bundleJson),
        id,
      );
  }

  async failRun(id: string, error: string, now: number): Promise<void> {
    this.db
      .prepare(
        "UPDATE runs SET state = 'failed', lease_owner = NULL, lease_until = NULL, error = ?, finished_at = ? WHERE id = ?",
      )
      .run(error, now, id);
  }

  async activeRun(service: string, channel: string): Promise<Run | undefined> {
    const r = this.db
      .prepare(
        `SELECT ${RUN_COLUMNS} FROM runs WHERE service = ? AND channel = ? AND state IN ('queued', 'running')
         ORDER BY created_at DESC LIMIT 1`,
      )
      .get(service, channel) as Row | undefined;
    return r ? runFrom(r) : undefined;
  }

  async runByThread(channel: string, threadTs: string): Promise<Run | undefined> {
    const r = this.db
      .prepare(
        `SELECT ${RUN_COLUMNS} FROM runs WHERE channel = ? AND thread_ts = ? ORDER BY created_at DESC, rowid DESC LIMIT 1`,
      )
      .get(channel, threadTs) as Row | undefined;
    return r ? runFrom(r) : undefined;
  }

  async runDiagnosis(id: string): Promise<string | undefined> {
    const r = this.db.prepare("SELECT diagnosis FROM runs WHERE id = ?").get(id) as
      | { diagnosis: string | null }
      | undefined;
    return opt(r?.diagnosis);
  }

  async runBundle(id: string): Promise<string | undefined> {
    const r = this.db.prepare("SELECT bundle FROM runs WHERE id = ?").get(id) as
      | { bundle: Buffer | null }
      | undefined;
    return r?.bundle ? gunzipSync(r.bundle).toString("utf8") : undefined;
  }

  async recentRuns(limit: number): Promise<Run[]> {
    const rows = this.db
      .prepare(`SELECT ${RUN_COLUMNS} FROM runs ORDER BY created_at DESC, rowid DESC LIMIT ?`)
      .all(limit) as Row[];
    return rows.map(runFrom);
  }

  async enqueue(e: NewOutbox, now: number): Promise<OutboxEntry> {
    const tx = this.db.transaction((): string => {
      if (e.coalesceKey) {
        const merged = this.db
          .prepare(
            `UPDATE outbox SET payload = ? WHERE coalesce_key = ? AND state = 'pending'
               AND (lease_until IS NULL OR lease_until < ?) RETURNING id`,
          )
          .get(JSON.stringify(e.payload), e.coalesceKey, now) as { id: string } | undefined;
        if (merged) return merged.id;
      }
      this.db
        .prepare(
          `INSERT INTO outbox (id, run_id, kind, channel, parent_id, target_id, payload, coalesce_key, next_at, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
        )
        .run(
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
        );
      return e.id;
    });
    const id = tx.immediate();
    const entry = await this.getOutbox(id);
    if (!entry) throw new Error(`outbox entry ${id} was not stored`);
    return entry;
  }

  async claimOutbox(owner: string, now: number, limit: number, leaseMs: number): Promise<OutboxEntry[]> {
    const tx = this.db.transaction(() => {
      // Due, not leased, its parent/target message already in Slack, and for posts no earlier pending
      // post to the same channel (messages keep their order).
      const rows = this.db
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
      const lease = this.db.prepare("UPDATE outbox SET lease_owner = ?, lease_until = ? WHERE id = ?");
      for (const r of rows) lease.run(owner, now + leaseMs, r.id);
      return rows;
    });
    return tx.immediate().map(outboxFrom);
  }

  async getOutbox(id: string): Promise<OutboxEntry | undefined> {
    const r = this.db.prepare("SELECT * FROM outbox WHERE id = ?").get(id) as Row | undefined;
    return r ? outboxFrom(r) : undefined;
  }

  async outboxAttempt(id: string, _now: number): Promise<void> {
    this.db.prepare("UPDATE outbox SET attempted = 1, attempts = attempts + 1 WHERE id = ?").run(id);
  }

  async outboxDone(id: string, ts: string | undefined, now: number): Promise<void> {
    this.db.transaction(() => {
      this.db
        .prepare(
          "UPDATE outbox SET state = 'done', ts = COALESCE(?, ts), done_at = ?, lease_owner = NULL, lease_until = NULL, error = NULL WHERE id = ?",
        )
        .run(ts ?? null, now, id);
      if (ts) {
        this.db
          .prepare("UPDATE runs SET thread_ts = ? WHERE parent_outbox_id = ? AND thread_ts IS NULL")
          .run(ts, id);
      }
    })();
  }

  async outboxRetry(id: string, nextAt: number, error: string): Promise<void> {
    this.db
      .prepare(
        "UPDATE outbox SET next_at = ?, error = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?",
      )
      .run(nextAt, error, id);
  }

  async outboxDead(id: string, error: string, now: number): Promise<void> {
    const kill = this.db.prepare(
      "UPDATE outbox SET state = 'dead', error = ?, done_at = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?",
    );
    const dependents = this.db.prepare(
      "SELECT id FROM outbox WHERE state = 'pending' AND (parent_id = ? OR target_id = ?)",
    );
    this.db.transaction(() => {
      // What was to go into (or edit) a message that will never exist cannot be sent either.
      const todo = [{ id, error }];
      for (let next = todo.pop(); next; next = todo.pop()) {
        kill.run(next.error, now, next.id);
        for (const d of dependents.all(next.id, next.id) as { id: string }[])
          todo.push({ id: d.id, error: `its message could not be posted: ${error}` });
      }
    })();
  }

  async outboxDepth(): Promise<number> {
    const r = this.db.prepare("SELECT count(*) AS n FROM outbox WHERE state = 'pending'").get() as {
      n: number;
    };
    return r.n;
  }

  async recordFeedback(f: Feedback): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO feedback (run_id, user, answer, causes, at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (run_id, user) DO UPDATE SET answer = excluded.answer, causes = excluded.causes, at = excluded.at`,
      )
      .run(f.runId, f.user, f.answer, JSON.stringify(f.causes), f.at);
  }

  async feedback(runId: string): Promise<Feedback[]> {
    const rows = this.db.prepare("SELECT * FROM feedback WHERE run_id = ? ORDER BY at").all(runId) as Row[];
    return rows.map((r) =>
      FeedbackSchema.parse({
        runId: r.run_id,
        user: r.user,
        answer: r.answer,
        causes: JSON.parse(String(r.causes)),
        at: r.at,
      }),
    );
  }

  async recordAction(a: Action): Promise<void> {
    this.db
      .prepare("INSERT INTO actions (run_id, user, action, at, detail) VALUES (?, ?, ?, ?, ?)")
      .run(a.runId, a.user, a.action, a.at, a.detail ?? null);
  }

  async actions(runId: string): Promise<Action[]> {
    const rows = this.db.prepare("SELECT * FROM actions WHERE run_id = ? ORDER BY seq").all(runId) as Row[];
    return rows.map((r) => ({
      runId: String(r.run_id),
      user: String(r.user),
      action: String(r.action),
      at: Number(r.at),
      detail: opt(r.detail as string | null),
    }));
  }

  async ping(): Promise<void> {
    this.db.prepare("SELECT 1").get();
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
