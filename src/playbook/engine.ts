import type { Environment } from "@marcbachmann/cel-js";
import { addProse, hasCode, type Prose, proseText, trimProse } from "../diagnosis/prose.js";
import type { Diagnosis, TraceStep, Verdict } from "../diagnosis/types.js";
import { UserError } from "../errors.js";
import { correctionNote } from "../facts/clock.js";
import type { Citations, Facts, TargetAnalysis } from "../facts/derive.js";
import type { EvidenceRef } from "../facts/evidence-set.js";
import type { CiteKey } from "../facts/schema.js";
import { excerpt } from "./cel-limits.js";
import { MAX_WALK_STEPS, type Playbook } from "./loader.js";
import type { Outcome } from "./schema.js";
import { fillTemplate, formatValue } from "./template.js";

/** Where an expression is evaluated, for the message when it fails. */
interface Place {
  playbook: Playbook;
  where: string;
  target: string;
}

/** Evaluate one expression; a failure is one sentence naming the step, the target and a bounded excerpt. */
function evaluate(place: Place, expr: string, ctx: Context): unknown {
  try {
    return place.playbook.env.evaluate(expr, ctx);
  } catch (e) {
    const error = e as { summary?: string; message?: string; range?: { start?: number } };
    const why = (error.summary ?? error.message ?? String(e)).split("\n")[0]?.replace(/\.$/, "");
    throw new UserError(
      "playbook_invalid",
      `${place.playbook.file}: ${place.where}: CEL expression \`${excerpt(expr, error.range?.start)}\` failed for ${place.target}: ${why}.`,
    );
  }
}

interface Context {
  target: TargetAnalysis["facts"];
  errors: TargetAnalysis["errors"];
  gateway: Facts["gateway"];
}

/** Parsed placeholders, per environment: a template is parsed once however many targets it is filled for. */
const parsed = new WeakMap<Environment, Map<string, unknown>>();

function ast(env: Environment, expr: string): unknown {
  let cache = parsed.get(env);
  if (!cache) {
    cache = new Map();
    parsed.set(env, cache);
  }
  if (!cache.has(expr)) cache.set(expr, env.parse(expr).ast);
  return cache.get(expr);
}

/** Fill a template; its pieces are kept in `prose` when the playbook's text has code spans. */
function render(place: Place, text: string, ctx: Context, prose: Prose[], trim = false): string {
  const filled = fillTemplate(text, {
    evaluate: (expr) => evaluate(place, expr, ctx),
    ast: (expr) => ast(place.playbook.env, expr),
  });
  const p = trim ? trimProse(filled) : filled;
  if (hasCode(p)) prose.push(p);
  return proseText(p);
}

function cited(cite: Citations, keys: readonly CiteKey[]): EvidenceRef[] {
  const seen = new Set<string>();
  const out: EvidenceRef[] = [];
  for (const k of keys) {
    for (const ref of cite[k]) {
      const id = `${ref.host}|${ref.source}|${ref.line}`;
      if (seen.has(id)) continue;
      seen.add(id);
      out.push(ref);
    }
  }
  return out;
}

/** Walk the playbook's tree for one failing target; returns the verdict and the trace. */
export function evaluateTarget(
  playbook: Playbook,
  analysis: TargetAnalysis,
  gateway: Facts["gateway"],
): { verdict: Verdict; trace: TraceStep[]; prose: Prose[] } {
  const { spec } = playbook;
  const prose: Prose[] = [];
  const ctx: Context = { target: analysis.facts, errors: analysis.errors, gateway };
  const trace: TraceStep[] = [];
  let stepId = spec.start;
  const target = analysis.facts.address;
  for (let n = 0; n < MAX_WALK_STEPS; n++) {
    const step = spec.steps[stepId];
    if (!step) throw new Error(`playbook ${playbook.file}: step "${stepId}" vanished after loading`);
    const at = (what: string): Place => ({ playbook, where: `steps.${stepId}.${what}`, target });
    const value = step.show ? formatValue(evaluate(at("show"), step.show, ctx)) : "";
    const branch = step.branches.find((b, i) => evaluate(at(`branches[${i}].when`), b.when, ctx) === true);
    const outcome: Outcome = branch
      ? "goto" in branch
        ? { goto: branch.goto }
        : { verdict: branch.verdict }
      : step.otherwise;
    trace.push({
      target: analysis.facts.address,
      step: stepId,
      question: render(at("ask"), step.ask, ctx, prose),
      value,
      outcome: "goto" in outcome ? `goto ${outcome.goto}` : `verdict ${outcome.verdict}`,
      evidence: cited(analysis.cite, step.cite),
    });
    if ("goto" in outcome) {
      stepId = outcome.goto;
      continue;
    }
    const v = spec.verdicts[outcome.verdict];
    if (!v) throw new Error(`playbook ${playbook.file}: verdict "${outcome.verdict}" vanished after loading`);
    const of = (what: string): Place => ({ playbook, where: `verdicts.${outcome.verdict}.${what}`, target });
    return {
      verdict: {
        target: analysis.facts.address,
        cause: outcome.verdict,
        title: render(of("title"), v.title, ctx, prose),
        status: v.status,
        confidence: v.confidence,
        explanation: render(of("explain"), v.explain, ctx, prose, true),
        nextSteps: v.next_steps.map((s, i) => render(of(`next_steps[${i}]`), s, ctx, prose)),
        evidence: cited(analysis.cite, v.cite),
      },
      trace,
      prose,
    };
  }
  throw new Error(`playbook ${playbook.file}: more than ${MAX_WALK_STEPS} steps for ${target}`);
}

export function runPlaybook(playbook: Playbook, facts: Facts, collectedAt: string): Diagnosis {
  const verdicts: Verdict[] = [];
  const trace: TraceStep[] = [];
  const prose = new Map<string, Prose>();
  for (const t of facts.targets) {
    const r = evaluateTarget(playbook, t, facts.gateway);
    verdicts.push(r.verdict);
    trace.push(...r.trace);
    for (const p of r.prose) prose.set(proseText(p), p);
  }
  // Healthy only when every gateway's error log was read over the whole window.
  const status =
    verdicts.length > 0
      ? "failing"
      : facts.gateway.logsRead === 0 || facts.gatewayLogGaps.length > 0
        ? "unknown"
        : "healthy";
  const summary = withClockNotes(summarize(facts, verdicts, status), facts);
  // One verdict: the summary is its title after the service's name, and keeps the title's code spans.
  const title = verdicts.length === 1 ? prose.get(verdicts[0]?.title ?? "") : undefined;
  if (title) {
    const p: Prose = ["", facts.service, ": "];
    addProse(p, title);
    if (proseText(p) === summary) prose.set(summary, p);
  }
  return {
    service: facts.service,
    window: facts.window,
    collectedAt,
    playbook: playbook.spec.playbook,
    status,
    summary,
    gateway: {
      errors: facts.gateway.errors,
      status502: facts.gateway.status502,
      status504: facts.gateway.status504,
      requests: facts.gateway.requests,
      upstream: facts.gateway.upstream,
    },
    verdicts,
    trace,
    timeline: facts.timeline,
    hosts: facts.hosts,
    masked: 0,
    unreadable: facts.unreadable,
    ...(prose.size > 0 ? { prose: [...prose.values()] } : {}),
  };
}

/** Failing targets (or gateways) the one-line summary names; the rest are counted ("and 196 more"). */
const SUMMARY_TARGETS = 5;

/** The first few of a list joined by `sep`, then how many more. */
function firstFew(list: string[], sep: string): string {
  const more = list.length - SUMMARY_TARGETS;
  return `${list.slice(0, SUMMARY_TARGETS).join(sep)}${more > 0 ? `${sep}and ${more} more` : ""}`;
}

function summarize(facts: Facts, verdicts: Verdict[], status: Diagnosis["status"]): string {
  if (status === "unknown") {
    const failed = facts.hosts
      .filter((h) => h.role === "gateway" && !h.ok)
      .map((h) => `${h.name} (${h.failure?.code})`);
    if (facts.gateway.logsRead === 0) {
      const unread = facts.gatewayLogGaps.filter((g) => g.answered).map((g) => g.missing);
      return `Cannot tell why ${facts.service} fails: no gateway's nginx error log could be read${failed.length ? `; ${firstFew(failed, ", ")} did not answer` : ""}${unread.length ? `; ${firstFew(unread, "; ")}` : ""}.`;
    }
    return `Cannot say ${facts.service} is healthy: nginx logged no upstream failures in what was read, but not the whole window was read: ${firstFew(
      facts.gatewayLogGaps.map((g) => g.missing),
      "; ",
    )}.`;
  }
  if (verdicts.length === 0) {
    return `No upstream failures for ${facts.service} in the window: nginx logged no 502/504 errors for its backends.`;
  }
  if (verdicts.length === 1 && verdicts[0]) return `${facts.service}: ${verdicts[0].title}`;
  const causes = [...new Set(verdicts.map((v) => v.cause))];
  const named = verdicts.slice(0, SUMMARY_TARGETS).map((v) => `${v.target} ${v.cause}`);
  const more = verdicts.length - named.length;
  return `${facts.service}: ${verdicts.length} failing targets, ${causes.length} cause${causes.length === 1 ? "" : "s"}: ${named.join("; ")}${more > 0 ? `; and ${more} more` : ""}`;
}

/** Say which hosts' clocks were off, and by how much their events were moved. */
function withClockNotes(summary: string, facts: Facts): string {
  const notes = facts.hosts
    .filter((h) => h.clockCorrectionMs !== undefined)
    .map((h) => correctionNote(h.name, h.clockCorrectionMs ?? 0));
  return notes.length === 0 ? summary : `${summary.replace(/\.$/, "")}. ${notes.join("; ")}.`;
}
