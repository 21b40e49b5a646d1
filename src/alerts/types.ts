import type { z } from "zod";

/** One alert, whatever sent it: what the incident logic reads. */
export interface Alert {
  source: AlertSource;
  status: "firing" | "resolved";
  /** Same labels, same key (Alertmanager's fingerprint): tell incidents apart by `startsAt` too. */
  key: string;
  labels: Record<string, string>;
  summary?: string;
  /** ISO time the alert started firing, as the sender says. */
  startsAt?: string;
  endsAt?: string;
  groupKey?: string;
  url?: string;
}

export type AlertSource = "alertmanager" | "grafana" | "generic";

/** One webhook sender's payload: its schema and how it becomes alerts. */
export interface AlertSourceModule<S extends z.ZodType = z.ZodType> {
  schema: S;
  toAlerts(payload: z.infer<S>): Alert[];
}

/** Alertmanager's "no end" time on a firing alert. */
export const ZERO_TIME = "0001-01-01T00:00:00Z";

export function realTime(t: string | undefined): string | undefined {
  if (!t || t.startsWith("0001-01-01")) return undefined;
  return Number.isNaN(Date.parse(t)) ? undefined : t;
}
