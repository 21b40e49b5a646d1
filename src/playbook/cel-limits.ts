/**
 * What a playbook's CEL may cost. CEL itself has no loops, but its comprehension macros (map, filter, all, exists,
 * exists_one) run their body once per element, so nesting or chaining them multiplies their cost, and `cel.bind`
 * lets a value double at each step: either turns a few lines into minutes and gigabytes. A regular expression
 * (`matches`) over text from a host can backtrack without end. The loader refuses them, and bounds the size of
 * each expression, so every expression that passes `playbook check` costs at most a small multiple of the facts.
 */
export const CEL_LIMITS = {
  /** Characters of one expression (a condition, a `show`, one `{{ }}` of a template). */
  maxExpressionChars: 2000,
  /** cel-js parse limits. */
  parse: { maxAstNodes: 400, maxDepth: 32, maxListElements: 100, maxMapEntries: 100, maxCallArguments: 8 },
};

/** What a person reads of an expression in a message: all of a short one, a bounded excerpt of a long one. */
export function excerpt(expr: string, at = 0, width = 80): string {
  const flat = expr.replace(/\s+/g, " ");
  if (flat.length <= width) return flat;
  const from = Math.max(0, Math.min(at - width / 2, flat.length - width));
  const cut = flat.slice(from, from + width);
  return `${from > 0 ? "…" : ""}${cut}${from + width < flat.length ? "…" : ""}`;
}

interface AstNode {
  op: string;
  args: unknown;
  start?: number;
  meta?: { alternate?: { op?: string } };
}

const isNode = (v: unknown): v is AstNode =>
  typeof v === "object" && v !== null && typeof (v as { op?: unknown }).op === "string";

/** The nodes directly under `node`, whatever shape its arguments have. */
function children(node: AstNode): AstNode[] {
  const out: AstNode[] = [];
  const pending: unknown[] = [node.args];
  for (let v = pending.pop(); v !== undefined || pending.length > 0; v = pending.pop()) {
    if (isNode(v)) out.push(v);
    else if (Array.isArray(v)) pending.push(...v);
  }
  return out;
}

const COMPREHENSIONS = new Set(["map", "filter", "all", "exists", "exists_one"]);

/**
 * Why a parsed expression would cost more than the playbook can afford, and where, or undefined. Walks the
 * syntax tree as cel-js 8 builds it (`op`, `args`, `rcall` nodes with the method name first).
 */
export function costProblem(ast: unknown): { message: string; at: number } | undefined {
  if (!isNode(ast)) return undefined;
  const stack: [AstNode, boolean][] = [[ast, false]];
  for (let top = stack.pop(); top; top = stack.pop()) {
    const [node, insideComprehension] = top;
    const method = node.op === "rcall" || node.op === "call" ? (node.args as unknown[])[0] : undefined;
    const at = node.start ?? 0;
    if (method === "matches")
      return {
        at,
        message: "matches() is not allowed: a regular expression over host text can take unbounded time",
      };
    if (method === "bind")
      return { at, message: "cel.bind() is not allowed: a bound value can double at each step" };
    const comprehension =
      node.op === "rcall" &&
      typeof method === "string" &&
      COMPREHENSIONS.has(method) &&
      !!node.meta?.alternate;
    if (comprehension && insideComprehension)
      return {
        at,
        message: `${method}() inside or after another comprehension is not allowed: their costs multiply`,
      };
    for (const child of children(node)) stack.push([child, insideComprehension || comprehension]);
  }
  return undefined;
}
