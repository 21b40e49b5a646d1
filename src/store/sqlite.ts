import { hostname } from "node:os";
import Database from "better-sqlite3";
import { UserError } from "../errors.js";
import type { Decision, IncidentView } from "../incidents/lifecycle.js";
import { MIGRATIONS } from "./migrations.js";
import { applyAlertIn } from "./sqlite-alerts.js";
import { WriteGuard } from "./sqlite-guard.js";
import * as incidents from "./sqlite-incidents.js";
import * as outbox from "./sqlite-outbox.js";
import * as runs from "./sqlite-runs.js";
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

/** How long a write waits for a lock another process holds, on the event loop (see WriteGuard). */
const BUSY_TIMEOUT_MS = 500;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The embedded store: one SQLite file in WAL mode (better-sqlite3, synchronous under the async interface).
 * One process owns the file: on open, leases left by a previous process are released, so a restart
 * resumes at once what was in flight.
 */
export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly guard: WriteGuard;

  private constructor(db: Database.Database, path: string) {
    this.guard = new WriteGuard(path, BUSY_TIMEOUT_MS);
    this.db = this.guard.wrap(db);
  }

  /**
   * With `owner`, this process takes the file for itself: SQLite is one replica's store, so a second live
   * `serve` on the same file is refused (a dead one's claim, after kill -9, is taken over).
   */
  static open(path: string, opts: { owner?: { pid: number } } = {}): SqliteStore {
    const db = new Database(path, { timeout: BUSY_TIMEOUT_MS });
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
    const store = new SqliteStore(db, path);
    store.migrate();
    if (opts.owner) store.takeOwnership(path, opts.owner.pid);
    db.prepare("UPDATE outbox SET lease_owner = NULL, lease_until = NULL WHERE state = 'pending'").run();
    db.prepare("UPDATE runs SET lease_owner = NULL, lease_until = NULL WHERE state = 'running'").run();
    return store;
  }

  private takeOwnership(path: string, pid: number): void {
    const host = hostname();
    const taken = this.db
      .transaction((): { pid: number; host: string } | undefined => {
        this.db.exec(
          "CREATE TABLE IF NOT EXISTS owner (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL, host TEXT NOT NULL, since INTEGER NOT NULL)",
        );
        const o = this.db.prepare("SELECT pid, host FROM owner WHERE id = 1").get() as
          | { pid: number; host: string }
          | undefined;
        if (o && o.pid !== pid && (o.host !== host || alive(o.pid))) return o;
        this.db
          .prepare(
            "INSERT INTO owner (id, pid, host, since) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET pid = excluded.pid, host = excluded.host, since = excluded.since",
          )
          .run(pid, host, Date.now());
        return undefined;
      })
      .immediate();
    if (taken) {
      this.db.close();
      throw new UserError(
        "bad_input",
        `The store ${path} is in use by another why502 serve (pid ${taken.pid} on ${taken.host}): SQLite serves one replica; for several, use PostgreSQL (store: { postgres: { url_env: DATABASE_URL } }).`,
      );
    }
    this.ownerPid = pid;
  }

  private ownerPid: number | undefined;

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
    return runs.createRun(this.db, run, now);
  }

  async createRunIfIdle(run: NewRun, now: number): Promise<{ run: Run; created: boolean }> {
    return runs.createRunIfIdle(this.db, run, now);
  }

  async getRun(id: string): Promise<Run | undefined> {
    return runs.getRun(this.db, id);
  }

  async claimRun(owner: string, now: number, leaseMs: number): Promise<Run | undefined> {
    return runs.claimRun(this.db, owner, now, leaseMs);
  }

  async renewRun(id: string, owner: string, leaseUntil: number): Promise<boolean> {
    return runs.renewRun(this.db, id, owner, leaseUntil);
  }

  async finishRun(id: string, result: RunResult): Promise<void> {
    return runs.finishRun(this.db, id, result);
  }

  async failRun(id: string, error: string, now: number): Promise<void> {
    return runs.failRun(this.db, id, error, now);
  }

  async activeRun(service: string, channel: string): Promise<Run | undefined> {
    return runs.activeRun(this.db, service, channel);
  }

  async runByThread(channel: string, threadTs: string): Promise<Run | undefined> {
    return runs.runByThread(this.db, channel, threadTs);
  }

  async runDiagnosis(id: string): Promise<string | undefined> {
    return runs.runDiagnosis(this.db, id);
  }

  async runBundle(id: string): Promise<string | undefined> {
    return runs.runBundle(this.db, id);
  }

  async recentRuns(limit: number): Promise<Run[]> {
    return runs.recentRuns(this.db, limit);
  }

  async enqueue(e: NewOutbox, now: number): Promise<OutboxEntry> {
    return outbox.enqueue(this.db, e, now);
  }

  async claimOutbox(owner: string, now: number, limit: number, leaseMs: number): Promise<OutboxEntry[]> {
    return outbox.claimOutbox(this.db, owner, now, limit, leaseMs);
  }

  async getOutbox(id: string): Promise<OutboxEntry | undefined> {
    return outbox.getOutbox(this.db, id);
  }

  async outboxAttempt(id: string, _now: number): Promise<void> {
    return outbox.outboxAttempt(this.db, id, _now);
  }

  async outboxDone(id: string, ts: string | undefined, now: number): Promise<void> {
    return outbox.outboxDone(this.db, id, ts, now);
  }

  async outboxRetry(
    id: string,
    nextAt: number,
    error: string,
    payload?: Record<string, unknown>,
  ): Promise<void> {
    return outbox.outboxRetry(this.db, id, nextAt, error, payload);
  }

  async outboxDead(id: string, error: string, now: number): Promise<void> {
    return outbox.outboxDead(this.db, id, error, now);
  }

  async outboxDepth(): Promise<number> {
    return outbox.outboxDepth(this.db);
  }

  async applyAlert(
    intake: AlertIntake,
    decide: (view: IncidentView) => Decision,
  ): Promise<{ decision: Decision; incidentId?: string }> {
    return applyAlertIn(this.db, intake, decide);
  }

  async getIncident(id: string): Promise<Incident | undefined> {
    return incidents.getIncident(this.db, id);
  }

  async openIncident(service: string): Promise<Incident | undefined> {
    return incidents.openIncident(this.db, service);
  }

  async incidentsDue(): Promise<Incident[]> {
    return incidents.incidentsDue(this.db);
  }

  async startIncidentRun(incidentId: string, run: NewRun, now: number): Promise<Run> {
    return incidents.startIncidentRun(this.db, incidentId, run, now);
  }

  async linkRunToIncident(runId: string, incidentId: string, now: number): Promise<void> {
    return incidents.linkRunToIncident(this.db, runId, incidentId, now);
  }

  async claimIncidentNotice(incidentId: string, now: number, leaseMs: number): Promise<boolean> {
    return incidents.claimIncidentNotice(this.db, incidentId, now, leaseMs);
  }

  async clearIncidentNotice(incidentId: string): Promise<void> {
    return incidents.clearIncidentNotice(this.db, incidentId);
  }

  async closeQuietIncidents(now: number, quietMs: number): Promise<Incident[]> {
    return incidents.closeQuietIncidents(this.db, now, quietMs);
  }

  async alertEvents(incidentId: string): Promise<AlertEvent[]> {
    return incidents.alertEvents(this.db, incidentId);
  }

  async runsForIncident(incidentId: string): Promise<Run[]> {
    return runs.runsForIncident(this.db, incidentId);
  }

  async closeIncident(incidentId: string, reason: string, now: number): Promise<Incident | undefined> {
    return incidents.closeIncident(this.db, incidentId, reason, now);
  }

  async saveIncidentSummary(
    incidentId: string,
    impactJson: string | undefined,
    summaryJson: string,
    now: number,
  ): Promise<void> {
    return incidents.saveIncidentSummary(this.db, incidentId, impactJson, summaryJson, now);
  }

  async incidentSummary(
    incidentId: string,
  ): Promise<{ impactJson?: string; summaryJson?: string } | undefined> {
    return incidents.incidentSummary(this.db, incidentId);
  }

  async recentIncidents(limit: number): Promise<Incident[]> {
    return incidents.recentIncidents(this.db, limit);
  }

  async recordFeedback(f: Feedback): Promise<void> {
    return runs.recordFeedback(this.db, f);
  }

  async feedback(runId: string): Promise<Feedback[]> {
    return runs.feedback(this.db, runId);
  }

  async recordAction(a: Action): Promise<void> {
    return runs.recordAction(this.db, a);
  }

  async actions(runId: string): Promise<Action[]> {
    return runs.actions(this.db, runId);
  }

  /** Fails while writes do (the file locked, the disk full), so readiness says what is wrong. */
  async ping(): Promise<void> {
    const failing = this.guard.failing;
    if (failing) throw failing;
    this.db.prepare("SELECT 1").get();
  }

  async close(): Promise<void> {
    if (this.db.open && this.ownerPid !== undefined) {
      this.db.prepare("DELETE FROM owner WHERE id = 1 AND pid = ?").run(this.ownerPid);
    }
    if (this.db.open) this.db.close();
  }
}
