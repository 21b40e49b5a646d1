import type { Environment } from "@marcbachmann/cel-js";
import { UserError } from "../errors.js";
import { type Path, parseYaml, readYamlFile } from "../yaml-location.js";
import { createEnvironment } from "./cel.js";
import { CEL_LIMITS, costProblem, excerpt } from "./cel-limits.js";
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
    if (expr.length > CEL_LIMITS.maxExpressionChars)
      fail(
        path,
        `CEL expression \`${excerpt(expr)}\` has ${expr.length} characters, more than the ${CEL_LIMITS.maxExpressionChars} allowed`,
      );
    const result = env.check(expr);
    if (!result.valid) {
      const error = result.error as
        | { summary?: string; message?: string; range?: { start?: number } }
        | undefined;
      const first = (error?.summary ?? error?.message ?? "invalid expression").split("\n")[0];
      fail(
        path,
        `CEL expression \`${excerpt(expr, error?.range?.start)}\` is invalid: ${first?.replace(/\.$/, "")}`,
      );
    }
    if (wantBool && result.type !== "bool" && result.type !== "dyn") {
      fail(path, `CEL condition \`${excerpt(expr)}\` must be a bool, it is ${result.type}`);
    }
    const costly = costProblem(env.parse(expr).ast);
    if (costly) fail(path, `CEL expression \`${excerpt(expr, costly.at)}\`: ${costly.message}`);
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
  const walk = walkSteps(spec);
  if (walk.cycle)
    fail(
      ["steps", walk.cycle[walk.cycle.length - 2] ?? spec.start],
      `steps loop back on themselves (${walk.cycle.join(" -> ")})`,
    );
  if (walk.longest > MAX_WALK_STEPS)
    fail(
      ["start"],
      `the longest way from step "${spec.start}" to a verdict passes ${walk.longest} steps, more than the ${MAX_WALK_STEPS} a target may take`,
    );
  return { spec, file, env };
}

/** The most steps one target's walk may take; the loader refuses a playbook whose longest walk is longer. */
export const MAX_WALK_STEPS = 200;

const nextSteps = (step: PlaybookSpec["steps"][string] | undefined): string[] =>
  step ? [...step.branches, step.otherwise].flatMap((o) => ("goto" in o ? [o.goto] : [])) : [];

/**
 * A loop among the steps reachable from `start` (the steps of the loop, the first repeated at the end, long
 * loops shortened), and the most steps a walk from `start` can take. One depth-first pass without recursion:
 * linear in the steps and branches, however long the chain.
 */
export function walkSteps(spec: PlaybookSpec): { cycle?: string[]; longest: number } {
  const state = new Map<string, "active" | number>();
  const stack: { id: string; next: string[]; i: number; longest: number }[] = [];
  const open = (id: string) => {
    state.set(id, "active");
    stack.push({ id, next: nextSteps(spec.steps[id]), i: 0, longest: 0 });
  };
  open(spec.start);
  for (let top = stack[stack.length - 1]; top; top = stack[stack.length - 1]) {
    const n = top.next[top.i++];
    if (n === undefined) {
      stack.pop();
      const done = top.longest + 1;
      state.set(top.id, done);
      const parent = stack[stack.length - 1];
      if (parent) parent.longest = Math.max(parent.longest, done);
      continue;
    }
    const seen = state.get(n);
    if (seen === "active") {
      const loop = [...stack.slice(stack.findIndex((f) => f.id === n)).map((f) => f.id), n];
      return {
        cycle:
          loop.length > 12 ? [...loop.slice(0, 5), `(${loop.length - 10} more)`, ...loop.slice(-5)] : loop,
        longest: Number.POSITIVE_INFINITY,
      };
    }
    if (seen === undefined) open(n);
    else top.longest = Math.max(top.longest, seen);
  }
  return { longest: state.get(spec.start) as number };
}

export function loadPlaybook(file: string): Playbook {
  return parsePlaybook(readYamlFile(file, "playbook", "playbook_invalid"), file);
}
