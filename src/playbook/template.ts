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

/** How a CEL value reads in prose: 2.0 -> "2", 1.25 -> "1.25", lists joined, maps as k=v. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return "none";
  if (typeof value === "number") {
    if (Number.isInteger(value)) return String(value);
    return String(Math.round(value * 1000) / 1000);
  }
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "string") return value;
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
