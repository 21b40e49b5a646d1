import type { Diagnosis } from "../types.js";
import { forMarkdown, inCodeBlock, mdInlineCode } from "./escape.js";
import { renderMarkdown } from "./markdown.js";
import { proseIndex, proseMarkdown } from "./prose.js";

/** Host text in a Markdown table cell or heading: one line, no markup, cannot break the table. */
function cell(s: string): string {
  return forMarkdown(s, "table");
}

/**
 * The full evidence report: the diagnosis as Markdown, then every line each verdict cited, the decision
 * path the playbook took (each question, the value seen, where it led) and the timeline.
 */
export function renderEvidenceReport(d: Diagnosis): string {
  const out = [renderMarkdown(d).trimEnd(), ""];
  for (const v of d.verdicts) {
    out.push(`## Every line cited for ${mdInlineCode(v.target)} (${mdInlineCode(v.cause)})`, "");
    if (v.evidence.length === 0) out.push("(none)");
    for (const e of v.evidence) {
      out.push(`- ${mdInlineCode(`${e.host}:${e.source}:${e.line}`)}${e.time ? ` ${cell(e.time)}` : ""}`, "");
      out.push(inCodeBlock([e.text], "  "), "");
    }
  }
  out.push("## Decision path", "", "| target | step | question | value | outcome |", "|---|---|---|---|---|");
  const ix = proseIndex(d.prose);
  for (const t of d.trace) {
    out.push(
      `| ${cell(t.target)} | ${cell(t.step)} | ${proseMarkdown(t.question, ix, "table")} | ${cell(t.value)} | ${cell(t.outcome)} |`,
    );
  }
  out.push("", "## Timeline", "", "| time | host | what |", "|---|---|---|");
  for (const e of d.timeline) out.push(`| ${cell(e.time)} | ${cell(e.host)} | ${cell(e.what)} |`);
  return `${out.join("\n")}\n`;
}
