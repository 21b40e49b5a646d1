import { mrkdwnCodeBlock, noEmphasis } from "../diagnosis/render/escape.js";
import { clip } from "./sanitize.js";
import { type ExplainedLine, ExplainKind } from "./schema.js";

/**
 * Renderers for explained lines: plain terminal text, and Slack mrkdwn sections. Entries are already safe
 * to show (masked, control characters visible); the mrkdwn renderer also keeps host text from turning into
 * markup, links or mentions.
 */

const KIND_NAMES: Readonly<Record<ExplainKind, string>> = {
  "nginx-error": "nginx error log",
  "nginx-access": "nginx access log",
  kernel: "kernel",
  systemd: "systemd",
  supervisor: "supervisor",
  app: "app",
  unknown: "not recognised",
};

/** What why502 reads, said where a line was not recognised. */
export const UNKNOWN_HINT =
  "why502 reads nginx error and access logs, the kernel log (dmesg, journalctl -k), systemd's journal, supervisord's and PM2's logs, docker events and app crash output: paste whole lines, with their timestamps if you can.";

function lineRange(e: ExplainedLine): string {
  return e.lines === undefined ? `${e.line}` : `${e.line}-${e.line + e.lines - 1}`;
}

function when(e: ExplainedLine): string | undefined {
  if (e.time !== undefined) return `${e.time.slice(0, 10)} ${e.time.slice(11, 19)} UTC`;
  if (e.localTime !== undefined) return `${e.localTime.replace("T", " ")} host local time`;
  return undefined;
}

function facts(e: ExplainedLine, code: (s: string) => string): string[] {
  const out: string[] = [];
  if (e.status !== undefined) out.push(`client saw ${e.status}`);
  if (e.cause !== undefined) out.push(`cause ${code(e.cause)}`);
  if (e.upstream !== undefined) out.push(`upstream ${code(clip(e.upstream, 80))}`);
  const w = when(e);
  if (w !== undefined) out.push(w);
  if (e.lines !== undefined) out.push(`${e.lines} lines`);
  return out;
}

/** The tally's order: the schema's. */
const KIND_ORDER: readonly ExplainKind[] = ExplainKind.options;

/** A one-line tally: `5 lines, 4 entries: 2 nginx error log, 1 kernel, 1 not recognised.` */
export function explainSummary(lines: readonly ExplainedLine[]): string {
  const parts = KIND_ORDER.flatMap((k) => {
    const n = lines.filter((e) => e.kind === k).length;
    return n === 0 ? [] : [`${n} ${KIND_NAMES[k]}`];
  });
  const covered = lines.reduce((n, e) => n + (e.lines ?? 1), 0);
  const masked = lines.reduce((n, e) => n + (e.masked ?? 0), 0);
  const entries = covered === lines.length ? "" : `, ${lines.length} entr${lines.length === 1 ? "y" : "ies"}`;
  const secrets = masked === 0 ? "" : `; ${masked} secret${masked === 1 ? "" : "s"} masked`;
  return `${covered} line${covered === 1 ? "" : "s"}${entries}: ${parts.join(", ") || "nothing"}${secrets}.`;
}

function wrap(text: string, width: number, indent: string): string {
  const out: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && indent.length + line.length + 1 + word.length > width) {
      out.push(indent + line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "") out.push(indent + line);
  return out.join("\n");
}

export interface RenderTextOptions {
  /** Longest original text shown per line (default 200 characters). */
  clip?: number;
  /** Wrap meaning and next at this width (default 100). */
  width?: number;
}

/**
 * Slack's special sequences (`<!channel>`, `<!here>`, `<@U024BE7LH>`, `<#C123>`) with their brackets
 * swapped, so text copied from the terminal into chat cannot ping anyone.
 */
function inert(s: string): string {
  return s.replace(/<([!@#][^<>]*)>/g, "‹$1›");
}

/** Terminal text: each line as pasted (clipped), then what it means, what the client saw, what to check. */
export function renderExplainText(lines: readonly ExplainedLine[], opts: RenderTextOptions = {}): string {
  const max = opts.clip ?? 200;
  const width = opts.width ?? 100;
  const blocks = lines.map((e) => {
    const out = [`${lineRange(e)}: ${clip(e.text.split("\n")[0] ?? "", max)}`];
    out.push(wrap(e.meaning, width, "   "));
    if (e.kind !== "unknown") {
      const f = facts(e, (s) => s);
      out.push(wrap(`${KIND_NAMES[e.kind]}${f.length > 0 ? ` · ${f.join(" · ")}` : ""}`, width, "   "));
      out.push(wrap(`next: ${e.next}`, width, "   "));
    }
    return inert(out.join("\n"));
  });
  const unknown = lines.filter((e) => e.kind === "unknown").length;
  const footer = [explainSummary(lines)];
  if (unknown > 0) footer.push(UNKNOWN_HINT);
  return `${[...blocks, footer.join("\n")].join("\n\n")}\n`;
}

/** Slack's limit for a section's text, and the total this renderer keeps under (a message holds ~12k). */
export const MRKDWN_LIMITS = { section: 3000, total: 11_000 } as const;

/** Slack mrkdwn control characters: `&`, `<`, `>` (links, mentions, `<!channel>`). */
function escapeMrkdwn(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/@(channel|here|everyone)\b/gi, "＠$1");
}

/** Text outside code spans: no bold, strike, italics or quote from host text. */
function prose(s: string): string {
  return s
    .split("`")
    .map((part, i) => escapeMrkdwn(i % 2 === 1 ? part : noEmphasis(part)))
    .join("`");
}

/**
 * The pasted line in a ``` block, every character kept: entities for `&<>`, and a zero-width space after
 * each second backtick of a run so no ``` inside can close the block (look-alikes would change the line).
 */
function codeBlock(s: string, max: number): string {
  return mrkdwnCodeBlock([clip(s, max)]);
}

/** Clip mrkdwn without cutting an `&amp;` entity in half. */
function clipMrkdwn(s: string, max: number): string {
  if (s.length <= max) return s;
  let cut = clip(s, max).slice(0, -1);
  const amp = cut.lastIndexOf("&");
  if (amp >= 0 && amp > cut.length - 6 && !cut.slice(amp).includes(";")) cut = cut.slice(0, amp);
  return `${cut}…`;
}

function mrkdwnEntry(e: ExplainedLine, textMax: number, proseMax: number): string {
  const head = [`*${lineRange(e)}*`, KIND_NAMES[e.kind], ...facts(e, (s) => `\`${s.replace(/`/g, "ˋ")}\``)];
  const out = [escapeMrkdwn(head.join(" · ")), codeBlock(e.text.split("\n")[0] ?? "", textMax)];
  if (e.kind !== "unknown") {
    out.push(clipMrkdwn(prose(e.meaning), proseMax));
    out.push(`*Next:* ${clipMrkdwn(prose(e.next), proseMax)}`);
  }
  return out.join("\n");
}

/**
 * Slack mrkdwn, one string per section block: a tally first, then the entries packed into sections of at
 * most 3000 characters, 11,000 in all; what does not fit is counted in a last section.
 */
export function renderExplainMrkdwn(lines: readonly ExplainedLine[]): string[] {
  const sections: string[] = [escapeMrkdwn(`*why502 explain*: ${explainSummary(lines)}`)];
  let total = sections[0]?.length ?? 0;
  let current = "";
  let shown = 0;
  const reserve = 300;
  for (const e of lines) {
    let text = mrkdwnEntry(e, 300, 700);
    if (text.length > MRKDWN_LIMITS.section) text = mrkdwnEntry(e, 150, 400);
    if (text.length > MRKDWN_LIMITS.section) text = clipMrkdwn(text, MRKDWN_LIMITS.section);
    if (total + text.length + 2 > MRKDWN_LIMITS.total - reserve) break;
    if (current !== "" && current.length + text.length + 2 > MRKDWN_LIMITS.section) {
      sections.push(current);
      current = "";
    }
    current = current === "" ? text : `${current}\n\n${text}`;
    total += text.length + 2;
    shown++;
  }
  if (current !== "") sections.push(current);
  const rest = lines.slice(shown);
  const notes: string[] = [];
  if (rest.length > 0) {
    const covered = rest.reduce((n, e) => n + (e.lines ?? 1), 0);
    notes.push(
      `${covered} more line${covered === 1 ? "" : "s"} not shown (from line ${rest[0]?.line}): run \`why502 explain\` on them in a terminal.`,
    );
  }
  if (lines.some((e) => e.kind === "unknown")) notes.push(UNKNOWN_HINT);
  if (notes.length > 0) sections.push(escapeMrkdwn(notes.join("\n")));
  return sections;
}
