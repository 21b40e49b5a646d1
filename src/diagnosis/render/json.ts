import type { Diagnosis } from "../types.js";

export function renderJson(d: Diagnosis): string {
  return `${JSON.stringify(d, null, 2)}\n`;
}
