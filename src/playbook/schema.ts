import { z } from "zod";
import { CiteKey } from "../facts/schema.js";

const Id = z.string().regex(/^[a-z][a-z0-9_]*$/, "expected a lower_snake_case id");

/** Where a step leads: another step, or a verdict. Exactly one of the two. */
export const Outcome = z.union([z.object({ goto: Id }).strict(), z.object({ verdict: Id }).strict()]);
export type Outcome = z.infer<typeof Outcome>;

export const Branch = z.union([
  z.object({ when: z.string().min(1), goto: Id }).strict(),
  z.object({ when: z.string().min(1), verdict: Id }).strict(),
]);
export type Branch = z.infer<typeof Branch>;

export const Step = z
  .object({
    /** The question, as the trace shows it. May hold `{{ cel }}` templates. */
    ask: z.string().min(1),
    /** CEL expression whose value the trace records as "the value seen". */
    show: z.string().min(1).optional(),
    /** Evidence groups cited for this step. */
    cite: z.array(z.enum(CiteKey)).default([]),
    /** Branches tried in order; the first whose `when` is true is taken. */
    branches: z.array(Branch).default([]),
    /** Taken when no branch matches. */
    otherwise: Outcome,
  })
  .strict();
export type Step = z.infer<typeof Step>;

export const Confidence = z.enum(["high", "medium", "low"]);
export type Confidence = z.infer<typeof Confidence>;

export const VerdictSpec = z
  .object({
    title: z.string().min(1),
    /** Status the clients saw for this cause. */
    status: z.number().int().min(100).max(599),
    confidence: Confidence,
    /** Explanation with `{{ cel }}` templates for the concrete values. */
    explain: z.string().min(1),
    next_steps: z.array(z.string().min(1)).min(1),
    cite: z.array(z.enum(CiteKey)).default([]),
  })
  .strict();
export type VerdictSpec = z.infer<typeof VerdictSpec>;

export const PlaybookSpec = z
  .object({
    playbook: Id,
    description: z.string().optional(),
    start: Id,
    steps: z.record(Id, Step),
    verdicts: z.record(Id, VerdictSpec),
  })
  .strict();
export type PlaybookSpec = z.infer<typeof PlaybookSpec>;
