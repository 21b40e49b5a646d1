import type { Diagnosis } from "../types.js";
import { mdInlineCode as code, inCodeBlock, forMarkdown as md } from "./escape.js";
import { proseIndex, proseMarkdown } from "./prose.js";

/** The diagnosis as Markdown, for tickets and post-incident notes. Host text is escaped, never markup. */
export function renderMarkdown(d: Diagnosis): string {
  const ix = proseIndex(d.prose);
  const sentence = (s: string) => proseMarkdown(s, ix);
  const out: string[] = [];
  out.push(`# why502: ${md(d.service)}`);
  out.push("");
  const label = { healthy: "Healthy", failing: "Failing", unknown: "Unknown" }[d.status];
  out.push(`**${label}**: ${sentence(d.summary)}`);
  out.push("");
  out.push(
    `Window ${md(d.window.since)} to ${md(d.window.until)}. Gateway: ${d.gateway.requests} requests, ${d.gateway.status502} × 502, ${d.gateway.status504} × 504.`,
  );
  for (const v of d.verdicts) {
    out.push("");
    out.push(`## ${code(v.cause)} ${sentence(v.title)}`);
    out.push("");
    out.push(`Target ${code(v.target)}, clients saw ${v.status}, confidence ${v.confidence}.`);
    out.push("");
    out.push(sentence(v.explanation));
    if (v.evidence.length) {
      out.push("");
      out.push("Evidence:");
      out.push("");
      out.push(inCodeBlock(v.evidence.map((e) => `${e.host} ${e.source}:${e.line}\n${e.text}`)));
    }
    out.push("");
    out.push("Next steps:");
    out.push("");
    for (const s of v.nextSteps) out.push(`- ${sentence(s)}`);
  }
  out.push("");
  out.push("## Hosts");
  out.push("");
  out.push("| host | role | status |");
  out.push("|---|---|---|");
  for (const h of d.hosts) {
    const status = h.ok ? "ok" : `${h.failure?.code ?? "failed"}: ${h.failure?.message ?? ""}`;
    out.push(`| ${md(h.name, "table")} | ${md(h.role, "table")} | ${md(status, "table")} |`);
  }
  if (d.masked > 0) out.push("", `_${d.masked} secret(s) masked in evidence._`);
  return `${out.join("\n")}\n`;
}
