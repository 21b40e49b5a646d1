import type { Alert } from "../alerts/types.js";

/** What the store knows when an alert arrives for a service, read inside the same transaction. */
export interface IncidentView {
  open?: {
    id: string;
    lastRunAt?: number;
    pendingRun: boolean;
    runActive: boolean;
    /** This alert (key and start) is already part of the open incident. */
    hasAlert: boolean;
    /** Alerts of the open incident still firing, besides this one. */
    otherFiring: number;
  };
  /** This alert (key and start) belonged to an incident that is closed. */
  closedHadAlert: boolean;
}

export type Decision =
  | { kind: "open" }
  | { kind: "join"; rerun: boolean }
  | { kind: "resolve"; closes: boolean }
  | { kind: "ignore"; reason: string };

/**
 * One open incident per service. Repeated, grouped, duplicated and out-of-order firings join it; a new
 * firing after the cooldown asks for another diagnosis; the incident closes when its last firing alert
 * resolves. A firing of an incident already closed (a late or retried delivery) reopens nothing, and a
 * resolution with no open incident is recorded and nothing else.
 */
export function decide(view: IncidentView, alert: Alert, now: number, cooldownMs: number): Decision {
  if (alert.status === "firing") {
    if (view.open) {
      const o = view.open;
      const due = !o.pendingRun && !o.runActive && now - (o.lastRunAt ?? 0) >= cooldownMs;
      return { kind: "join", rerun: due };
    }
    if (view.closedHadAlert) return { kind: "ignore", reason: "a firing of an incident already closed" };
    return { kind: "open" };
  }
  if (view.open?.hasAlert) return { kind: "resolve", closes: view.open.otherFiring === 0 };
  if (view.open)
    return { kind: "ignore", reason: "a resolution of an alert that is not part of the open incident" };
  return { kind: "ignore", reason: "a resolution with no open incident" };
}
