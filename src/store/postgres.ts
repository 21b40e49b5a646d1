import pg from "pg";
import type { Decision, IncidentView } from "../incidents/lifecycle.js";
import { PG_MIGRATIONS } from "./migrations-pg.js";
import { applyAlertIn } from "./postgres-alerts.js";
import { LOCK, lockService, transaction } from "./postgres-db.js";
import * as incidents from "./postgres-incidents.js";
import * as outbox from "./postgres-outbox.js";
import * as runs from "./postgres-runs.js";
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
    await transaction(this.pool, async (c) => {
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

  async createRun(run: NewRun, now: number): Promise<Run> {
    await runs.insertRun(this.pool, run, now);
    return runs.runById(this.pool, run.id);
  }

  async createRunIfIdle(run: NewRun, now: number): Promise<{ run: Run; created: boolean }> {
    return runs.createRunIfIdle(this.pool, run, now);
  }

  async getRun(id: string): Promise<Run | undefined> {
    return runs.getRun(this.pool, id);
  }

  async claimRun(owner: string, now: number, leaseMs: number): Promise<Run | undefined> {
    return runs.claimRun(this.pool, owner, now, leaseMs);
  }

  async renewRun(id: string, owner: string, leaseUntil: number): Promise<boolean> {
    return runs.renewRun(this.pool, id, owner, leaseUntil);
  }

  async finishRun(id: string, result: RunResult): Promise<void> {
    return runs.finishRun(this.pool, id, result);
  }

  async failRun(id: string, error: string, now: number): Promise<void> {
    return runs.failRun(this.pool, id, error, now);
  }

  async activeRun(service: string, channel: string): Promise<Run | undefined> {
    return runs.activeRun(this.pool, service, channel);
  }

  async runByThread(channel: string, threadTs: string): Promise<Run | undefined> {
    return runs.runByThread(this.pool, channel, threadTs);
  }

  async runDiagnosis(id: string): Promise<string | undefined> {
    return runs.runDiagnosis(this.pool, id);
  }

  async runBundle(id: string): Promise<string | undefined> {
    return runs.runBundle(this.pool, id);
  }

  async recentRuns(limit: number): Promise<Run[]> {
    return runs.recentRuns(this.pool, limit);
  }

  async enqueue(e: NewOutbox, now: number): Promise<OutboxEntry> {
    return outbox.enqueue(this.pool, e, now);
  }

  async claimOutbox(owner: string, now: number, limit: number, leaseMs: number): Promise<OutboxEntry[]> {
    return outbox.claimOutbox(this.pool, owner, now, limit, leaseMs);
  }

  async getOutbox(id: string): Promise<OutboxEntry | undefined> {
    return outbox.getOutbox(this.pool, id);
  }

  async outboxAttempt(id: string, _now: number): Promise<void> {
    return outbox.outboxAttempt(this.pool, id, _now);
  }

  async outboxDone(id: string, ts: string | undefined, now: number): Promise<void> {
    return outbox.outboxDone(this.pool, id, ts, now);
  }

  async outboxRetry(
    id: string,
    nextAt: number,
    error: string,
    payload?: Record<string, unknown>,
  ): Promise<void> {
    return outbox.outboxRetry(this.pool, id, nextAt, error, payload);
  }

  async outboxDead(id: string, error: string, now: number): Promise<void> {
    return outbox.outboxDead(this.pool, id, error, now);
  }

  async outboxDepth(): Promise<number> {
    return outbox.outboxDepth(this.pool);
  }

  async applyAlert(
    intake: AlertIntake,
    decide: (view: IncidentView) => Decision,
  ): Promise<{ decision: Decision; incidentId?: string }> {
    return transaction(this.pool, (c) => applyAlertIn(c, intake, decide, (s) => lockService(c, s)));
  }

  async getIncident(id: string): Promise<Incident | undefined> {
    return incidents.getIncident(this.pool, id);
  }

  async openIncident(service: string): Promise<Incident | undefined> {
    return incidents.openIncident(this.pool, service);
  }

  async incidentsDue(): Promise<Incident[]> {
    return incidents.incidentsDue(this.pool);
  }

  async startIncidentRun(incidentId: string, run: NewRun, now: number): Promise<Run> {
    return incidents.startIncidentRun(this.pool, incidentId, run, now);
  }

  async linkRunToIncident(runId: string, incidentId: string, now: number): Promise<void> {
    return incidents.linkRunToIncident(this.pool, runId, incidentId, now);
  }

  async claimIncidentNotice(incidentId: string, now: number, leaseMs: number): Promise<boolean> {
    return incidents.claimIncidentNotice(this.pool, incidentId, now, leaseMs);
  }

  async clearIncidentNotice(incidentId: string): Promise<void> {
    return incidents.clearIncidentNotice(this.pool, incidentId);
  }

  async closeQuietIncidents(now: number, quietMs: number): Promise<Incident[]> {
    return incidents.closeQuietIncidents(this.pool, now, quietMs);
  }

  async alertEvents(incidentId: string): Promise<AlertEvent[]> {
    return incidents.alertEvents(this.pool, incidentId);
  }

  async runsForIncident(incidentId: string): Promise<Run[]> {
    return runs.runsForIncident(this.pool, incidentId);
  }

  async closeIncident(incidentId: string, reason: string, now: number): Promise<Incident | undefined> {
    return incidents.closeIncident(this.pool, incidentId, reason, now);
  }

  async saveIncidentSummary(
    incidentId: string,
    impactJson: string | undefined,
    summaryJson: string,
    now: number,
  ): Promise<void> {
    return incidents.saveIncidentSummary(this.pool, incidentId, impactJson, summaryJson, now);
  }

  async incidentSummary(
    incidentId: string,
  ): Promise<{ impactJson?: string; summaryJson?: string } | undefined> {
    return incidents.incidentSummary(this.pool, incidentId);
  }

  async recentIncidents(limit: number): Promise<Incident[]> {
    return incidents.recentIncidents(this.pool, limit);
  }

  async recordFeedback(f: Feedback): Promise<void> {
    return runs.recordFeedback(this.pool, f);
  }

  async feedback(runId: string): Promise<Feedback[]> {
    return runs.feedback(this.pool, runId);
  }

  async recordAction(a: Action): Promise<void> {
    return runs.recordAction(this.pool, a);
  }

  async actions(runId: string): Promise<Action[]> {
    return runs.actions(this.pool, runId);
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
