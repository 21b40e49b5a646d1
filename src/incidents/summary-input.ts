import type { Diagnosis } from "../diagnosis/types.js";
import type { Store } from "../store/types.js";
import type { ImpactCount, SummaryInput } from "../summary/schema.js";

export interface Impact {
  perMinute: ImpactCount[];
  complete: boolean;
}

/** Everything the store knows about an incident, as the summary builder's input. */
export async function gatherSummaryInput(
  store: Store,
  incidentId: string,
  zone: string,
  impact: Impact | undefined,
): Promise<SummaryInput | undefined> {
  const inc = await store.getIncident(incidentId);
  if (!inc) return undefined;
  const runs = await store.runsForIncident(incidentId);
  const diagnoses: SummaryInput["diagnoses"] = [];
  const actions: SummaryInput["actions"] = [];
  for (const r of runs) {
    for (const a of await store.actions(r.id))
      actions.push({ at: a.at, user: a.user, action: a.action, runId: r.id });
    if (r.state !== "done") continue;
    const json = await store.runDiagnosis(r.id);
    if (!json) continue;
    diagnoses.push({
      runId: r.id,
      at: r.finishedAt ?? r.createdAt,
      requestedBy: r.requestedBy,
      diagnosis: JSON.parse(json) as Diagnosis,
    });
  }
  const events = (await store.alertEvents(incidentId))
    .filter((e) => e.status === "firing" || e.status === "resolved")
    .map((e) => ({ at: e.receivedAt, status: e.status as "firing" | "resolved", outcome: e.outcome }));
  const reason =
    inc.closedReason === "resolved" ||
    inc.closedReason === "no resolution received" ||
    inc.closedReason === "resolved by hand"
      ? inc.closedReason
      : undefined;
  return {
    incident: {
      id: inc.id,
      service: inc.service,
      openedAt: inc.openedAt,
      ...(inc.resolvedAt !== undefined ? { closedAt: inc.resolvedAt } : {}),
      ...(reason ? { closedReason: reason } : {}),
      source: inc.source,
      ...(inc.firstStartsAt ? { alertStartsAt: new Date(Date.parse(inc.firstStartsAt)).toISOString() } : {}),
      ...(inc.summary ? { alertSummary: inc.summary } : {}),
    },
    zone,
    ...(impact ? { impact } : {}),
    diagnoses: diagnoses.sort((a, b) => a.at - b.at),
    alertEvents: events,
    actions: actions.sort((a, b) => a.at - b.at),
  };
}
