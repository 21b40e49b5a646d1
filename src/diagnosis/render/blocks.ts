import type { KnownBlock } from "@slack/types";
import dayjs from "dayjs";
import utc from "dayjs/plugin/utc.js";
import type { Diagnosis, Verdict } from "../types.js";
import {
  clip,
  clipMrkdwn,
  forMrkdwn,
  mrkdwnCode,
  mrkdwnEntities,
  oneLine,
  evidenceBlock as preformatted,
} from "./escape.js";
import { type ProseIndex, proseIndex, proseMrkdwn } from "./prose.js";

/**
 * Slack's limits for a message's blocks. Besides the per-block ones, Slack refuses a message whose blocks
 * hold more than roughly 11-13k characters in all (`msg_blocks_too_long`): `messageChars` is the budget
 * for the whole message, with room left for the buttons and context a front end adds.
 */
export const SLACK_LIMITS = {
  blocks: 50,
  sectionText: 3000,
  headerText: 150,
  contextElements: 10,
  messageChars: 10_000,
} as const;

export type Block = KnownBlock;

dayjs.extend(utc);

/** A window as people read it: `2026-11-25 12:44:43 → 12:44:45 UTC` (the date again only when it changes). */
export function windowText(since: string, until: string): string {
  const a = dayjs.utc(since);
  const b = dayjs.utc(until);
  if (!a.isValid() || !b.isValid()) return `${since} → ${until}`;
  const second =
    a.format("YYYY-MM-DD") === b.format("YYYY-MM-DD")
      ? b.format("HH:mm:ss")
      : b.format("YYYY-MM-DD HH:mm:ss");
  return `${a.format("YYYY-MM-DD HH:mm:ss")} → ${second} UTC`;
}

/** Characters of text a list of blocks carries (what Slack's total limit counts, near enough). */
export function blocksChars(blocks: Block[]): number {
  let n = 0;
  const walk = (v: unknown): void => {
    if (typeof v === "string") n += v.length;
    else if (Array.isArray(v)) for (const x of v) walk(x);
    else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) if (k !== "type") walk(x);
  };
  walk(blocks);
  return n;
}

/** Slack mrkdwn's control characters `&`, `<` and `>` as entities (see escape.ts for host text in prose). */
export const escapeMrkdwn = mrkdwnEntities;

/**
 * A mrkdwn section. `verbatim` keeps Slack from linking or mentioning anything by itself (URLs, channel
 * names, `@here`): only the `<…>` sequences the bot writes are parsed, and host text has none left.
 */
function section(text: string): Block {
  return {
    type: "section",
    text: { type: "mrkdwn", text: clipMrkdwn(text, SLACK_LIMITS.sectionText), verbatim: true },
  };
}

function context(texts: string[]): Block {
  return {
    type: "context",
    elements: texts.slice(0, SLACK_LIMITS.contextElements).map((t) => ({
      type: "mrkdwn" as const,
      text: clipMrkdwn(t, SLACK_LIMITS.sectionText),
      verbatim: true,
    })),
  };
}

function evidenceBlock(v: Verdict, max: number): Block | undefined {
  if (v.evidence.length === 0) return undefined;
  const budget = SLACK_LIMITS.sectionText - 8;
  let body = "";
  for (const e of v.evidence.slice(0, max)) {
    const entry = `${oneLine(e.host)} ${oneLine(e.source)}:${e.line}\n${e.text.split("\n").slice(0, 8).join("\n")}\n`;
    if (body.length + entry.length > budget) break;
    body += entry;
  }
  if (body === "") body = clip(v.evidence[0]?.text ?? "", budget);
  return preformatted([body], budget);
}

function verdictBlocks(v: Verdict, withEvidence: boolean, ix: ProseIndex): Block[] {
  const blocks: Block[] = [{ type: "divider" }];
  blocks.push(section(`*${proseMrkdwn(v.title, ix).trim()}*\n${proseMrkdwn(v.explanation, ix)}`));
  blocks.push(
    context([
      mrkdwnCode(v.cause),
      `target ${mrkdwnCode(v.target)}`,
      `clients saw ${v.status}`,
      `confidence ${v.confidence}`,
    ]),
  );
  if (withEvidence) {
    const ev = evidenceBlock(v, 4);
    if (ev) blocks.push(ev);
  }
  blocks.push(section(`*Next steps*\n${v.nextSteps.map((s) => `• ${proseMrkdwn(s, ix)}`).join("\n")}`));
  return blocks;
}

/**
 * Block Kit JSON for a diagnosis: a pure builder, within Slack's limits whatever the input, the whole
 * message within `maxChars` (verdicts lose their evidence excerpts first, then the last verdicts go).
 */
export function renderBlocks(d: Diagnosis, maxChars: number = SLACK_LIMITS.messageChars): Block[] {
  const ix = proseIndex(d.prose);
  const head: Block[] = [
    {
      type: "header",
      text: {
        type: "plain_text",
        text: clip(
          `why502 · ${oneLine(d.service)} · ${d.status === "failing" ? `${d.verdicts.length} cause${d.verdicts.length === 1 ? "" : "s"}` : d.status}`,
          SLACK_LIMITS.headerText,
        ),
      },
    },
    section(proseMrkdwn(d.summary, ix)),
    context([
      `${d.gateway.requests} requests`,
      `${d.gateway.status502} × 502`,
      `${d.gateway.status504} × 504`,
      `window ${forMrkdwn(windowText(d.window.since, d.window.until))}`,
    ]),
  ];
  const hostsLine = d.hosts
    .map(
      (h) =>
        `${h.ok ? "✓" : "✗"} ${forMrkdwn(h.name)}${h.ok ? "" : ` (${forMrkdwn(h.failure?.code ?? "failed")})`}`,
    )
    .join("  ");
  const tail: Block[] = [{ type: "divider" }, context([`hosts: ${hostsLine}`])];
  if (d.masked > 0) tail.push(context([`${d.masked} secret${d.masked === 1 ? "" : "s"} masked in evidence`]));

  const budget = SLACK_LIMITS.blocks - head.length - tail.length - 1;
  const body: Block[] = [];
  let chars = blocksChars(head) + blocksChars(tail) + 200;
  let shown = 0;
  for (const v of d.verdicts) {
    const full = verdictBlocks(v, true, ix);
    const lean = verdictBlocks(v, false, ix);
    const fits = (b: Block[]) => body.length + b.length <= budget && chars + blocksChars(b) <= maxChars;
    const pick = fits(full) ? full : fits(lean) ? lean : undefined;
    if (!pick) break;
    body.push(...pick);
    chars += blocksChars(pick);
    shown++;
  }
  if (shown < d.verdicts.length) {
    body.push(
      context([
        `${d.verdicts.length - shown} more failing target(s) not shown: run ${mrkdwnCode(`why502 diagnose ${d.service} --json`)}`,
      ]),
    );
  }
  return [...head, ...body, ...tail];
}
