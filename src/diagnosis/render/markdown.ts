import type { Diagnosis } from "../types.js";

function fence(lines: string[]): string {
  const body = lines.join("\n").replace(/```/g, "ʼʼʼ");
  return `\`\`\`\n${body}\n\`\`\``;
}

/** The diagnosis as Markdown, for tickets and post-incident notes. */
export function renderMarkdown(d: Diagnosis): string {
  const out: string[] = [];
  out.push(`# why502: ${d.service}`);
  out.push("");
  const label = { healthy: "Healthy", failing: "Failing", unknown: "Unknown" }[d.status];
  out.push(`**${label}**: ${d.summary}`);
  out.push("");
  out.push(
    `Window ${d.window.since} to ${d.window.until}. Gateway: ${d.gateway.requests} requests, ${d.gateway.status502} × 502, ${d.gateway.status504} × 504.`,
  );
  for (const v of d.verdicts) {
    out.push("");
    out.push(`## \`${v.cause}\` ${v.title}`);
    out.push("");
    out.push(`Target \`${v.target}\`, clients saw ${v.status}, confidence ${v.confidence}.`);
    out.push("");
    out.push(v.explanation);
    if (v.evidence.length) {
      out.push("");
      out.push("Evidence:");
      out.push("");
      out.push(fence(v.evidence.map((e) => `${e.host} ${e.source}:${e.line}\n${e.text}`)));
    }
    out.push("");
    out.push("Next steps:");
    out.push("");
    for (const s of v.nextSteps) out.push(`- ${s}`);
  }
  out.push("");
  out.push("## Hosts");
  out.push("");
  out.push("| host | role | status |");
  out.push("|---|---|---|");
  for (const h of d.hosts) {
    out.push(
      `| ${h.name} | ${h.role} | ${h.ok ? "ok" : `${h.failure?.code}: ${h.failure?.message}`.replace(/\|/g, "\\|")} |`,
    );
  }
  if (d.masked > 0) out.push("", `_${d.masked} secret(s) masked in evidence._`);
  return `${out.join("\n")}\n`;
}
