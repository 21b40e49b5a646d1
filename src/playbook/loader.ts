import type { Environment } from "@marcbachmann/cel-js";
import { UserError } from "../errors.js";
import { type Path, parseYaml, readYamlFile } from "../yaml-location.js";
import { createEnvironment } from "./cel.js";
import { type Outcome, PlaybookSpec } from "./schema.js";
import { splitTemplate } from "./template.js";

export interface Playbook {
  spec: PlaybookSpec;
  file: string;
  env: Environment;
}

/** Parse and check a playbook: YAML, schema, graph and every CEL expression, before anything runs. */
export function parsePlaybook(text: string, file: string): Playbook {
  const { data: spec, where } = parseYaml(text, file, PlaybookSpec, {
    code: "playbook_invalid",
    what: "playbook",
    hint: "See playbooks/README.md for the playbook format.",
  });
  const env = createEnvironment();
  const fail = (path: Path, message: string): never => {
    throw new UserError("playbook_invalid", `${where(path)}: ${message}.`);
  };
  const checkExpr = (path: Path, expr: string, wantBool: boolean) => {
    const result = env.check(expr);
    if (!result.valid) {
      const first = result.error?.message.split("\n")[0] ?? "invalid expression";
      fail(path, `CEL expression \`${expr}\` is invalid: ${first}`);
    }
    if (wantBool && result.type !== "bool" && result.type !== "dyn") {
      fail(path, `CEL condition \`${expr}\` must be a bool, it is ${result.type}`);
    }
  };
  const checkTemplate = (path: Path, text: string) => {
    for (const part of splitTemplate(text)) if (part.expr !== undefined) checkExpr(path, part.expr, false);
  };
  const checkOutcome = (path: Path, o: Outcome) => {
    if ("goto" in o && !(o.goto in spec.steps)) fail([...path, "goto"], `no step named "${o.goto}"`);
    if ("verdict" in o && !(o.verdict in spec.verdicts))
      fail([...path, "verdict"], `no verdict named "${o.verdict}"`);
  };

  if (!(spec.start in spec.steps)) fail(["start"], `no step named "${spec.start}"`);
  for (const [id, step] of Object.entries(spec.steps)) {
    checkTemplate(["steps", id, "ask"], step.ask);
    if (step.show) checkExpr(["steps", id, "show"], step.show, false);
    step.branches.forEach((b, i) => {
      checkExpr(["steps", id, "branches", i, "when"], b.when, true);
      checkOutcome(["steps", id, "branches", i], b);
    });
    checkOutcome(["steps", id, "otherwise"], step.otherwise);
  }
  for (const [id, v] of Object.entries(spec.verdicts)) {
    checkTemplate(["verdicts", id, "title"], v.title);
    checkTemplate(["verdicts", id, "explain"], v.explain);
    for (const [i, s] of v.next_steps.entries()) checkTemplate(["verdicts", id, "next_steps", i], s);
  }
  const cycle = findCycle(spec);
  if (cycle)
    fail(
      ["steps", cycle[cycle.length - 2] ?? spec.start],
      `steps loop back on themselves (${cycle.join(" -> ")})`,
    );
  return { spec, file, env };
}

function findCycle(spec: PlaybookSpec): string[] | undefined {
  const state = new Map<string, "active" | "done">();
  const visit = (id: string, stack: string[]): string[] | undefined => {
    if (state.get(id) === "active") return [...stack, id];
    if (state.get(id) === "done") return undefined;
    state.set(id, "active");
    const step = spec.steps[id];
    const next = step ? [...step.branches, step.otherwise].flatMap((o) => ("goto" in o ? [o.goto] : [])) : [];
    for (const n of next) {
      const c = visit(n, [...stack, id]);
      if (c) return c;
    }
    state.set(id, "done");
    return undefined;
  };
  return visit(spec.start, []);
}

export function loadPlaybook(file: string): Playbook {
  return parsePlaybook(readYamlFile(file, "playbook", "playbook_invalid"), file);
}
