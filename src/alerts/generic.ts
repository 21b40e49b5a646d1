import { z } from "zod";
import { type AlertSourceModule, realTime } from "./types.js";

/**
 * The generic hook, for scripts, cron jobs and other tools: one alert per request, or `alerts: [...]`.
 * `{"service": "checkout", "status": "firing", "key": "gw-1 502s", "summary": "...", "started_at": "2026-..Z"}`
 */
const GenericAlert = z
  .object({
    service: z.string().min(1).max(200),
    status: z.enum(["firing", "resolved"]),
    /** Identifies the alert across deliveries (default: the service). */
    key: z.string().min(1).max(500).optional(),
    summary: z.string().max(2000).optional(),
    started_at: z.string().optional(),
  })
  .strict();

export const GenericPayload = z.union([
  GenericAlert,
  z.object({ alerts: z.array(GenericAlert).min(1).max(10_000) }).strict(),
]);

export const generic: AlertSourceModule<typeof GenericPayload> = {
  schema: GenericPayload,
  toAlerts: (p) =>
    ("alerts" in p ? p.alerts : [p]).map((a) => ({
      source: "generic",
      status: a.status,
      key: a.key ?? a.service,
      labels: { service: a.service },
      summary: a.summary,
      startsAt: realTime(a.started_at),
    })),
};
