import type Database from "better-sqlite3";
import type { Decision, IncidentView } from "../incidents/lifecycle.js";
import { alertEventValues, incidentOpenValues } from "./params.js";
import { flag, opt, type Row } from "./rows.js";
import type { AlertIntake } from "./types.js";

/**
 * applyAlert in SQLite: one IMMEDIATE transaction, so the service's open incident cannot change between
 * what `decide` is shown and what is written.
 */
export async function applyAlertIn(
  db: Database.Database,
  intake: AlertIntake,
  decide: (view: IncidentView) => Decision,
): Promise<{ decision: Decision; incidentId?: string }> {
  const a = intake.alert;
  const startsAt = a.startsAt ?? "";
  const record = (outcome: string, incidentId: string | undefined) =>
    db
      .prepare(
        `INSERT INTO alert_events (received_at, source, status, alert_key, starts_at, ends_at, service, labels, summary, incident_id, outcome)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(...alertEventValues(intake, incidentId, outcome));
  const tx = db.transaction((): { decision: Decision; incidentId?: string } => {
    const service = intake.service;
    if (!service) {
      record("unknown_service", undefined);
      return { decision: { kind: "ignore", reason: "no service in the inventory matches its labels" } };
    }
    const open = db.prepare("SELECT * FROM incidents WHERE service = ? AND state = 'open'").get(service) as
      | Row
      | undefined;
    // An alert is one incident's when its key and start match; a sender without starts matches by key.
    const matches = (incidentId: string) =>
      db
        .prepare(
          "SELECT status FROM incident_alerts WHERE incident_id = ? AND alert_key = ? AND (starts_at = ? OR ? = '' OR starts_at = '')",
        )
        .get(incidentId, a.key, startsAt, startsAt) as { status: string } | undefined;
    const closedHad =
      startsAt !== "" &&
      db
        .prepare(
          `SELECT 1 FROM incident_alerts ia JOIN incidents i ON i.id = ia.incident_id
           WHERE i.service = ? AND i.state != 'open' AND ia.alert_key = ? AND ia.starts_at = ?`,
        )
        .get(service, a.key, startsAt) !== undefined;
    const view: IncidentView = { closedHadAlert: closedHad };
    if (open) {
      const id = String(open.id);
      const otherFiring = (
        db
          .prepare(
            "SELECT count(*) AS n FROM incident_alerts WHERE incident_id = ? AND status = 'firing' AND NOT (alert_key = ? AND (starts_at = ? OR ? = '' OR starts_at = ''))",
          )
          .get(id, a.key, startsAt, startsAt) as { n: number }
      ).n;
      const runActive =
        db.prepare("SELECT 1 FROM runs WHERE incident_id = ? AND state IN ('queued', 'running')").get(id) !==
        undefined;
      view.open = {
        id,
        lastRunAt: opt(open.last_run_at as number | null),
        pendingRun: flag(open.pending_run),
        runActive,
        hasAlert: matches(id) !== undefined,
        otherFiring,
      };
    }
    const decision = decide(view);
    const now = intake.receivedAt;
    const upsertAlert = (incidentId: string, status: string) =>
      db
        .prepare(
          `INSERT INTO incident_alerts (incident_id, alert_key, starts_at, status, updated_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (incident_id, alert_key, starts_at) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at`,
        )
        .run(incidentId, a.key, startsAt, status, now);
    switch (decision.kind) {
      case "open": {
        const id = intake.newIncidentId;
        db.prepare(
          `INSERT INTO incidents (id, service, channel, state, opened_at, first_starts_at, summary, source, last_firing_at, pending_run, parent_outbox_id)
             VALUES (?, ?, ?, 'open', ?, ?, ?, ?, ?, 1, ?)`,
        ).run(...incidentOpenValues(intake, service));
        upsertAlert(id, "firing");
        record("opened", id);
        return { decision, incidentId: id };
      }
      case "join": {
        const id = view.open?.id as string;
        upsertAlert(id, "firing");
        db.prepare(
          "UPDATE incidents SET last_firing_at = ?, pending_run = CASE WHEN ? THEN 1 ELSE pending_run END WHERE id = ?",
        ).run(now, decision.rerun ? 1 : 0, id);
        record(decision.rerun ? "rerun" : "joined", id);
        return { decision, incidentId: id };
      }
      case "resolve": {
        const id = view.open?.id as string;
        db.prepare(
          "UPDATE incident_alerts SET status = 'resolved', updated_at = ? WHERE incident_id = ? AND alert_key = ? AND (starts_at = ? OR ? = '' OR starts_at = '')",
        ).run(now, id, a.key, startsAt, startsAt);
        if (decision.closes) {
          db.prepare(
            "UPDATE incidents SET state = 'resolved', resolved_at = ?, closed_reason = 'resolved', pending_notice = 'resolved' WHERE id = ?",
          ).run(now, id);
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
