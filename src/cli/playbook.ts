import { parseArgs } from "node:util";
import { UserError } from "../errors.js";
import { runCases } from "../playbook/cases.js";
import { loadPlaybook } from "../playbook/loader.js";
import { defaultPlaybookPath, type Io, packageRoot } from "./io.js";

export const playbookHelp = `Usage:
  why502 playbook test [DIR]     run the cases in DIR/cases (default: the built-in playbooks/) and check
                                 that every verdict of every playbook has a case
  why502 playbook check [FILE]   load a playbook and check its schema and CEL expressions
`;

export async function runPlaybookCommand(args: string[], io: Io): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { help: { type: "boolean", short: "h" } },
  });
  const [sub, target] = positionals;
  if (values.help || !sub) {
    io.stdout.write(playbookHelp);
    return sub || values.help ? 0 : 2;
  }
  if (sub === "check") {
    const file = target ?? defaultPlaybookPath();
    const p = loadPlaybook(file);
    io.stdout.write(
      `${file}: ok (${Object.keys(p.spec.steps).length} steps, ${Object.keys(p.spec.verdicts).length} verdicts)\n`,
    );
    return 0;
  }
  if (sub !== "test")
    throw new UserError(
      "usage",
      `Unknown playbook command "${sub}": use \`playbook test\` or \`playbook check\`.`,
    );
  const dir = target ?? `${packageRoot}playbooks`;
  const report = runCases(dir);
  let passed = 0;
  let failed = 0;
  for (const r of report.results) {
    if (r.ok) {
      passed++;
      io.stdout.write(`ok    ${r.name}: ${r.actual.join("; ") || "healthy"}\n`);
    } else {
      failed++;
      io.stdout.write(
        `FAIL  ${r.name}: ${r.error ?? `expected [${r.expected.join("; ")}], got [${r.actual.join("; ")}]`}\n`,
      );
    }
  }
  for (const u of report.uncovered) {
    failed++;
    io.stdout.write(`FAIL  ${u.playbook}: no case produces verdict ${u.verdicts.join(", ")}\n`);
  }
  if (report.results.length === 0) {
    io.stdout.write(`no cases found in ${dir}/cases\n`);
    failed++;
  }
  io.stdout.write(`playbook cases: ${passed} passed, ${failed} failed\n`);
  return failed === 0 ? 0 : 1;
}
