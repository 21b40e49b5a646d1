import type { EvidenceRef } from "./evidence-set.js";
import { CiteKey } from "./schema.js";

/** The evidence lines a target's facts rest on, by what they prove (a playbook verdict cites them by key). */
export type Citations = Record<CiteKey, EvidenceRef[]>;

export function emptyCitations(): Citations {
  return Object.fromEntries(CiteKey.map((k) => [k, []])) as unknown as Citations;
}
