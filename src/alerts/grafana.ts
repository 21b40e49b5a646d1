import { z } from "zod";
import { AlertmanagerAlert } from "./alertmanager.js";
import { type AlertSourceModule, realTime } from "./types.js";

/**
 * Grafana alerting's webhook contact point payload (Alertmanager's shape plus Grafana's fields:
 * https://grafana.com/docs/grafana/latest/alerting/configure-notifications/manage-contact-points/integrations/webhook-notifier/).
 */
export const GrafanaPayload = z.object({
  receiver: z.string().optional(),
  status: z.enum(["firing", "resolved"]),
  orgId: z.number().optional(),
  groupKey: z.string().optional(),
  title: z.string().optional(),
  message: z.string().optional(),
  alerts: z.array(AlertmanagerAlert.extend({ valueString: z.string().optional() })).max(10_000),
});

export const grafana: AlertSourceModule<typeof GrafanaPayload> = {
  schema: GrafanaPayload,
  toAlerts: (p) =>
    p.alerts.map((a) => ({
      source: "grafana",
      status: a.status,
      key: a.fingerprint,
      labels: a.labels,
      summary: a.annotations.summary ?? a.annotations.description ?? a.labels.alertname ?? p.title,
      startsAt: realTime(a.startsAt),
      endsAt: realTime(a.endsAt),
      groupKey: p.groupKey,
      url: a.generatorURL,
    })),
};
