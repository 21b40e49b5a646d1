import type { Decision, IncidentView } from "../incidents/lifecycle.js";
import { alertEventValues, incidentOpenValues } from "./params.js";
import type { Db } from "./postgres-db.js";
import { flag, type Row } from "./rows.js";
import type { AlertIntake } from "./types.js";

/**
 * applyAlert inside its transaction: the service's lock and its open incident's row are held from the
 * first read to the last write, and `decide` runs in between without awaiting anything.
 */
export async function applyAlertIn(
  c: Db,
  intake: AlertIntake,
  decide: (view: IncidentView) => Decision,
  lockService: (service: string) => Promise<void>,
): Promise<{ decision: Decision; incidentId?: string }> {
  const a = intake.alert;
  const startsAt = a.startsAt ?? "";
  const now = intake.receivedAt;
  const record = (outcome: string, incidentId: string | undefined) =>
    c.query(
      `INSERT INTO alert_events (received_at, source, status, alert_key, starts_at, ends_at, service, labels, summary, incident_id, outcome)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      alertEventValues(intake, incidentId, outcome),
    );
  const service = intake.service;
  if (!service) {
    await record("unknown_service", undefined);
    return { decision: { kind: "ignore", reason: "no service in the inventory matches its labels" } };
  }
  await lockService(service);
  const open = (
    await c.query<Row>("SELECT * FROM incidents WHERE service = $1 AND state = 'open' FOR UPDATE", [service])
  ).rows[0];
  // An alert is one incident's when its key and start match; a sender without starts matches by key.
  const sameAlert = "alert_key = $2 AND (starts_at = $3 OR $3 = '' OR starts_at = '')";
  // Everything `decide` reads, in one round trip (a storm of firings queues on the service's lock).
  const openId = open ? String(open.id) : null;
  const v = (
    await c.query<{ closed_had: boolean; other_firing: number; run_active: boolean; has_alert: boolean }>(
      `SELECT
         ($3 <> '' AND EXISTS (SELECT 1 FROM incident_alerts ia JOIN incidents i ON i.id = ia.incident_id
           WHERE i.service = $1 AND i.state != 'open' AND ia.alert_key = $2 AND ia.starts_at = $3)) AS closed_had,
         (SELECT count(*)::int FROM incident_alerts
           WHERE incident_id = $4 AND status = 'firing' AND NOT (${sameAlert})) AS other_firing,
         EXISTS (SELECT 1 FROM runs WHERE incident_id = $4 AND state IN ('queued', 'running')) AS run_active,
         EXISTS (SELECT 1 FROM incident_alerts WHERE incident_id = $4 AND ${sameAlert}) AS has_alert`,
      [service, a.key, startsAt, openId],
    )
  ).rows[0];
  const view: IncidentView = { closedHadAlert: v?.closed_had === true };
  if (open && openId) {
    view.open = {
      id: openId,
      lastRunAt: (open.last_run_at as number | null) ?? undefined,
      pendingRun: flag(open.pending_run),
      runActive: v?.run_active === true,
      hasAlert: v?.has_alert === true,
      otherFiring: v?.other_firing ?? 0,
    };
  }
  const decision = decide(view);
  const upsertAlert = (incidentId: string, status: string) =>
    c.query(
      `INSERT INTO incident_alerts (incident_id, alert_key, starts_at, status, updated_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (incident_id, alert_key, starts_at) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at`,
      [incidentId, a.key, startsAt, status, now],
    );
  switch (decision.kind) {
    case "open": {
      const id = intake.newIncidentId;
      await c.query(
        `INSERT INTO incidents (id, service, channel, state, opened_at, first_starts_at, summary, source, last_firing_at, pending_run, parent_outbox_id)
         VALUES ($1, $2, $3, 'open', $4, $5, $6, $7, $8, true, $9)`,
        incidentOpenValues(intake, service),
      );
      await upsertAlert(id, "firing");
      await record("opened", id);
      return { decision, incidentId: id };
    }
    case "join": {
      // The hot path of a storm: the alert, the incident and the delivery's record in one statement.
      const id = view.open?.id as string;
      await c.query(
        `WITH alert AS (
           INSERT INTO incident_alerts (incident_id, alert_key, starts_at, status, updated_at) VALUES ($1, $2, $3, 'firing', $4)
           ON CONFLICT (incident_id, alert_key, starts_at) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at
           RETURNING 1
         ), incident AS (
           UPDATE incidents SET last_firing_at = $4, pending_run = CASE WHEN $5 THEN true ELSE pending_run END
           WHERE id = $1 RETURNING 1
         )
         INSERT INTO alert_events (received_at, source, status, alert_key, starts_at, ends_at, service, labels, summary, incident_id, outcome)
         VALUES ($4, $6, $7, $2, $8, $9, $10, $11, $12, $1, $13)`,
        [
          id,
          a.key,
          startsAt,
          now,
          decision.rerun,
          a.source,
          a.status,
          a.startsAt ?? null,
          a.endsAt ?? null,
          service,
          JSON.stringify(a.labels),
          a.summary ?? null,
          decision.rerun ? "rerun" : "joined",
        ],
      );
      return { decision, incidentId: id };
    }
    case "resolve": {
      const id = view.open?.id as string;
      await c.query(
        `UPDATE incident_alerts SET status = 'resolved', updated_at = $4 WHERE incident_id = $1 AND ${sameAlert}`,
        [id, a.key, startsAt, now],
      );
      if (decision.closes)
        await c.query(
          "UPDATE incidents SET state = 'resolved', resolved_at = $1, closed_reason = 'resolved', pending_notice = 'resolved' WHERE id = $2",
          [now, id],
        );
      await record(decision.closes ? "closed" : "resolved", id);
      return { decision, incidentId: id };
    }
    case "ignore":
      await record(`ignored: ${decision.reason}`, view.open?.id);
      return { decision, incidentId: view.open?.id };
  }
}
