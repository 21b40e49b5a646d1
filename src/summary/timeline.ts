import type { Diagnosis } from "../diagnosis/types.js";
import type { Impact, SummaryInput, TimelineEntry, TimelineKind } from "./schema.js";
import { iso, ms, precise, startOfMinute, startOfSecond } from "./time.js";
import { sourceName } from "./words.js";

/** The engine's timeline labels (facts/derive.ts), as kinds. */
const MACHINE_KINDS: Record<string, TimelineKind> = {
  "nginx error": "first_error",
  "last nginx error": "last_error",
  "OOM kill": "oom_kill",
  crash: "crash",
  segfault: "segfault",
  "last log line": "last_words",
  "process exit": "exit",
  restart: "restart",
};

function machineKind(what: string): TimelineKind {
  return MACHINE_KINDS[what] ?? (/reload/i.test(what) ? "nginx_reload" : "event");
}

/** Within one second, with whole-second stamps, events go in the order they cause each other. */
const RANK: Record<TimelineKind, number> = {
  first_error: 0,
  oom_kill: 1,
  crash: 2,
  segfault: 3,
  last_words: 4,
  exit: 5,
  restart: 6,
  nginx_reload: 7,
  event: 8,
  last_error: 9,
  alert_firing: 10,
  diagnosis: 11,
  rerun: 12,
  evidence: 12,
  feedback_yes: 12,
  feedback_no: 12,
  resolve: 12,
  action: 12,
  alert_resolved: 13,
  closed: 14,
};

const MACHINE_TEXT: Partial<Record<TimelineKind, string>> = {
  oom_kill: "OOM kill",
  crash: "crash",
  segfault: "segmentation fault",
  last_words: "last log line before the process ended",
  exit: "process exited",
  restart: "process started again",
  nginx_reload: "nginx reloaded its configuration",
};

/** The failing target a gateway line is about: the verdict target named in it (the longest, if several). */
function targetOf(text: string, targets: string[]): string | undefined {
  return targets.filter((t) => text.includes(t)).sort((a, b) => b.length - a.length)[0];
}

function statusOf(target: string | undefined, text: string, statuses: Map<string, number>): number {
  const known = target ? statuses.get(target) : undefined;
  if (known) return known;
  return /upstream timed out/.test(text) ? 504 : 502;
}

function refKey(r: { host: string; source: string; text: string }, time: string): string {
  return `${r.host}|${r.source}|${ms(time)}|${r.text.split("\n")[0] ?? ""}`;
}

/**
 * The machine's evidence from every diagnosis, once each: a line seen by several diagnoses is one entry;
 * of the first and last failing requests, only the incident's first and last per target are kept (each
 * diagnosis starts and ends its own window with some).
 */
function machineEntries(diagnoses: Diagnosis[]): TimelineEntry[] {
  const targets = [...new Set(diagnoses.flatMap((d) => d.verdicts.map((v) => v.target)))];
  const statuses = new Map<string, number>();
  for (const d of diagnoses) for (const v of d.verdicts) statuses.set(v.target, v.status);
  // A line seen by several diagnoses is matched once per diagnosis: two identical lines in one second (two
  // restarts logged alike) stay two entries.
  const byKey = new Map<string, { entry: TimelineEntry; by: Set<number> }[]>();
  const entries: TimelineEntry[] = [];
  const first = new Map<string, TimelineEntry>();
  const last = new Map<string, TimelineEntry>();
  diagnoses.forEach((d, n) => {
    for (const e of d.timeline) {
      const kind = machineKind(e.what);
      const key = refKey(e.ref, e.time);
      const held = byKey.get(key) ?? [];
      byKey.set(key, held);
      const seen = held.find((h) => !h.by.has(n));
      if (seen) {
        seen.by.add(n);
        seen.entry.seenBy = seen.by.size;
        continue;
      }
      const base = {
        at: iso(e.time),
        precise: precise(e.time),
        exact: true,
        actor: "machine" as const,
        host: e.host,
        ref: e.ref,
        seenBy: 1,
      };
      if (kind === "first_error" || kind === "last_error") {
        const target = targetOf(e.ref.text, targets);
        const status = statusOf(target, e.ref.text, statuses);
        const entry: TimelineEntry = {
          ...base,
          kind,
          text: `${kind === "first_error" ? "first" : "last"} ${status}${target ? ` on ${target}` : ""}`,
          ...(target ? { target } : {}),
        };
        held.push({ entry, by: new Set([n]) });
        entries.push(entry);
        const group = target ?? "";
        const map = kind === "first_error" ? first : last;
        const best = map.get(group);
        const better =
          !best || (kind === "first_error" ? ms(e.time) < ms(best.at) : ms(e.time) >= ms(best.at));
        if (better) map.set(group, entry);
        continue;
      }
      const entry: TimelineEntry = { ...base, kind, text: MACHINE_TEXT[kind] ?? e.what };
      held.push({ entry, by: new Set([n]) });
      entries.push(entry);
    }
  });
  const kept = new Set([...first.values(), ...last.values()]);
  // A target whose one failing line is both its first and last appears once.
  return entries.filter((e) => (e.kind !== "first_error" && e.kind !== "last_error") || kept.has(e));
}

/** The gateways' counts, where they reach further than the diagnoses' windows (minute precision). */
function impactEntries(impact: Impact, machine: TimelineEntry[]): TimelineEntry[] {
  const failing = impact.perMinute.filter((r) => r.status502 + r.status504 > 0);
  const firstRow = failing[0];
  const lastRow = failing.at(-1);
  if (!firstRow || !lastRow) return [];
  const errs = machine.filter((e) => e.kind === "first_error" || e.kind === "last_error");
  const earliest = Math.min(...errs.map((e) => ms(e.at)));
  const latest = Math.max(...errs.map((e) => ms(e.at)));
  const status = (r: { status502: number }) => (r.status502 > 0 ? "502" : "504");
  const out: TimelineEntry[] = [];
  const entry = (kind: TimelineKind, minute: string, text: string): TimelineEntry => ({
    at: iso(minute),
    precise: false,
    exact: false,
    kind,
    actor: "machine",
    text,
  });
  if (errs.length === 0 || ms(firstRow.minute) < startOfMinute(earliest))
    out.push(
      entry("first_error", firstRow.minute, `first ${status(firstRow)}s in the gateways' access logs`),
    );
  if ((errs.length === 0 || ms(lastRow.minute) > startOfMinute(latest)) && lastRow !== firstRow)
    out.push(entry("last_error", lastRow.minute, `last ${status(lastRow)}s in the gateways' access logs`));
  else if (errs.length === 0 && lastRow === firstRow && out[0])
    out[0].text = `${status(firstRow)}s in the gateways' access logs (first and last minute)`;
  return out;
}

function alertEntries(input: SummaryInput): TimelineEntry[] {
  const events = [...input.alertEvents].sort((a, b) => a.at - b.at);
  const source = sourceName(input.incident.source);
  const out: TimelineEntry[] = [];
  let firstFiring = true;
  let joined = 0;
  for (const e of events) {
    const base = { at: iso(e.at), precise: precise(e.at), exact: true, actor: "alert" as const };
    if (e.status === "firing") {
      if (firstFiring) {
        firstFiring = false;
        const opened = e.outcome === "opened" ? "; incident opened" : "";
        const what = input.incident.alertSummary ? `: ${input.incident.alertSummary}` : "";
        out.push({ ...base, kind: "alert_firing", text: `alert fired (${source})${opened}${what}` });
      } else if (e.outcome === "rerun") {
        out.push({
          ...base,
          kind: "alert_firing",
          text: `alert fired again${joined ? ` (${joined} firing${joined === 1 ? "" : "s"} joined before)` : ""}; diagnosis re-run`,
        });
        joined = 0;
      } else if (e.outcome === "joined") joined++;
    } else if (e.outcome === "closed") {
      out.push({ ...base, kind: "alert_resolved", text: "alert resolved; incident closed" });
    } else if (e.outcome === "resolved") {
      out.push({ ...base, kind: "alert_resolved", text: "an alert resolved; others still firing" });
    }
  }
  return out;
}

function verdictList(d: Diagnosis): string {
  if (d.verdicts.length === 0)
    return d.status === "healthy" ? "healthy: no upstream failures in its window" : "no verdict";
  return d.verdicts.map((v) => `${v.cause} on ${v.target}`).join(", ");
}

function diagnosisEntries(input: SummaryInput, changed: boolean[]): TimelineEntry[] {
  return input.diagnoses.map((d, i) => ({
    at: iso(d.at),
    precise: precise(d.at),
    exact: true,
    kind: "diagnosis" as const,
    actor: "bot" as const,
    text: `diagnosis ${i + 1}${changed[i] ? " (verdicts changed)" : ""}: ${verdictList(d.diagnosis)}`,
    user: d.requestedBy,
    runId: d.runId,
  }));
}

const ACTION_KINDS: Record<string, TimelineKind> = {
  rerun: "rerun",
  evidence: "evidence",
  feedback_yes: "feedback_yes",
  feedback_no: "feedback_no",
  resolve: "resolve",
};

function actionEntries(input: SummaryInput): TimelineEntry[] {
  const number = new Map(input.diagnoses.map((d, i) => [d.runId, i + 1]));
  return input.actions.map((a) => {
    const kind = ACTION_KINDS[a.action] ?? "action";
    const n = a.runId ? number.get(a.runId) : undefined;
    const which = n ? `diagnosis ${n}` : "the diagnosis";
    const text = {
      rerun: `re-ran ${which}`,
      evidence: `opened the full evidence of ${which}`,
      feedback_yes: `said ${which} was right`,
      feedback_no: `said ${which} was wrong`,
      resolve: "resolved the incident by hand",
      action: `${a.action} (${which})`,
    }[kind as "rerun"];
    return {
      at: iso(a.at),
      precise: precise(a.at),
      exact: true,
      kind,
      actor: "person" as const,
      text,
      user: a.user,
      ...(a.runId ? { runId: a.runId } : {}),
    };
  });
}

function closeEntry(input: SummaryInput, others: TimelineEntry[]): TimelineEntry[] {
  const { closedAt, closedReason } = input.incident;
  if (closedAt === undefined) return [];
  const described =
    (closedReason === "resolved" && others.some((e) => e.text === "alert resolved; incident closed")) ||
    (closedReason === "resolved by hand" && others.some((e) => e.kind === "resolve"));
  if (described) return [];
  const text =
    closedReason === "no resolution received"
      ? "incident closed: no resolution received (no firing for a while)"
      : closedReason === "resolved by hand"
        ? "incident resolved by hand"
        : "incident resolved";
  return [{ at: iso(closedAt), precise: precise(closedAt), exact: true, kind: "closed", actor: "bot", text }];
}

/**
 * Stamps differ in precision: nginx, the journal and ps give whole seconds, dmesg and the bot's own records
 * milliseconds. Entries go by second; within a second by exact time when every stamp there has sub-second
 * digits, else in causal order (a whole-second stamp may be anywhere in its second), as the engine orders.
 */
export function inTimeOrder(entries: TimelineEntry[]): TimelineEntry[] {
  const indexed = entries.map((e, i) => ({ e, i, t: ms(e.at), s: startOfSecond(e.at) }));
  const allPrecise = new Map<number, boolean>();
  for (const x of indexed) allPrecise.set(x.s, (allPrecise.get(x.s) ?? true) && x.e.precise);
  return indexed
    .sort((a, b) => {
      if (a.s !== b.s) return a.s - b.s;
      const exact = allPrecise.get(a.s) === true;
      const byRank = RANK[a.e.kind] - RANK[b.e.kind];
      const byTime = a.t - b.t;
      return (exact ? byTime || byRank : byRank || byTime) || a.i - b.i;
    })
    .map((x) => x.e);
}

/** The one timeline of the incident: what machines logged, the alert, the diagnoses and what people did. */
export function buildTimeline(input: SummaryInput, impact: Impact, changed: boolean[]): TimelineEntry[] {
  const machine = machineEntries(input.diagnoses.map((d) => d.diagnosis));
  const rest = [
    ...impactEntries(impact, machine),
    ...alertEntries(input),
    ...diagnosisEntries(input, changed),
    ...actionEntries(input),
  ];
  return inTimeOrder([...machine, ...rest, ...closeEntry(input, rest)]);
}
