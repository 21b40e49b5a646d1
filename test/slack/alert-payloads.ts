import { createHmac } from "node:crypto";

/** An Alertmanager webhook body (version 4), shaped as Alertmanager 0.25 sends it. */
export function alertmanagerBody(o: {
  status: "firing" | "resolved";
  service?: string;
  fingerprint?: string;
  startsAt?: string;
  endsAt?: string;
  labels?: Record<string, string>;
  instance?: string;
}): string {
  const labels = {
    alertname: "Checkout502RateHigh",
    severity: "page",
    ...(o.service ? { service: o.service } : {}),
    ...(o.instance ? { instance: o.instance } : {}),
    ...o.labels,
  };
  const startsAt = o.startsAt ?? "2026-12-01T09:00:00.000Z";
  return JSON.stringify({
    receiver: "why502",
    status: o.status,
    alerts: [
      {
        status: o.status,
        labels,
        annotations: { summary: "checkout answers 502" },
        startsAt,
        endsAt: o.status === "firing" ? "0001-01-01T00:00:00Z" : (o.endsAt ?? "2026-12-01T09:12:00.000Z"),
        generatorURL: "http://127.0.0.1:9090/graph",
        fingerprint: o.fingerprint ?? "4fa3c2d1e0b9a877",
      },
    ],
    groupLabels: { alertname: labels.alertname },
    commonLabels: labels,
    commonAnnotations: { summary: "checkout answers 502" },
    externalURL: "http://127.0.0.1:9093",
    version: "4",
    groupKey: '{}:{alertname="Checkout502RateHigh"}',
    truncatedAlerts: 0,
  });
}

export function hmacHeaders(secret: string, body: string, ts = Math.floor(Date.now() / 1000)) {
  return {
    "content-type": "application/json",
    "x-why502-timestamp": String(ts),
    "x-why502-signature": createHmac("sha256", secret).update(`${ts}:${body}`).digest("hex"),
  };
}
