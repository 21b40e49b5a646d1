import type { Bundle } from "../bundle/schema.js";
import { cutGatewayLogs } from "../facts/coverage.js";
import { deriveFacts } from "../facts/derive.js";
import { runPlaybook } from "../playbook/engine.js";
import type { Playbook } from "../playbook/loader.js";
import { maskSecrets, type RedactPatterns } from "./mask.js";
import { maskProse } from "./prose.js";
import type { Diagnosis } from "./types.js";

export interface DiagnoseOptions {
  /** The config's `redact.patterns`, masked as well as the built-in secret shapes. */
  redact?: RedactPatterns;
}

/** Bundle in, diagnosis out: parse, derive facts, walk the playbook, mask secrets. Pure and deterministic. */
export function diagnoseBundle(bundle: Bundle, playbook: Playbook, opts: DiagnoseOptions = {}): Diagnosis {
  const facts = deriveFacts(bundle);
  return maskDiagnosis(withCutNotes(runPlaybook(playbook, facts, bundle.collectedAt), bundle), opts.redact);
}

/**
 * A verdict found in a cut gateway error log still says the log was cut, in the summary every format shows
 * (which host, which log, how many bytes kept); without a verdict the summary says it already.
 */
function withCutNotes(d: Diagnosis, bundle: Bundle): Diagnosis {
  if (d.status === "unknown") return d;
  const cut = cutGatewayLogs(bundle);
  if (cut.length === 0) return d;
  const note = `${cut.join("; ")}: the window's start is missing, and what it held is not in these verdicts`;
  return { ...d, summary: `${d.summary.replace(/\.$/, "")}. ${note}.` };
}

/**
 * Mask secrets in every piece of host text the diagnosis carries (evidence, verdicts, trace, timeline, the
 * hosts' and commands' failure messages), and count them once per distinct line, added to what was
 * counted before: masking a masked diagnosis again keeps its count.
 */
export function maskDiagnosis(d: Diagnosis, extra: RedactPatterns = []): Diagnosis {
  const counted = new Map<string, { text: string; count: number }>();
  const mask = (text: string) => {
    const seen = counted.get(text);
    if (seen) return seen.text;
    const m = maskSecrets(text, extra);
    counted.set(text, m);
    return m.text;
  };
  const refs = <T extends { text: string }>(list: T[]): T[] =>
    list.map((r) => ({ ...r, text: mask(r.text) }));
  const out: Diagnosis = {
    ...d,
    summary: mask(d.summary),
    verdicts: d.verdicts.map((v) => ({
      ...v,
      title: mask(v.title),
      explanation: mask(v.explanation),
      nextSteps: v.nextSteps.map(mask),
      evidence: refs(v.evidence),
    })),
    trace: d.trace.map((t) => ({
      ...t,
      question: mask(t.question),
      value: mask(t.value),
      evidence: refs(t.evidence),
    })),
    timeline: d.timeline.map((e) => ({
      ...e,
      what: mask(e.what),
      ref: { ...e.ref, text: mask(e.ref.text) },
    })),
    hosts: d.hosts.map((h) => ({
      ...h,
      ...(h.failure ? { failure: { ...h.failure, message: mask(h.failure.message) } } : {}),
      commands: h.commands.map((c) => (c.failure === undefined ? c : { ...c, failure: mask(c.failure) })),
    })),
  };
  out.masked = d.masked + [...counted.values()].reduce((n, m) => n + m.count, 0);
  // The sentences' pieces are masked as their sentences are (not counted again).
  if (d.prose) out.prose = maskProse(d.prose, (text) => maskSecrets(text, extra).text);
  return out;
}
