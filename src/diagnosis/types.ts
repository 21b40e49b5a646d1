import { z } from "zod";
import { Prose } from "./prose.js";

export const EvidenceRef = z.object({
  host: z.string(),
  source: z.string(),
  line: z.number(),
  text: z.string(),
  time: z.string().optional(),
});

export const Verdict = z.object({
  /** The failing upstream target this verdict explains. */
  target: z.string(),
  /** Verdict id from the playbook, e.g. `oom_killed`. */
  cause: z.string(),
  title: z.string(),
  status: z.number(),
  confidence: z.enum(["high", "medium", "low"]),
  explanation: z.string(),
  nextSteps: z.array(z.string()),
  evidence: z.array(EvidenceRef),
});
export type Verdict = z.infer<typeof Verdict>;

export const TraceStep = z.object({
  target: z.string(),
  step: z.string(),
  question: z.string(),
  value: z.string(),
  /** `goto <step>` or `verdict <id>`. */
  outcome: z.string(),
  evidence: z.array(EvidenceRef),
});
export type TraceStep = z.infer<typeof TraceStep>;

export const HostStatus = z.object({
  name: z.string(),
  address: z.string(),
  role: z.enum(["gateway", "backend"]),
  ok: z.boolean(),
  failure: z.object({ code: z.string(), message: z.string() }).optional(),
  commands: z.array(
    z.object({
      id: z.string(),
      ok: z.boolean(),
      failure: z.string().optional(),
      unreadable: z.number(),
      truncated: z.boolean(),
    }),
  ),
  skewMs: z.number().optional(),
  /** Added to the host's stamps to put them on the collector's clock, when its skew was corrected. */
  clockCorrectionMs: z.number().optional(),
});

export const Diagnosis = z.object({
  service: z.string(),
  window: z.object({ since: z.string(), until: z.string() }),
  collectedAt: z.string(),
  playbook: z.string(),
  /**
   * failing: at least one verdict; healthy: every gateway's nginx error log was read over the whole window and
   * shows no upstream failures; unknown: no verdict, but some gateway's error log was not read over the whole
   * window (the summary says what is missing), so neither can be said.
   */
  status: z.enum(["failing", "healthy", "unknown"]),
  summary: z.string(),
  gateway: z.object({
    errors: z.number(),
    status502: z.number(),
    status504: z.number(),
    requests: z.number(),
    upstream: z.string(),
  }),
  verdicts: z.array(Verdict),
  trace: z.array(TraceStep),
  timeline: z.array(z.object({ time: z.string(), host: z.string(), what: z.string(), ref: EvidenceRef })),
  hosts: z.array(HostStatus),
  /** Secrets masked in evidence text before it left the engine. */
  masked: z.number(),
  /** Lines parsers could not read. */
  unreadable: z.number(),
  /**
   * The sentences above (summary, titles, explanations, next steps, questions) whose playbook text has code
   * spans, as the playbook's text and the values filled in (see prose.ts): renderers keep those code spans
   * and escape the values. Any other sentence is escaped as host text throughout.
   */
  prose: z.array(Prose).optional(),
});
export type Diagnosis = z.infer<typeof Diagnosis>;
