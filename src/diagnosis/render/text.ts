import type { Diagnosis, Verdict } from "../types.js";
import { clip, forTerminal, oneLine } from "./escape.js";

export interface TextOptions {
  color: boolean;
  /** Include the step-by-step trace. */
  trace?: boolean;
  /** Evidence lines shown per verdict. */
  maxEvidence?: number;
}

const CODES = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
} as const;
type Style = keyof typeof CODES;

function styler(color: boolean) {
  return (style: Style, s: string) =>
    color ? `\u001b[${CODES[style][0]}m${s}\u001b[${CODES[style][1]}m` : s;
}

const MAX_TIMELINE = 12;

/** Host text on one line of the terminal: nothing in it is obeyed. */
const t = oneLine;

function hhmmss(iso: string | undefined): string {
  return iso ? iso.replace("T", " ").replace(/\.\d+Z$|Z$/, "Z") : "";
}

function verdictBlock(
  v: Verdict,
  i: number,
  total: number,
  paint: ReturnType<typeof styler>,
  max: number,
): string[] {
  const lines: string[] = [];
  const colour: Style = v.confidence === "high" ? "red" : v.confidence === "medium" ? "yellow" : "cyan";
  const head = total > 1 ? `${i + 1}/${total} ` : "";
  lines.push(`${paint("bold", `${head}${paint(colour, t(v.cause))}`)}  ${paint("bold", t(v.title))}`);
  lines.push(paint("dim", `   target ${t(v.target)} · clients saw ${v.status} · confidence ${v.confidence}`));
  lines.push("");
  lines.push(`   ${t(v.explanation)}`);
  if (v.evidence.length > 0) {
    lines.push("");
    lines.push(`   ${paint("bold", "Evidence")}`);
    for (const e of v.evidence.slice(0, max)) {
      lines.push(`   ${paint("dim", `${t(e.host)}:${t(e.source)}:${e.line}`)}`);
      for (const l of e.text.split("\n").slice(0, 6)) lines.push(`     ${forTerminal(l.replace(/\r$/, ""))}`);
    }
    if (v.evidence.length > max) lines.push(paint("dim", `     (${v.evidence.length - max} more in --json)`));
  }
  lines.push("");
  lines.push(`   ${paint("bold", "Next steps")}`);
  for (const s of v.nextSteps) lines.push(`   - ${t(s)}`);
  return lines;
}

/** The diagnosis as a person reads it in a terminal. */
export function renderText(d: Diagnosis, opts: TextOptions): string {
  const paint = styler(opts.color);
  const max = opts.maxEvidence ?? 6;
  const out: string[] = [];
  const badge =
    d.status === "healthy"
      ? paint("green", "HEALTHY")
      : d.status === "unknown"
        ? paint("yellow", "UNKNOWN")
        : paint("red", "502");
  out.push(
    `${paint("bold", `why502 ${t(d.service)}`)}  ${badge}  ${paint("dim", `${t(hhmmss(d.window.since))} → ${t(hhmmss(d.window.until))}`)}`,
  );
  out.push(t(d.summary));
  out.push(
    paint(
      "dim",
      `gateway: ${d.gateway.requests} requests, ${d.gateway.status502} × 502, ${d.gateway.status504} × 504, ${d.gateway.errors} upstream errors${d.gateway.upstream ? ` (upstream ${t(d.gateway.upstream)})` : ""}`,
    ),
  );
  out.push("");
  d.verdicts.forEach((v, i) => {
    out.push(...verdictBlock(v, i, d.verdicts.length, paint, max));
    out.push("");
  });
  if (d.timeline.length > 0 && d.verdicts.length > 0) {
    out.push(paint("bold", "Timeline"));
    const shown = d.timeline.slice(0, MAX_TIMELINE);
    for (const e of shown) {
      const text = clip(oneLine(e.ref.text.split("\n")[0] ?? ""), 90);
      out.push(
        `  ${t(e.time.slice(11, 23))}  ${t(e.host).padEnd(12)} ${t(e.what).padEnd(16)} ${paint("dim", text)}`,
      );
    }
    if (d.timeline.length > shown.length)
      out.push(paint("dim", `  (${d.timeline.length - shown.length} more in --json)`));
    out.push("");
  }
  if (opts.trace) {
    out.push(paint("bold", "Trace"));
    for (const s of d.trace) {
      out.push(`  ${paint("dim", t(s.target))} ${t(s.step)}: ${t(s.question)}`);
      if (s.value) out.push(`      seen: ${t(s.value)}`);
      out.push(
        `      → ${t(s.outcome)}${s.evidence.length ? paint("dim", ` (${s.evidence.length} lines cited)`) : ""}`,
      );
    }
    out.push("");
  }
  out.push(paint("bold", "Hosts"));
  for (const h of d.hosts) {
    const failed = h.commands.filter((c) => !c.ok);
    const state = h.ok
      ? failed.length === 0
        ? paint("green", "ok")
        : paint(
            "yellow",
            `ok, ${failed.length} command(s) failed: ${failed.map((c) => `${t(c.id)} (${t(c.failure ?? "")})`).join(", ")}`,
          )
      : paint("red", `${t(h.failure?.code ?? "failed")}: ${t(h.failure?.message ?? "")}`);
    const skew =
      h.skewMs !== undefined && Math.abs(h.skewMs) >= 1000
        ? paint("yellow", ` clock skew ${Math.round(h.skewMs / 1000)} s`)
        : "";
    out.push(`  ${t(h.role).padEnd(7)} ${t(h.name).padEnd(14)} ${state}${skew}`);
  }
  const notes: string[] = [];
  if (d.masked > 0) notes.push(`${d.masked} secret${d.masked === 1 ? "" : "s"} masked in evidence`);
  if (d.unreadable > 0) notes.push(`${d.unreadable} unreadable line${d.unreadable === 1 ? "" : "s"} skipped`);
  if (notes.length) out.push(paint("dim", notes.join(" · ")));
  return `${out.join("\n")}\n`;
}
