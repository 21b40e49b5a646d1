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
