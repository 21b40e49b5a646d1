import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import pg from "pg";
import type { Decision, IncidentView } from "../incidents/lifecycle.js";
import { PG_MIGRATIONS } from "./migrations-pg.js";
import { applyAlertIn } from "./postgres-alerts.js";
import {
  actionFrom,
  alertEventFrom,
  type Db,
  feedbackFrom,
  incidentFrom,
  outboxFrom,
  type Row,
  RUN_COLUMNS,
  runFrom,
} from "./postgres-rows.js";
import type {
  Action,
  AlertEvent,
  AlertIntake,
  Feedback,
  Incident,
  NewOutbox,
  NewRun,
  OutboxEntry,
  Run,
  RunResult,
  Store,
} from "./types.js";

const gunzipAsync = promisify(gunzip);

/**
 * Advisory lock classes (the two-key form, so that they cannot meet other single-key locks in a shared
 * database); the second key is hashtext() of the service, coalesce key or a constant.
 */
const LOCK = { migrate: 502_000, service: 502_001, coalesce: 502_002 } as const;

/** BIGINT columns hold milliseconds and sequence numbers: well inside a double's exact integers. */
const TYPES = new pg.TypeOverrides();
TYPES.setTypeParser(pg.types.builtins.INT8, (v: string) => Number(v));

export interface PostgresStoreOptions {
  /** Connections kept at most (default 10). */
  max?: number;
  /** How long opening a connection may take before it fails (default 5000 ms). */
  connectTimeoutMs?: number;
  /** How long ping() waits for `SELECT 1` (default 2000 ms). */
  pingTimeoutMs?: number;
  /**
   * A connection error no call is waiting for: an idle connection lost when the server restarts or a
   * proxy drops it. The pool has already discarded that connection and opens a new one when needed;
   * this is for the log. Default: ignored.
   */
  onError?: (err: Error) => void;
}

/**
 * The store on PostgreSQL, for several replicas sharing one database. Every replica claims runs and
 * outbox entries with `FOR UPDATE SKIP LOCKED` under a lease: an entry leased to a live replica is never
 * taken by another, one whose lease ran out (its replica died) is. Unlike SQLite, opening the store
 * releases no lease, since the other owners may be alive. Checks that decide what to create (one run per
 * service and channel, one open incident per service) hold a per-service advisory lock for their
 * transaction.
 */
export class PostgresStore implements Store {
  private readonly pool: pg.Pool;
  private readonly pingTimeoutMs: number;
  private closed = false;

  private constructor(pool: pg.Pool, pingTimeoutMs: number) {
    this.pool = pool;
    this.pingTimeoutMs = pingTimeoutMs;
  }

  /** Connects (a libpq connection string) and migrates; several replicas opening at once migrate once. */
  static async open(url: string, opts: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const pool = new pg.Pool({
      connectionString: url,
      max: opts.max ?? 10,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000,
      application_name: "why502",
      types: TYPES,
    });
    pool.on("error", (err) => opts.onError?.(err));
    const store = new PostgresStore(pool, opts.pingTimeoutMs ?? 2000);
    try {
      await store.migrate();
    } catch (e) {
      await store.close();
      throw e;
    }
    return store;
  }

  /** The schema version the database is at. */
  async version(): Promise<number> {
    const r = await this.pool.query<{ v: number }>(
      "SELECT coalesce(max(version), 0)::int AS v FROM schema_migrations",
    );
    return r.rows[0]?.v ?? 0;
  }

  private async migrate(): Promise<void> {
    await this.tx(async (c) => {
      await c.query("SELECT pg_advisory_xact_lock($1, hashtext('migrate'))", [LOCK.migrate]);
      await c.query(
        `CREATE TABLE IF NOT EXISTS schema_migrations (
           version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
      );
      const r = await c.query<{ v: number }>(
        "SELECT coalesce(max(version), 0)::int AS v FROM schema_migrations",
      );
      const current = r.rows[0]?.v ?? 0;
      for (const m of PG_MIGRATIONS) {
        if (m.version <= current) continue;
        await c.query(m.sql);
        await c.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [m.version, m.name]);
      }
    });
  }

  /** One transaction on one connection; a connection that broke on the way is discarded, not reused. */
  private async tx<T>(fn: (c: Db) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    let broken: Error | undefined;
    const onError = (err: Error) => {
      broken = err;
    };
    c.on("error", onError);
    try {
      await c.query("BEGIN");
      const out = await fn(c);
      await c.query("COMMIT");
      return out;
    } catch (e) {
      await c.query("ROLLBACK").catch((err: Error) => {
        broken ??= err;
      });
      throw e;
    } finally {
      c.off("error", onError);
      c.release(broken);
    }
  }

  private async lockService(c: Db, service: string): Promise<void> {
    await c.query("SELECT pg_advisory_xact_lock($1, hashtext($2))", [LOCK.service, service]);
  }

  async createRun(run: NewRun, now: number): Promise<Run> {
    await insertRun(this.pool, run, now);
    return this.mustGetRun(this.pool, run.id);
  }

  async createRunIfIdle(run: NewRun, now: number): Promise<{ run: Run; created: boolean }> {
    return this.tx(async (c) => {
      await this.lockService(c, run.service);
      const active = await c.query<{ id: string }>(
        "SELECT id FROM runs WHERE service = $1 AND channel = $2 AND state IN ('queued', 'running') ORDER BY created_at DESC, seq DESC LIMIT 1",
        [run.service, run.channel ?? null],
      );
      const id = active.rows[0]?.id;
      if (id !== undefined) return { run: await this.mustGetRun(c, id), created: false };
      await insertRun(c, run, now);
      return { run: await this.mustGetRun(c, run.id), created: true };
    });
  }

  private async mustGetRun(db: Db, id: string): Promise<Run> {
    const r = await db.query<Row>(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = $1`, [id]);
    const row = r.rows[0];
    if (!row) throw new Error(`run ${id} was not stored`);
    return runFrom(row);
  }

  async getRun(id: string): Promise<Run | undefined> {
    const r = await this.pool.query<Row>(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = $1`, [id]);
    return r.rows[0] ? runFrom(r.rows[0]) : undefined;
  }

  async claimRun(owner: string, now: number, leaseMs: number): Promise<Run | undefined> {
    const r = await this.pool.query<Row>(
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

  async renewRun(id: string, owner: string, leaseUntil: number): Promise<boolean> {
    const r = await this.pool.query(
      "UPDATE runs SET lease_until = $1 WHERE id = $2 AND lease_owner = $3 AND state = 'running'",
      [leaseUntil, id, owner],
    );
    return r.rowCount === 1;
  }

  async finishRun(id: string, result: RunResult): Promise<void> {
    await this.pool.query(
      `UPDATE runs SET state = 'done', lease_owner = NULL, lease_until = NULL, finished_at = $1, duration_ms = $2,
         hosts_failed = $3, verdicts = $4, status = $5, diagnosis = $6, bundle = $7 WHERE id = $8`,
      [
        result.finishedAt,
        result.durationMs,
        JSON.stringify(result.hostsFailed),
        JSON.stringify(result.verdicts),
        result.status,
        result.diagnosisJson,
        result.bundleGz,
        id,
      ],
    );
  }

  async failRun(id: string, error: string, now: number): Promise<void> {
    await this.pool.query(
      "UPDATE runs SET state = 'failed', lease_owner = NULL, lease_until = NULL, error = $1, finished_at = $2 WHERE id = $3",
      [error, now, id],
    );
  }

  async activeRun(service: string, channel: string): Promise<Run | undefined> {
    const r = await this.pool.query<Row>(
      `SELECT ${RUN_COLUMNS} FROM runs WHERE service = $1 AND channel = $2 AND state IN ('queued', 'running')
       ORDER BY created_at DESC, seq DESC LIMIT 1`,
      [service, channel],
    );
    return r.rows[0] ? runFrom(r.rows[0]) : undefined;
  }

  async runByThread(channel: string, threadTs: string): Promise<Run | undefined> {
    const r = await this.pool.query<Row>(
      `SELECT ${RUN_COLUMNS} FROM runs WHERE channel = $1 AND thread_ts = $2 ORDER BY created_at DESC, seq DESC LIMIT 1`,
      [channel, threadTs],
    );
    return r.rows[0] ? runFrom(r.rows[0]) : undefined;
  }

  async runDiagnosis(id: string): Promise<string | undefined> {
    const r = await this.pool.query<{ diagnosis: string | null }>(
      "SELECT diagnosis FROM runs WHERE id = $1",
      [id],
    );
    return r.rows[0]?.diagnosis ?? undefined;
  }

  async runBundle(id: string): Promise<string | undefined> {
    const r = await this.pool.query<{ bundle: Buffer | null }>("SELECT bundle FROM runs WHERE id = $1", [id]);
    const bundle = r.rows[0]?.bundle;
    return bundle ? (await gunzipAsync(bundle)).toString("utf8") : undefined;
  }

  async recentRuns(limit: number): Promise<Run[]> {
    const r = await this.pool.query<Row>(
      `SELECT ${RUN_COLUMNS} FROM runs ORDER BY created_at DESC, seq DESC LIMIT $1`,
      [limit],
    );
    return r.rows.map(runFrom);
  }

  async enqueue(e: NewOutbox, now: number): Promise<OutboxEntry> {
    const coalesceKey = e.coalesceKey;
    const insert = (db: Db) =>
      db.query(
        `INSERT INTO outbox (id, run_id, kind, channel, parent_id, target_id, payload, coalesce_key, next_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING`,
        [
          e.id,
          e.runId ?? null,
          e.kind,
          e.channel,
          e.parentId ?? null,
          e.targetId ?? null,
          JSON.stringify(e.payload),
          coalesceKey ?? null,
          e.nextAt ?? now,
          now,
        ],
      );
    if (!coalesceKey) {
      await insert(this.pool);
      return this.mustGetOutbox(this.pool, e.id);
    }
    return this.tx(async (c) => {
      // Two replicas enqueueing edits of one message at once must not both insert.
      await c.query("SELECT pg_advisory_xact_lock($1, hashtext($2))", [LOCK.coalesce, coalesceKey]);
      const merged = await c.query<{ id: string; seq: number }>(
        `UPDATE outbox SET payload = $1 WHERE coalesce_key = $2 AND state = 'pending'
           AND (lease_until IS NULL OR lease_until < $3) RETURNING id, seq`,
        [JSON.stringify(e.payload), coalesceKey, now],
      );
      const first = merged.rows.sort((a, b) => a.seq - b.seq)[0];
      if (first) return this.mustGetOutbox(c, first.id);
      await insert(c);
      return this.mustGetOutbox(c, e.id);
    });
  }

  private async mustGetOutbox(db: Db, id: string): Promise<OutboxEntry> {
    const r = await db.query<Row>("SELECT * FROM outbox WHERE id = $1", [id]);
    const row = r.rows[0];
    if (!row) throw new Error(`outbox entry ${id} was not stored`);
    return outboxFrom(row);
  }

  async claimOutbox(owner: string, now: number, limit: number, leaseMs: number): Promise<OutboxEntry[]> {
    // Due, not leased, its parent/target message already in Slack, and for posts no earlier pending post to
    // the same channel (messages keep their order), for edits no earlier pending edit of the same message.
    // Rows another replica is claiming right now are skipped, and rechecked against these conditions once
    // that claim commits, so a lease taken meanwhile is seen.
    const r = await this.pool.query<Row>(
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

  async getOutbox(id: string): Promise<OutboxEntry | undefined> {
    const r = await this.pool.query<Row>("SELECT * FROM outbox WHERE id = $1", [id]);
    return r.rows[0] ? outboxFrom(r.rows[0]) : undefined;
  }

  async outboxAttempt(id: string, _now: number): Promise<void> {
    await this.pool.query("UPDATE outbox SET attempted = true, attempts = attempts + 1 WHERE id = $1", [id]);
  }

  async outboxDone(id: string, ts: string | undefined, now: number): Promise<void> {
    await this.tx(async (c) => {
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

  async outboxRetry(
    id: string,
    nextAt: number,
    error: string,
    payload?: Record<string, unknown>,
  ): Promise<void> {
    await this.pool.query(
      "UPDATE outbox SET next_at = $1, error = $2, payload = COALESCE($3, payload), lease_owner = NULL, lease_until = NULL WHERE id = $4",
      [nextAt, error, payload ? JSON.stringify(payload) : null, id],
    );
  }

  async outboxDead(id: string, error: string, now: number): Promise<void> {
    await this.tx(async (c) => {
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

  async outboxDepth(): Promise<number> {
    const r = await this.pool.query<{ n: number }>(
      "SELECT count(*) AS n FROM outbox WHERE state = 'pending'",
    );
    return r.rows[0]?.n ?? 0;
  }

  async applyAlert(
    intake: AlertIntake,
    decide: (view: IncidentView) => Decision,
  ): Promise<{ decision: Decision; incidentId?: string }> {
    return this.tx((c) => applyAlertIn(c, intake, decide, (s) => this.lockService(c, s)));
  }

  async getIncident(id: string): Promise<Incident | undefined> {
    const r = await this.pool.query<Row>("SELECT * FROM incidents WHERE id = $1", [id]);
    return r.rows[0] ? incidentFrom(r.rows[0]) : undefined;
  }

  async openIncident(service: string): Promise<Incident | undefined> {
    const r = await this.pool.query<Row>("SELECT * FROM incidents WHERE service = $1 AND state = 'open'", [
      service,
    ]);
    return r.rows[0] ? incidentFrom(r.rows[0]) : undefined;
  }

  async incidentsDue(): Promise<Incident[]> {
    const r = await this.pool.query<Row>(
      "SELECT * FROM incidents WHERE pending_run OR pending_notice IS NOT NULL ORDER BY opened_at",
    );
    return r.rows.map(incidentFrom);
  }

  async startIncidentRun(incidentId: string, run: NewRun, now: number): Promise<Run> {
    return this.tx(async (c) => {
      // Only the call that queued the run clears the flag: a replica acting on a stale view (the run
      // already queued by another) must not swallow a re-run asked for since.
      if (!(await insertRun(c, { ...run, incidentId }, now))) return this.mustGetRun(c, run.id);
      await c.query(
        "UPDATE incidents SET pending_run = false, last_run_at = $1, last_run_id = $2, run_count = run_count + 1 WHERE id = $3 AND pending_run",
        [now, run.id, incidentId],
      );
      return this.mustGetRun(c, run.id);
    });
  }

  async linkRunToIncident(runId: string, incidentId: string, now: number): Promise<void> {
    await this.tx(async (c) => {
      await c.query("UPDATE runs SET incident_id = $1 WHERE id = $2", [incidentId, runId]);
      await c.query(
        "UPDATE incidents SET last_run_at = $1, last_run_id = $2, run_count = run_count + 1 WHERE id = $3",
        [now, runId, incidentId],
      );
    });
  }

  async clearIncidentNotice(incidentId: string): Promise<void> {
    await this.pool.query("UPDATE incidents SET pending_notice = NULL WHERE id = $1", [incidentId]);
  }

  async closeQuietIncidents(now: number, quietMs: number): Promise<Incident[]> {
    // An alert being applied holds its incident's row (FOR UPDATE): this waits, then sees its firing.
    const r = await this.pool.query<Row>(
      `UPDATE incidents SET state = 'quiet', resolved_at = $1, closed_reason = 'no resolution received', pending_notice = 'quiet'
       WHERE state = 'open' AND last_firing_at < $2 RETURNING *`,
      [now, now - quietMs],
    );
    return r.rows.map(incidentFrom);
  }

  async alertEvents(incidentId: string): Promise<AlertEvent[]> {
    const r = await this.pool.query<Row>("SELECT * FROM alert_events WHERE incident_id = $1 ORDER BY seq", [
      incidentId,
    ]);
    return r.rows.map(alertEventFrom);
  }

  async runsForIncident(incidentId: string): Promise<Run[]> {
    const r = await this.pool.query<Row>(
      `SELECT ${RUN_COLUMNS} FROM runs WHERE incident_id = $1 ORDER BY created_at, seq`,
      [incidentId],
    );
    return r.rows.map(runFrom);
  }

  async closeIncident(incidentId: string, reason: string, now: number): Promise<Incident | undefined> {
    const r = await this.pool.query<Row>(
      `UPDATE incidents SET state = 'resolved', resolved_at = $1, closed_reason = $2, pending_notice = 'resolved', pending_run = false
       WHERE id = $3 AND state = 'open' RETURNING *`,
      [now, reason, incidentId],
    );
    return r.rows[0] ? incidentFrom(r.rows[0]) : undefined;
  }

  async saveIncidentSummary(
    incidentId: string,
    impactJson: string | undefined,
    summaryJson: string,
    now: number,
  ): Promise<void> {
    await this.pool.query(
      "UPDATE incidents SET impact = $1, summary_json = $2, summarized_at = $3 WHERE id = $4",
      [impactJson ?? null, summaryJson, now, incidentId],
    );
  }

  async incidentSummary(
    incidentId: string,
  ): Promise<{ impactJson?: string; summaryJson?: string } | undefined> {
    const r = await this.pool.query<{ impact: string | null; summary_json: string | null }>(
      "SELECT impact, summary_json FROM incidents WHERE id = $1",
      [incidentId],
    );
    const row = r.rows[0];
    return row
      ? { impactJson: row.impact ?? undefined, summaryJson: row.summary_json ?? undefined }
      : undefined;
  }

  async recentIncidents(limit: number): Promise<Incident[]> {
    const r = await this.pool.query<Row>("SELECT * FROM incidents ORDER BY opened_at DESC LIMIT $1", [limit]);
    return r.rows.map(incidentFrom);
  }

  async recordFeedback(f: Feedback): Promise<void> {
    await this.pool.query(
      `INSERT INTO feedback (run_id, "user", answer, causes, at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (run_id, "user") DO UPDATE SET answer = excluded.answer, causes = excluded.causes, at = excluded.at`,
      [f.runId, f.user, f.answer, JSON.stringify(f.causes), f.at],
    );
  }

  async feedback(runId: string): Promise<Feedback[]> {
    const r = await this.pool.query<Row>("SELECT * FROM feedback WHERE run_id = $1 ORDER BY at", [runId]);
    return r.rows.map(feedbackFrom);
  }

  async recordAction(a: Action): Promise<void> {
    await this.pool.query(
      'INSERT INTO actions (run_id, "user", action, at, detail) VALUES ($1, $2, $3, $4, $5)',
      [a.runId, a.user, a.action, a.at, a.detail ?? null],
    );
  }

  async actions(runId: string): Promise<Action[]> {
    const r = await this.pool.query<Row>("SELECT * FROM actions WHERE run_id = $1 ORDER BY seq", [runId]);
    return r.rows.map(actionFrom);
  }

  /** Rejects when PostgreSQL does not answer `SELECT 1` within the ping timeout (readiness). */
  async ping(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`PostgreSQL did not answer within ${this.pingTimeoutMs} ms`)),
        this.pingTimeoutMs,
      );
    });
    const query = this.pool.query("SELECT 1");
    try {
      await Promise.race([query, timeout]);
    } catch (e) {
      query.catch(() => undefined);
      throw new Error(`PostgreSQL is not answering: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

function prefixed(table: string, columns: string): string {
  return columns
    .split(", ")
    .map((c) => `${table}.${c}`)
    .join(", ");
}

/** Inserts the run unless its id is stored; says whether it did. */
async function insertRun(db: Db, run: NewRun, now: number): Promise<boolean> {
  const r = await db.query(
    `INSERT INTO runs (id, service, since_ms, window_text, requested_by, source, channel, thread_ts,
       parent_outbox_id, previous_run_id, state, created_at, hosts, incident_id, post_policy)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'queued', $11, $12, $13, $14) ON CONFLICT (id) DO NOTHING`,
    [
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
    ],
  );
  return r.rowCount === 1;
}
