import { parseDuration } from "../config/duration.js";

/** What a `/why502 ...` text or an `@why502 ...` mention asks for. */
export type Request =
  | { kind: "help" }
  | { kind: "diagnose"; service: string; windowText?: string; windowMs?: number }
  | { kind: "rerun"; windowText?: string; windowMs?: number }
  | { kind: "evidence" }
  /** The post-incident summary: of the thread's incident, or of a service's latest. */
  | { kind: "summary"; service?: string }
  | { kind: "explain"; text: string }
  | { kind: "invalid"; message: string };

export const USAGE =
  "`/why502 <service> [window]`, e.g. `/why502 checkout` or `/why502 checkout 2h` (window: 15m, 2h, 1d).";
const MAX_TEXT = 300;
const MAX_WINDOW_MS = 7 * 86_400_000;

/** Host or user text shown back in a reply: one line, short, no markup, mentions or code fences. */
export function quoted(s: string, max = 40): string {
  const one = [...s.replace(/[\p{Cc}\p{Cf}\u2028\u2029]+/gu, " ")].slice(0, max).join("");
  const clipped = one.length < s.length ? `${one}…` : one;
  return clipped
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/[`*_~]/g, "ʼ");
}

function windowOf(token: string | undefined): { windowText?: string; windowMs?: number } | string {
  if (token === undefined) return {};
  const ms = parseDuration(token);
  if (ms === undefined)
    return `"${quoted(token)}" is not a window: write a duration with its unit, like 15m, 2h or 1d.`;
  if (ms < 60_000) return `A window of ${quoted(token)} is too short to see anything: use at least 1m.`;
  if (ms > MAX_WINDOW_MS) return `A window of ${quoted(token)} is longer than 7 days: use at most 7d.`;
  return { windowText: token, windowMs: ms };
}

/** `/why502` text: help, or a service and an optional window. Pure; anything else is `invalid`. */
export function parseCommand(text: string): Request {
  if (text.length > MAX_TEXT) return { kind: "invalid", message: `That is too long for a command: ${USAGE}` };
  const words = text.trim().split(/\s+/).filter(Boolean);
  const [first, second, ...rest] = words;
  if (!first || /^(help|-h|--help|\?)$/i.test(first)) return { kind: "help" };
  if (/^summary$/i.test(first)) {
    if (!second || rest.length > 0) return { kind: "invalid", message: "Write `/why502 summary <service>`." };
    return { kind: "summary", service: second.toLowerCase() };
  }
  if (rest.length > 0)
    return { kind: "invalid", message: `I take a service and a window, nothing more: ${USAGE}` };
  const w = windowOf(second);
  if (typeof w === "string") return { kind: "invalid", message: w };
  return { kind: "diagnose", service: first.toLowerCase(), ...w };
}

/** An `@why502 ...` mention: the mention itself is removed; in a thread, rerun/evidence/explain/help. */
export function parseMention(text: string): Request {
  const body = text.replace(/^\s*(<@[A-Z0-9]+(\|[^>]*)?>\s*)+/, "").trim();
  const m = /^(\S+)\s*([\s\S]*)$/.exec(body);
  const verb = m?.[1]?.toLowerCase();
  const tail = m?.[2] ?? "";
  if (!verb || verb === "help") return { kind: "help" };
  if (verb === "explain") {
    const pasted = tail.replace(/^```\s*\n?|\n?```\s*$/g, "").trim();
    if (!pasted)
      return { kind: "invalid", message: "Paste the log lines after `explain`, in the same message." };
    return { kind: "explain", text: pasted };
  }
  if (verb === "evidence") return { kind: "evidence" };
  if (verb === "summary") return tail.trim() ? parseCommand(body) : { kind: "summary" };
  if (verb === "rerun" || verb === "re-run") {
    if (tail.length > MAX_TEXT)
      return { kind: "invalid", message: "Write `@why502 rerun [window]`, e.g. `rerun 2h`." };
    const words = tail.trim().split(/\s+/).filter(Boolean);
    if (words.length > 1)
      return { kind: "invalid", message: "Write `@why502 rerun [window]`, e.g. `rerun 2h`." };
    const w = windowOf(words[0]);
    if (typeof w === "string") return { kind: "invalid", message: w };
    return { kind: "rerun", ...w };
  }
  return parseCommand(body);
}

export const MENTION_HELP = [
  "In a why502 thread, mention me:",
  "• `@why502 rerun [window]`: diagnose again (e.g. `rerun 2h`)",
  "• `@why502 evidence`: upload the full evidence (bundle JSON and a report) here",
  "• `@why502 summary`: the incident's post-incident summary (also `/why502 summary <service>`)",
  "• `@why502 explain <pasted log lines>`: what each line means and what to check next",
  "• `@why502 help`: this",
].join("\n");
