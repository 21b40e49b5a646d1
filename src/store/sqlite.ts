import { hostname } from "node:os";
import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import Database from "better-sqlite3";
import { UserError } from "../errors.js";
import type { Decision, IncidentView } from "../incidents/lifecycle.js";
import { MIGRATIONS } from "./migrations.js";
import { WriteGuard } from "./sqlite-guard.js";
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
import {
  Feedback as FeedbackSchema,
  Incident as IncidentSchema,
  OutboxEntry as OutboxSchema,
  Run as RunSchema,
} from "./types.js";

type Row = Record<string, unknown>;

const gunzipAsync = promisify(gunzip);
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
    incidentId: opt(r.incident_id),
    postPolicy: r.post_policy ?? "always",
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
  "id, service, since_ms, window_text, requested_by, source, channel, thread_ts, parent_outbox_id, previous_run_id, state, attempts, created_at, started_at, finished_at, duration_ms, hosts, hosts_failed, verdicts, status, error, incident_id, post_policy";

function incidentFrom(r: Row): Incident {
  return IncidentSchema.parse({
    id: r.id,
    service: r.service,
    channel: opt(r.channel),
    state: r.state,
    openedAt: r.opened_at,
    firstStartsAt: opt(r.first_starts_at),
    summary: opt(r.summary),
    source: r.source,
    resolvedAt: opt(r.resolved_at),
    closedReason: opt(r.closed_reason),
    lastFiringAt: r.last_firing_at,
    lastRunAt: opt(r.last_run_at),
    lastRunId: opt(r.last_run_id),
    runCount: r.run_count,
    pendingRun: r.pending_run === 1,
    pendingNotice: opt(r.pending_notice),
    parentOutboxId: r.parent_outbox_id,
  });
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
    this.createRunSync(run, now);
    const created = await this.getRun(run.id);
    if (!created) throw new Error(`run ${run.id} was not stored`);
    return created;
  }

  async createRunIfIdle(run: NewRun, now: number): Promise<{ run: Run; created: boolean }> {
    const tx = this.db.transaction((): { id: string; created: boolean } => {
      const active = this.db
        .prepare(
          "SELECT id FROM runs WHERE service = ? AND channel = ? AND state IN ('queued', 'running') ORDER BY created_at DESC LIMIT 1",
        )
        .get(run.service, run.channel ?? null) as { id: string } | undefined;
      if (active) return { id: active.id, created: false };
      this.createRunSync(run, now);
      return { id: run.id, created: true };
    });
    const r = tx.immediate();
    const stored = await this.getRun(r.id);
    if (!stored) throw new Error(`run ${r.id} was not stored`);
    return { run: stored, created: r.created };
  }

  /** Insert the run unless its id exists; true when it was inserted. */
  private createRunSync(run: NewRun, now: number): boolean {
    return (
      this.db
        .prepare(
          `INSERT INTO runs (id, service, since_ms, window_text, requested_by, source, channel, thread_ts,
           parent_outbox_id, previous_run_id, state, created_at, hosts, incident_id, post_policy)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
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
          run.incidentId ?? null,
          run.postPolicy ?? "always",
        ).changes === 1
    );
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
        result.bundleGz,
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
    return r?.bundle ? (await gunzipAsync(r.bundle)).toString("utf8") : undefined;
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

  async outboxRetry(
    id: string,
    nextAt: number,
    error: string,
    payload?: Record<string, unknown>,
  ): Promise<void> {
    this.db
      .prepare(
        "UPDATE outbox SET next_at = ?, error = ?, payload = COALESCE(?, payload), lease_owner = NULL, lease_until = NULL WHERE id = ?",
      )
      .run(nextAt, error, payload ? JSON.stringify(payload) : null, id);
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

  async applyAlert(
    intake: AlertIntake,
    decide: (view: IncidentView) => Decision,
  ): Promise<{ decision: Decision; incidentId?: string }> {
    const a = intake.alert;
    const startsAt = a.startsAt ?? "";
    const record = (outcome: string, incidentId: string | undefined) =>
      this.db
        .prepare(
          `INSERT INTO alert_events (received_at, source, status, alert_key, starts_at, ends_at, service, labels, summary, incident_id, outcome)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          intake.receivedAt,
          a.source,
          a.status,
          a.key,
          a.startsAt ?? null,
          a.endsAt ?? null,
          intake.service ?? null,
          JSON.stringify(a.labels),
          a.summary ?? null,
          incidentId ?? null,
          outcome,
        );
    const tx = this.db.transaction((): { decision: Decision; incidentId?: string } => {
      const service = intake.service;
      if (!service) {
        record("unknown_service", undefined);
        return { decision: { kind: "ignore", reason: "no service in the inventory matches its labels" } };
      }
      const open = this.db
        .prepare("SELECT * FROM incidents WHERE service = ? AND state = 'open'")
        .get(service) as Row | undefined;
      // An alert is one incident's when its key and start match; a sender without starts matches by key.
      const matches = (incidentId: string) =>
        this.db
          .prepare(
            "SELECT status FROM incident_alerts WHERE incident_id = ? AND alert_key = ? AND (starts_at = ? OR ? = '' OR starts_at = '')",
          )
          .get(incidentId, a.key, startsAt, startsAt) as { status: string } | undefined;
      const closedHad =
        startsAt !== "" &&
        this.db
          .prepare(
            `SELECT 1 FROM incident_alerts ia JOIN incidents i ON i.id = ia.incident_id
             WHERE i.service = ? AND i.state != 'open' AND ia.alert_key = ? AND ia.starts_at = ?`,
          )
          .get(service, a.key, startsAt) !== undefined;
      const view: IncidentView = { closedHadAlert: closedHad };
      if (open) {
        const id = String(open.id);
        const otherFiring = (
          this.db
            .prepare(
              "SELECT count(*) AS n FROM incident_alerts WHERE incident_id = ? AND status = 'firing' AND NOT (alert_key = ? AND (starts_at = ? OR ? = '' OR starts_at = ''))",
            )
            .get(id, a.key, startsAt, startsAt) as { n: number }
        ).n;
        const runActive =
          this.db
            .prepare("SELECT 1 FROM runs WHERE incident_id = ? AND state IN ('queued', 'running')")
            .get(id) !== undefined;
        view.open = {
          id,
          lastRunAt: opt(open.last_run_at as number | null),
          pendingRun: open.pending_run === 1,
          runActive,
          hasAlert: matches(id) !== undefined,
          otherFiring,
        };
      }
      const decision = decide(view);
      const now = intake.receivedAt;
      const upsertAlert = (incidentId: string, status: string) =>
        this.db
          .prepare(
            `INSERT INTO incident_alerts (incident_id, alert_key, starts_at, status, updated_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (incident_id, alert_key, starts_at) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at`,
          )
          .run(incidentId, a.key, startsAt, status, now);
      switch (decision.kind) {
        case "open": {
          const id = intake.newIncidentId;
          this.db
            .prepare(
              `INSERT INTO incidents (id, service, channel, state, opened_at, first_starts_at, summary, source, last_firing_at, pending_run, parent_outbox_id)
               VALUES (?, ?, ?, 'open', ?, ?, ?, ?, ?, 1, ?)`,
            )
            .run(
              id,
              service,
              intake.channel ?? null,
              now,
              a.startsAt ?? null,
              a.summary ?? null,
              a.source,
              now,
              `${id}.parent`,
            );
          upsertAlert(id, "firing");
          record("opened", id);
          return { decision, incidentId: id };
        }
        case "join": {
          const id = view.open?.id as string;
          upsertAlert(id, "firing");
          this.db
            .prepare(
              "UPDATE incidents SET last_firing_at = ?, pending_run = CASE WHEN ? THEN 1 ELSE pending_run END WHERE id = ?",
            )
            .run(now, decision.rerun ? 1 : 0, id);
          record(decision.rerun ? "rerun" : "joined", id);
          return { decision, incidentId: id };
        }
        case "resolve": {
          const id = view.open?.id as string;
          this.db
            .prepare(
              "UPDATE incident_alerts SET status = 'resolved', updated_at = ? WHERE incident_id = ? AND alert_key = ? AND (starts_at = ? OR ? = '' OR starts_at = '')",
            )
            .run(now, id, a.key, startsAt, startsAt);
          if (decision.closes) {
            this.db
              .prepare(
                "UPDATE incidents SET state = 'resolved', resolved_at = ?, closed_reason = 'resolved', pending_notice = 'resolved' WHERE id = ?",
              )
              .run(now, id);
          }
          record(decision.closes ? "closed" : "resolved", id);
          return { decision, incidentId: id };
        }
        case "ignore":
          record(`ignored: ${decision.reason}`, view.open?.id);
          return { decision, incidentId: view.open?.id };
      }
    });
    return tx.immediate();
  }

  async getIncident(id: string): Promise<Incident | undefined> {
    const r = this.db.prepare("SELECT * FROM incidents WHERE id = ?").get(id) as Row | undefined;
    return r ? incidentFrom(r) : undefined;
  }

  async openIncident(service: string): Promise<Incident | undefined> {
    const r = this.db.prepare("SELECT * FROM incidents WHERE service = ? AND state = 'open'").get(service) as
      | Row
      | undefined;
    return r ? incidentFrom(r) : undefined;
  }

  async incidentsDue(): Promise<Incident[]> {
    const rows = this.db
      .prepare(
        "SELECT * FROM incidents WHERE pending_run = 1 OR pending_notice IS NOT NULL ORDER BY opened_at",
      )
      .all() as Row[];
    return rows.map(incidentFrom);
  }

  async startIncidentRun(incidentId: string, run: NewRun, now: number): Promise<Run> {
    this.db.transaction(() => {
      // Only the caller that queued the run clears the flag: one acting on a stale view keeps a re-run asked for since.
      if (!this.createRunSync({ ...run, incidentId }, now)) return;
      this.db
        .prepare(
          "UPDATE incidents SET pending_run = 0, last_run_at = ?, last_run_id = ?, run_count = run_count + 1 WHERE id = ? AND pending_run = 1",
        )
        .run(now, run.id, incidentId);
    })();
    const created = await this.getRun(run.id);
    if (!created) throw new Error(`run ${run.id} was not stored`);
    return created;
  }

  async linkRunToIncident(runId: string, incidentId: string, now: number): Promise<void> {
    this.db.transaction(() => {
      this.db.prepare("UPDATE runs SET incident_id = ? WHERE id = ?").run(incidentId, runId);
      this.db
        .prepare(
          "UPDATE incidents SET last_run_at = ?, last_run_id = ?, run_count = run_count + 1 WHERE id = ?",
        )
        .run(now, runId, incidentId);
    })();
  }

  async clearIncidentNotice(incidentId: string): Promise<void> {
    this.db.prepare("UPDATE incidents SET pending_notice = NULL WHERE id = ?").run(incidentId);
  }

  async closeQuietIncidents(now: number, quietMs: number): Promise<Incident[]> {
    const rows = this.db
      .prepare(
        `UPDATE incidents SET state = 'quiet', resolved_at = ?, closed_reason = 'no resolution received', pending_notice = 'quiet'
         WHERE state = 'open' AND last_firing_at < ? RETURNING *`,
      )
      .all(now, now - quietMs) as Row[];
    return rows.map(incidentFrom);
  }

  async alertEvents(incidentId: string): Promise<AlertEvent[]> {
    const rows = this.db
      .prepare("SELECT * FROM alert_events WHERE incident_id = ? ORDER BY seq")
      .all(incidentId) as Row[];
    return rows.map((r) => ({
      seq: Number(r.seq),
      receivedAt: Number(r.received_at),
      source: String(r.source),
      status: String(r.status),
      key: String(r.alert_key),
      startsAt: opt(r.starts_at as string | null),
      endsAt: opt(r.ends_at as string | null),
      service: opt(r.service as string | null),
      labels: JSON.parse(String(r.labels)) as Record<string, string>,
      summary: opt(r.summary as string | null),
      incidentId: opt(r.incident_id as string | null),
      outcome: String(r.outcome),
    }));
  }

  async runsForIncident(incidentId: string): Promise<Run[]> {
    const rows = this.db
      .prepare(`SELECT ${RUN_COLUMNS} FROM runs WHERE incident_id = ? ORDER BY created_at, rowid`)
      .all(incidentId) as Row[];
    return rows.map(runFrom);
  }

  async closeIncident(incidentId: string, reason: string, now: number): Promise<Incident | undefined> {
    const r = this.db
      .prepare(
        `UPDATE incidents SET state = 'resolved', resolved_at = ?, closed_reason = ?, pending_notice = 'resolved', pending_run = 0
         WHERE id = ? AND state = 'open' RETURNING *`,
      )
      .get(now, reason, incidentId) as Row | undefined;
    return r ? incidentFrom(r) : undefined;
  }

  async saveIncidentSummary(
    incidentId: string,
    impactJson: string | undefined,
    summaryJson: string,
    now: number,
  ): Promise<void> {
    this.db
      .prepare("UPDATE incidents SET impact = ?, summary_json = ?, summarized_at = ? WHERE id = ?")
      .run(impactJson ?? null, summaryJson, now, incidentId);
  }

  async incidentSummary(
    incidentId: string,
  ): Promise<{ impactJson?: string; summaryJson?: string } | undefined> {
    const r = this.db.prepare("SELECT impact, summary_json FROM incidents WHERE id = ?").get(incidentId) as
      | { impact: string | null; summary_json: string | null }
      | undefined;
    return r ? { impactJson: opt(r.impact), summaryJson: opt(r.summary_json) } : undefined;
  }

  async recentIncidents(limit: number): Promise<Incident[]> {
    const rows = this.db
      .prepare("SELECT * FROM incidents ORDER BY opened_at DESC LIMIT ?")
      .all(limit) as Row[];
    return rows.map(incidentFrom);
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
