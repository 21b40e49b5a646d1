import { z } from "zod";
import { type AlertSourceModule, realTime } from "./types.js";

export const Labels = z.record(z.string(), z.string());

/** One alert as Alertmanager sends it (and Grafana, which adds fields of its own). */
export const AlertmanagerAlert = z.object({
  status: z.enum(["firing", "resolved"]),
  labels: Labels,
  annotations: Labels.default({}),
  startsAt: z.string(),
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().min(1),
});

/** Alertmanager's webhook payload, version 4 (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config). */
export const AlertmanagerPayload = z.object({
  version: z.literal("4"),
  groupKey: z.string(),
  truncatedAlerts: z.number().int().min(0).default(0),
  status: z.enum(["firing", "resolved"]),
  receiver: z.string().optional(),
  groupLabels: Labels.default({}),
  commonLabels: Labels.default({}),
  commonAnnotations: Labels.default({}),
  externalURL: z.string().optional(),
  alerts: z.array(AlertmanagerAlert).max(10_000),
});

export const alertmanager: AlertSourceModule<typeof AlertmanagerPayload> = {
  schema: AlertmanagerPayload,
  toAlerts: (p) =>
    p.alerts.map((a) => ({
      source: "alertmanager",
      status: a.status,
      key: a.fingerprint,
      labels: a.labels,
      summary: a.annotations.summary ?? a.annotations.description ?? a.labels.alertname,
      startsAt: realTime(a.startsAt),
      endsAt: realTime(a.endsAt),
      groupKey: p.groupKey,
      url: a.generatorURL,
    })),
};
