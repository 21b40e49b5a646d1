import { addProse, addText, addValue, type Prose } from "../diagnosis/prose.js";

/** `{{ cel }}` placeholders in playbook text. */
export interface TemplatePart {
  literal: string;
  expr?: string;
}

const PLACEHOLDER = /\{\{\s*([\s\S]+?)\s*\}\}/g;

export function splitTemplate(text: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const m of text.matchAll(PLACEHOLDER)) {
    const index = m.index ?? 0;
    parts.push({ literal: text.slice(last, index), expr: m[1] ?? "" });
    last = index + m[0].length;
  }
  parts.push({ literal: text.slice(last) });
  return parts;
}

/** A syntax tree node as cel-js 8 builds it: `op`, `args`, and where in the expression it stands. */
interface CelNode {
  op: string;
  args: unknown;
  start?: number;
  end?: number;
}

const isNode = (v: unknown): v is CelNode =>
  typeof v === "object" && v !== null && typeof (v as { op?: unknown }).op === "string";

/** How the template reaches CEL: evaluate an expression (a placeholder or a part of one), parse one. */
export interface TemplateCel {
  evaluate: (expr: string) => unknown;
  ast: (expr: string) => unknown;
}

/**
 * A placeholder's value in pieces: the playbook's own string literals as text, everything else (a fact, a
 * function's result, a number) as a value. Only the branch `c ? a : b` took and the two sides of a string
 * `+` are looked into, so `"run " + (t ? "\`pm2 restart\`" : target.supervisor)` keeps its code span and
 * the supervisor's name is a value. Pieces that do not join to the value make it one value.
 */
function placeholder(expr: string, cel: TemplateCel): Prose {
  const value = cel.evaluate(expr);
  const shown: Prose = [""];
  addValue(shown, formatValue(value));
  if (typeof value !== "string" || ISO_UTC.test(value)) return shown;
  const out: Prose = [""];
  const source = (n: unknown) =>
    isNode(n) && n.start !== undefined && n.end !== undefined ? expr.slice(n.start, n.end) : undefined;
  /** Add the pieces of `node`, whose value is `v`. */
  const walk = (node: unknown, v: string): void => {
    const args = isNode(node) && Array.isArray(node.args) ? (node.args as unknown[]) : [];
    const op = isNode(node) ? node.op : "";
    const cond = op === "?:" && args.length === 3 ? source(args[0]) : undefined;
    const left = op === "+" && args.length === 2 ? source(args[0]) : undefined;
    const l = left === undefined ? undefined : cel.evaluate(left);
    if (op === "value" && isNode(node) && node.args === v) addText(out, v);
    else if (cond !== undefined) walk(cel.evaluate(cond) === true ? args[1] : args[2], v);
    else if (typeof l === "string" && v.startsWith(l)) {
      walk(args[0], l);
      walk(args[1], v.slice(l.length));
    } else addValue(out, v);
  };
  try {
    walk(cel.ast(expr), value);
  } catch {
    return shown;
  }
  return out.join("") === value ? out : shown;
}

/**
 * Playbook text with its `{{ }}` placeholders filled, in pieces (see diagnosis/prose.ts): the playbook's
 * text, and the values from the facts, which renderers escape as host text.
 */
export function fillTemplate(text: string, cel: TemplateCel): Prose {
  const out: Prose = [""];
  for (const part of splitTemplate(text)) {
    addText(out, part.literal);
    if (part.expr === undefined) continue;
    addProse(out, placeholder(part.expr, cel));
  }
  return out;
}

const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/** `2026-11-25T12:34:05.000Z` -> `12:34:05 UTC`, `...06.212Z` -> `12:34:06.212 UTC`: the window header has the date. */
export function readableTime(iso: string): string {
  if (!ISO_UTC.test(iso)) return iso;
  const t = iso.slice(11, 23).replace(/\.000$/, "");
  return `${t} UTC`;
}

/** How a CEL value reads in prose: 2.0 -> "2", 1.25 -> "1.25", lists joined, maps as k=v. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return "none";
  if (typeof value === "number") {
    if (Number.isInteger(value)) return String(value);
    return String(Math.round(value * 1000) / 1000);
  }
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "string") return readableTime(value);
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (Array.isArray(value)) return value.length === 0 ? "none" : value.map(formatValue).join(", ");
  if (value instanceof Map) {
    return [...value].map(([k, v]) => `${formatValue(k)}=${formatValue(v)}`).join(", ");
  }
  if (typeof value === "object") {
    return Object.entries(value)
      .map(([k, v]) => `${k}=${formatValue(v)}`)
      .join(", ");
  }
  return String(value);
}

/** `at 12:00:01 UTC` for one instant, `between 12:00:01 UTC and 12:03:10 UTC` for a span. */
export function during(first: string, last: string): string {
  if (first === "" && last === "") return "at an unknown time";
  if (first === last || last === "") return `at ${readableTime(first)}`;
  return `between ${readableTime(first)} and ${readableTime(last)}`;
}

/** `1 error`, `3 errors`: a count with its noun. */
export function count(n: number, noun: string): string {
  const k = Math.round(n);
  return `${k} ${noun}${k === 1 ? "" : "s"}`;
}
