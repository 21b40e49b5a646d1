import type { Diagnosis } from "../types.js";
import { jsonForTerminal } from "./escape.js";

/** The diagnosis as JSON: DEL, C1 and invisible characters written as `\u009b` escapes (the same string). */
export function renderJson(d: Diagnosis): string {
  return `${jsonForTerminal(JSON.stringify(d, null, 2))}\n`;
}
