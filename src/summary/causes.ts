import type { Diagnosis, Verdict } from "../diagnosis/types.js";
import { hostOfTarget } from "./impact.js";
import type { DiagnosisRound, RootCause, SummaryInput } from "./schema.js";
import { iso } from "./time.js";

/** Causes that are events (each kill or crash is one), not conditions that last (a stale address). */
const EVENT_CAUSES = new Set([
  "oom_killed",
  "crashed",
  "crashed_segfault",
  "exited_on_purpose",
  "crashed_no_trace",
]);

type Ref = Verdict["evidence"][number];

function refKey(r: Ref): string {
  return `${r.host}|${r.source}|${r.time ?? ""}|${r.text.split("\n")[0] ?? ""}`;
}

function gatewayNames(diagnoses: Diagnosis[]): Set<string> {
  return new Set(diagnoses.flatMap((d) => d.hosts.filter((h) => h.role === "gateway").map((h) => h.name)));
}

/** The backend's own lines that prove one event: a kill seen by two diagnoses shares them, two kills do not. */
function eventKeys(v: Verdict, gateways: Set<string>): string[] {
  return v.evidence.filter((r) => r.time !== undefined && !gateways.has(r.host)).map(refKey);
}

interface Group {
  cause: RootCause;
  events: Set<string>[];
  refs: Set<string>;
  /** The first line cited for each separate event: shown first, so a short excerpt proves every one. */
  primary: Set<string>;
}

/**
 * Root causes across the diagnoses: one per cause and target, in the order first seen, with every line that
 * proves it (once), how many separate events of it there were, which diagnoses saw it and what people said.
 */
export function buildCauses(input: SummaryInput): RootCause[] {
  const diagnoses = input.diagnoses.map((d) => d.diagnosis);
  const gateways = gatewayNames(diagnoses);
  const groups = new Map<string, Group>();
  const lastN = input.diagnoses.length;
  input.diagnoses.forEach((run, i) => {
    for (const v of run.diagnosis.verdicts) {
      const id = `${v.cause}|${v.target}`;
      let g = groups.get(id);
      if (!g) {
        const subject =
          v.cause === "stale_upstream" ? v.target : (hostOfTarget(v.target, diagnoses) ?? v.target);
        g = {
          cause: {
            cause: v.cause,
            target: v.target,
            subject,
            title: v.title,
            titles: [],
            explanation: v.explanation,
            status: v.status,
            confidence: v.confidence,
            occurrences: 0,
            seenIn: [],
            inLastDiagnosis: false,
            evidence: [],
            nextSteps: [],
            markedWrongBy: [],
            markedRightBy: [],
          },
          events: [],
          refs: new Set(),
          primary: new Set(),
        };
        groups.set(id, g);
      }
      const c = g.cause;
      c.title = v.title;
      c.explanation = v.explanation;
      c.confidence = v.confidence;
      c.status = v.status;
      if (!c.titles.includes(v.title)) c.titles.push(v.title);
      if (!c.seenIn.includes(i + 1)) c.seenIn.push(i + 1);
      c.inLastDiagnosis = i + 1 === lastN;
      for (const s of v.nextSteps) if (!c.nextSteps.includes(s)) c.nextSteps.push(s);
      for (const r of v.evidence) {
        const k = refKey(r);
        if (g.refs.has(k)) continue;
        g.refs.add(k);
        c.evidence.push(r);
      }
      const keys = eventKeys(v, gateways);
      const same = g.events.find((e) => keys.some((k) => e.has(k)));
      if (same) for (const k of keys) same.add(k);
      else if (g.events.length === 0 || (EVENT_CAUSES.has(v.cause) && keys.length > 0)) {
        g.events.push(new Set(keys));
        const lead = v.evidence[0];
        if (lead) g.primary.add(refKey(lead));
      }
    }
  });
  const runCauses = new Map(input.diagnoses.map((d) => [d.runId, d.diagnosis.verdicts]));
  for (const a of input.actions) {
    if (a.action !== "feedback_yes" && a.action !== "feedback_no") continue;
    for (const v of (a.runId && runCauses.get(a.runId)) || []) {
      const c = groups.get(`${v.cause}|${v.target}`)?.cause;
      const list = a.action === "feedback_no" ? c?.markedWrongBy : c?.markedRightBy;
      if (list && !list.includes(a.user)) list.push(a.user);
    }
  }
  return [...groups.values()].map((g) => ({
    ...g.cause,
    evidence: [
      ...g.cause.evidence.filter((r) => g.primary.has(refKey(r))),
      ...g.cause.evidence.filter((r) => !g.primary.has(refKey(r))),
    ],
    occurrences: EVENT_CAUSES.has(g.cause.cause) ? Math.max(1, g.events.length) : 1,
  }));
}

function verdictSet(d: Diagnosis): string {
  return d.verdicts
    .map((v) => `${v.target}|${v.cause}`)
    .sort()
    .join(",");
}

/** Each diagnosis's verdicts, and whether they differ from the one before. */
export function buildRounds(input: SummaryInput): DiagnosisRound[] {
  return input.diagnoses.map((run, i) => {
    const prev = input.diagnoses[i - 1];
    return {
      n: i + 1,
      runId: run.runId,
      at: iso(run.at),
      requestedBy: run.requestedBy,
      status: run.diagnosis.status,
      summary: run.diagnosis.summary,
      verdicts: run.diagnosis.verdicts.map((v) => ({ target: v.target, cause: v.cause, title: v.title })),
      changed: prev !== undefined && verdictSet(prev.diagnosis) !== verdictSet(run.diagnosis),
      hostsFailed: run.diagnosis.hosts.filter((h) => !h.ok).map((h) => h.name),
    };
  });
}

/** What a cause did to whom, short: `checkout-1 OOM-killed`. */
const PHRASES: Record<string, (who: string) => string> = {
  oom_killed: (w) => `${w} OOM-killed`,
  crashed: (w) => `${w} crashed`,
  crashed_segfault: (w) => `${w} segfaulted`,
  exited_on_purpose: (w) => `${w} exited on purpose`,
  crashed_no_trace: (w) => `${w} died without a trace`,
  crash_loop: (w) => `${w} in a crash loop`,
  down: (w) => `${w} down`,
  host_unreachable: (w) => `${w} unreachable`,
  stale_upstream: (w) => `nginx routed to retired ${w}`,
  write_timeout: (w) => `${w} write timeout too short`,
  keepalive_race: (w) => `keepalive race with ${w}`,
  header_too_big: (w) => `${w} response headers too big`,
  invalid_response: (w) => `${w} sent invalid responses`,
  fastcgi_socket: (w) => `socket ${w} unusable`,
  pool_exhausted: (w) => `${w} pool exhausted`,
  tls_upstream: (w) => `TLS to ${w} failing`,
  dns: (w) => `DNS for ${w} failing`,
  upstream_timeout: (w) => `${w} too slow (504)`,
  no_live_peers: (w) => `no live servers in ${w}`,
  inconclusive: (w) => `${w}: cause not found`,
};

function names(subjects: string[]): string {
  if (subjects.length === 1) return subjects[0] ?? "";
  if (subjects.length === 2) return `${subjects[0]} and ${subjects[1]}`;
  return `${subjects.length} backends`;
}

/**
 * The causes in a few words, most frequent first: one kind of cause on several targets is one phrase, its
 * events counted across targets and diagnoses (`checkout-1 and checkout-2 OOM-killed (3×)`).
 */
export function causesPhrase(causes: RootCause[], max = 3): string {
  const kinds = new Map<string, { subjects: string[]; n: number; title: string; first: number }>();
  causes.forEach((c, i) => {
    const k = kinds.get(c.cause) ?? { subjects: [], n: 0, title: c.title, first: i };
    kinds.set(c.cause, k);
    if (!k.subjects.includes(c.subject)) k.subjects.push(c.subject);
    k.n += c.occurrences;
  });
  const ordered = [...kinds.entries()].sort(([, a], [, b]) => b.n - a.n || a.first - b.first);
  const parts = ordered.slice(0, max).map(([cause, k]) => {
    const phrase = PHRASES[cause];
    const text = phrase ? phrase(names(k.subjects)) : k.title;
    return k.n > 1 ? `${text} (${k.n}×)` : text;
  });
  if (ordered.length > max) parts.push(`${ordered.length - max} more`);
  return parts.join("; ");
}

function stepKey(s: string): string {
  return s
    .toLowerCase()
    .replace(/\s+/g, " ")
    .replace(/[.;:\s]+$/, "")
    .trim();
}

/** The verdicts' next steps, each once, in the order the causes were found; each says which causes ask it. */
export function buildFollowUps(causes: RootCause[]): { text: string; causes: string[] }[] {
  const out = new Map<string, { text: string; causes: string[] }>();
  for (const c of causes)
    for (const s of c.nextSteps) {
      const k = stepKey(s);
      if (!k) continue;
      const f = out.get(k) ?? { text: s.trim(), causes: [] };
      out.set(k, f);
      if (!f.causes.includes(c.cause)) f.causes.push(c.cause);
    }
  return [...out.values()];
}
