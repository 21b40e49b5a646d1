import { Environment } from "@marcbachmann/cel-js";
import type { z } from "zod";
import { CauseId } from "../evidence/types.js";
import { GatewayFacts, TargetFacts } from "../facts/schema.js";
import { CEL_LIMITS } from "./cel-limits.js";
import { count, during, readableTime } from "./template.js";

type CelSchema = { [key: string]: string | CelSchema };

/** CEL type of a zod schema: the facts schemas are the single source of the playbook's variable types. */
function celType(schema: z.ZodType): string | CelSchema {
  const def = (
    schema as unknown as { def: { type: string; element?: z.ZodType; shape?: Record<string, z.ZodType> } }
  ).def;
  switch (def.type) {
    case "string":
    case "enum":
      return "string";
    case "number":
      return "double";
    case "boolean":
      return "bool";
    case "array": {
      const inner = def.element ? celType(def.element) : "dyn";
      return `list<${typeof inner === "string" ? inner : "map<string, dyn>"}>`;
    }
    case "object": {
      const out: CelSchema = {};
      for (const [k, v] of Object.entries(def.shape ?? {})) out[k] = celType(v);
      return out;
    }
    default:
      return "dyn";
  }
}

function objectSchema(schema: z.ZodType): CelSchema {
  const t = celType(schema);
  if (typeof t === "string") throw new Error("facts schema must be an object");
  return t;
}

/**
 * The CEL environment playbook conditions and templates run in: `target`, `errors`, `gateway`, and two
 * functions for prose: `clock(iso)` (`12:34:05 UTC`), `during(first, last)` (`at ...` / `between ... and ...`) and
 * `count(n, noun)` (`1 error`, `3 errors`).
 */
export function createEnvironment(): Environment {
  const errors: CelSchema = {};
  for (const c of CauseId.options) errors[c] = "double";
  return new Environment({
    unlistedVariablesAreDyn: false,
    homogeneousAggregateLiterals: false,
    limits: CEL_LIMITS.parse,
  })
    .registerVariable({ name: "target", schema: objectSchema(TargetFacts) })
    .registerVariable({ name: "errors", schema: errors })
    .registerVariable({ name: "gateway", schema: objectSchema(GatewayFacts) })
    .registerFunction("clock(string): string", readableTime)
    .registerFunction("during(string, string): string", during)
    .registerFunction("count(double, string): string", count);
}
