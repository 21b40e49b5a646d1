import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { loadBundle } from "../bundle/load.js";
import { diagnoseBundle } from "../diagnosis/diagnose.js";
import { UserError } from "../errors.js";
import { loadPlaybook, type Playbook } from "./loader.js";

/** A playbook case: a bundle and the verdicts it must produce (any order, nothing more, nothing less). */
export const CaseExpectation = z
  .object({
    playbook: z.string().default("why502.yaml"),
    description: z.string().optional(),
    verdicts: z.array(z.object({ target: z.string(), cause: z.string() }).strict()),
  })
  .strict();
export type CaseExpectation = z.infer<typeof CaseExpectation>;

export interface CaseResult {
  name: string;
  ok: boolean;
  expected: string[];
  actual: string[];
  error?: string;
}

export interface CasesReport {
  results: CaseResult[];
  /** Verdicts of each playbook that no case produces. */
  uncovered: { playbook: string; verdicts: string[] }[];
}

const key = (v: { target: string; cause: string }) => `${v.target} ${v.cause}`;

function readExpectation(file: string): CaseExpectation {
  let data: unknown;
  try {
    data = parseYaml(readFileSync(file, "utf8"));
  } catch (e) {
    throw new UserError(
      "bad_input",
      `${file}: invalid YAML (${e instanceof Error ? e.message.split("\n")[0] : String(e)}).`,
    );
  }
  const parsed = CaseExpectation.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(
      "bad_input",
      `${file}: ${issue?.path.join(".") || "case"}: ${issue?.message ?? "invalid"}.`,
    );
  }
  return parsed.data;
}

/** Run every case under DIR/cases against the playbooks in DIR. */
export function runCases(dir: string): CasesReport {
  const casesDir = join(dir, "cases");
  if (!existsSync(casesDir))
    throw new UserError(
      "file_not_found",
      `No cases directory at ${casesDir}: a playbook directory holds its cases in cases/<name>/.`,
    );
  const playbooks = new Map<string, Playbook>();
  const produced = new Map<string, Set<string>>();
  const results: CaseResult[] = [];
  for (const name of readdirSync(casesDir).sort()) {
    const caseDir = join(casesDir, name);
    const expectFile = join(caseDir, "expect.yaml");
    if (!existsSync(expectFile)) continue;
    const expected = readExpectation(expectFile);
    let playbook = playbooks.get(expected.playbook);
    if (!playbook) {
      playbook = loadPlaybook(join(dir, expected.playbook));
      playbooks.set(expected.playbook, playbook);
      produced.set(expected.playbook, new Set());
    }
    const want = expected.verdicts.map(key).sort();
    try {
      const diagnosis = diagnoseBundle(loadBundle(join(caseDir, "bundle.json")), playbook);
      const got = diagnosis.verdicts.map(key).sort();
      for (const v of diagnosis.verdicts) produced.get(expected.playbook)?.add(v.cause);
      results.push({ name, ok: JSON.stringify(want) === JSON.stringify(got), expected: want, actual: got });
    } catch (e) {
      results.push({
        name,
        ok: false,
        expected: want,
        actual: [],
        error: e instanceof Error ? e.message : String(e),
      });
    }
  }
  const uncovered: CasesReport["uncovered"] = [];
  for (const [file, playbook] of playbooks) {
    const seen = produced.get(file) ?? new Set();
    const missing = Object.keys(playbook.spec.verdicts).filter((v) => !seen.has(v));
    if (missing.length) uncovered.push({ playbook: file, verdicts: missing });
  }
  return { results, uncovered };
}
