import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** The bot's Prometheus metrics, on their own registry (served at /metrics). */
export function createMetrics(outboxDepth: () => Promise<number>) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "why502_" });
  const m = {
    registry,
    diagnoses: new Counter({
      name: "why502_diagnoses_total",
      help: "Diagnoses finished, by verdict (one per failing target; healthy/unknown when none).",
      labelNames: ["verdict", "source"],
      registers: [registry],
    }),
    diagnosisSeconds: new Histogram({
      name: "why502_diagnosis_duration_seconds",
      help: "From the request to the diagnosis (collection over SSH plus the playbook).",
      buckets: [0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60],
      registers: [registry],
    }),
    runsFailed: new Counter({
      name: "why502_runs_failed_total",
      help: "Investigations that ended in an error instead of a diagnosis.",
      registers: [registry],
    }),
    hostsFailed: new Counter({
      name: "why502_hosts_failed_total",
      help: "Hosts that could not be collected from, by reason.",
      labelNames: ["reason"],
      registers: [registry],
    }),
    slackCalls: new Counter({
      name: "why502_slack_api_calls_total",
      help: "Slack Web API calls made, by method.",
      labelNames: ["method"],
      registers: [registry],
    }),
    slackErrors: new Counter({
      name: "why502_slack_api_errors_total",
      help: "Slack Web API calls that failed, by method and error (Slack's error name, ratelimited, http_5xx, network).",
      labelNames: ["method", "error"],
      registers: [registry],
    }),
    feedback: new Counter({
      name: "why502_feedback_total",
      help: 'Answers to "Was this right?", by verdict and answer: accuracy in production.',
      labelNames: ["verdict", "answer"],
      registers: [registry],
    }),
    requestsRejected: new Counter({
      name: "why502_requests_rejected_total",
      help: "Slack requests refused before any work, by reason (not_allowed, unknown_service, bad_input).",
      labelNames: ["reason"],
      registers: [registry],
    }),
    webhooks: new Counter({
      name: "why502_webhooks_total",
      help: "Alert webhook requests, by source and the HTTP status answered.",
      labelNames: ["source", "status"],
      registers: [registry],
    }),
    alerts: new Counter({
      name: "why502_alerts_total",
      help: "Alerts received, by source and what became of them (opened, joined, rerun, resolved, closed, ignored, unknown_service).",
      labelNames: ["source", "outcome"],
      registers: [registry],
    }),
    webhookSeconds: new Histogram({
      name: "why502_webhook_duration_seconds",
      help: "From a webhook request to its answer.",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    outboxDepth: new Gauge({
      name: "why502_outbox_depth",
      help: "Slack calls owed and not yet acknowledged by Slack.",
      registers: [registry],
      async collect() {
        this.set(await outboxDepth());
      },
    }),
  };
  return m;
}
export type Metrics = ReturnType<typeof createMetrics>;
