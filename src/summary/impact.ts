import type { Diagnosis } from "../diagnosis/types.js";
import type { Impact, MinuteCount, SummaryInput } from "./schema.js";
import { iso, startOfMinute } from "./time.js";

const FAILING = new Set([502, 504]);

/** `127.0.0.11:18080` -> `127.0.0.11`; `[::1]:80` -> `::1`; `unix:/run/x.sock` stays. */
export function targetHost(target: string): string {
  if (target.startsWith("unix:")) return target;
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(target);
  if (v6?.[1]) return v6[1];
  return target.replace(/:\d+$/, "");
}

/** The inventory name of the backend at a target, from the hosts the diagnoses asked. */
export function hostOfTarget(target: string, diagnoses: Diagnosis[]): string | undefined {
  const addr = targetHost(target);
  for (const d of diagnoses)
    for (const h of d.hosts)
      if (h.role === "backend" && (h.address === addr || h.name === addr)) return h.name;
  return undefined;
}

/**
 * 502s and 504s in total, per target and per minute, from the gateways' per-minute counts. Without counts,
 * the largest a single diagnosis saw in its window stands in (a lower bound: windows are short and overlap).
 */
export function buildImpact(input: SummaryInput): Impact {
  const diagnoses = input.diagnoses.map((d) => d.diagnosis);
  if (!input.impact) {
    return {
      measured: false,
      complete: false,
      status502: Math.max(0, ...diagnoses.map((d) => d.gateway.status502)),
      status504: Math.max(0, ...diagnoses.map((d) => d.gateway.status504)),
      byTarget: [],
      perMinute: [],
    };
  }
  const minutes = new Map<number, MinuteCount>();
  const targets = new Map<string, { status502: number; status504: number }>();
  let requests = 0;
  for (const c of input.impact.perMinute) {
    const m = startOfMinute(c.minute);
    const row = minutes.get(m) ?? { minute: iso(m), status502: 0, status504: 0, requests: 0 };
    minutes.set(m, row);
    row.requests += c.count;
    requests += c.count;
    if (!FAILING.has(c.status)) continue;
    const t = targets.get(c.target) ?? { status502: 0, status504: 0 };
    targets.set(c.target, t);
    if (c.status === 502) {
      row.status502 += c.count;
      t.status502 += c.count;
    } else {
      row.status504 += c.count;
      t.status504 += c.count;
    }
  }
  const perMinute = [...minutes.entries()].sort(([a], [b]) => a - b).map(([, r]) => r);
  let peak: MinuteCount | undefined;
  for (const r of perMinute)
    if (
      r.status502 + r.status504 > 0 &&
      (!peak || r.status502 + r.status504 > peak.status502 + peak.status504)
    )
      peak = r;
  const byTarget = [...targets.entries()]
    .filter(([, t]) => t.status502 + t.status504 > 0)
    .map(([target, t]) => {
      const host = target === "-" ? undefined : hostOfTarget(target, diagnoses);
      return { target, ...(host ? { host } : {}), ...t };
    })
    .sort(
      (a, b) => b.status502 + b.status504 - (a.status502 + a.status504) || a.target.localeCompare(b.target),
    );
  return {
    measured: true,
    complete: input.impact.complete,
    requests,
    status502: byTarget.reduce((n, t) => n + t.status502, 0),
    status504: byTarget.reduce((n, t) => n + t.status504, 0),
    byTarget,
    ...(peak ? { peak: { ...peak } } : {}),
    perMinute,
  };
}

/** The first and last minute with a failing request. */
export function failingMinutes(impact: Impact): { first: string; last: string } | undefined {
  const failing = impact.perMinute.filter((r) => r.status502 + r.status504 > 0);
  const first = failing[0];
  const last = failing.at(-1);
  return first && last ? { first: first.minute, last: last.minute } : undefined;
}
