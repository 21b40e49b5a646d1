import { blankPrivateKeyBodies, maskSecrets, type RedactPatterns } from "../diagnosis/mask.js";
import type { ParseContext } from "../evidence/types.js";
import { continuesReport, readApp, readAppBlocks } from "./app.js";
import { readKernel } from "./kernel.js";
import { readNginxAccess } from "./nginx-access.js";
import { readNginxError } from "./nginx-error.js";
import { UNKNOWN_HINT } from "./render.js";
import { clip, forParsing, splitLines, visible, WHEN } from "./sanitize.js";
import type { ExplainedLine, Reading } from "./schema.js";
import { readDockerBlocks, readSupervisor } from "./supervisor.js";
import { readSystemd } from "./systemd.js";

export {
  explainSummary,
  MRKDWN_LIMITS,
  type RenderTextOptions,
  renderExplainMrkdwn,
  renderExplainText,
} from "./render.js";
export { ExplainedLine, ExplainKind } from "./schema.js";

/**
 * `why502 explain`: what each pasted log line means. Lines are read independently (a paste mixes nginx,
 * kernel, systemd and app lines), each by the evidence parsers, in this order: nginx error log, nginx
 * access log, kernel, systemd, app. A multi-line crash report (Go panic, Python traceback, Java or Node
 * stack) becomes one entry on its first line, with `lines` saying how many lines it covers, and so does
 * pasted `docker inspect` output (its array or its `"State"` block); indented
 * frames right after an exception line are folded into it the same way. Blank lines are skipped. Nothing
 * here throws on input: a line nobody reads is `unknown`.
 */

export interface ExplainOptions {
  /** The current time (UTC ISO): the year of year-less stamps (syslog, journald). Default: the clock's. */
  now?: string | undefined;
  /** The config's `redact.patterns`, masked as well as the built-in secret shapes. */
  redact?: RedactPatterns;
}

/** An offset no real host is likely to log in; a time that moves with it came from a zone-less stamp. */
const PROBE_OFFSET_MINUTES = 7 * 60 + 13;
/** Longest `text` kept per entry; renderers clip further. */
const MAX_TEXT = 4000;

type Reader = (line: string, ctx: ParseContext) => Reading | undefined;
const READERS: readonly Reader[] = [
  readNginxError,
  readNginxAccess,
  readKernel,
  readSystemd,
  readSupervisor,
  readApp,
];

const UNKNOWN = {
  meaning: "Nothing I recognise in this line.",
  next: UNKNOWN_HINT,
};

function context(utcOffsetMinutes: number, now: string | undefined): ParseContext {
  return { host: "paste", source: "paste", utcOffsetMinutes, now };
}

/** Where the line's time goes in a sentence. */
function whenPhrase(time: string | undefined, localTime: string | undefined): string {
  if (time !== undefined) return `around ${time.slice(0, 10)} ${time.slice(11, 19)} UTC`;
  if (localTime !== undefined) return `around ${localTime.replace("T", " ")} (the host's local time)`;
  return "around the time of this line";
}

/** Safe to show: secrets masked, control characters visible. */
function safe(s: string, extra: RedactPatterns): string {
  return visible(maskSecrets(s, extra).text);
}

/** The entry of one line, `masked` its text with secrets already masked (and how many). */
function entry(
  lineNo: number,
  masked: { text: string; count: number },
  reading: Reading | undefined,
  probeTime: string | undefined,
  extra: RedactPatterns,
): ExplainedLine {
  const out: ExplainedLine = {
    line: lineNo,
    text: clip(visible(masked.text), MAX_TEXT),
    kind: reading?.kind ?? "unknown",
    meaning: "",
    next: "",
  };
  if (masked.count > 0) out.masked = masked.count;
  if (!reading) return { ...out, ...UNKNOWN };
  let time: string | undefined;
  let localTime: string | undefined;
  if (reading.time !== undefined && !reading.timeless) {
    if (reading.time === probeTime) time = reading.time;
    else localTime = reading.time.slice(0, 19);
  }
  const when = whenPhrase(time, localTime);
  if (reading.cause !== undefined) out.cause = reading.cause;
  if (reading.status !== undefined) out.status = reading.status;
  out.meaning = safe(reading.meaning.replaceAll(WHEN, when), extra);
  out.next = safe(reading.next.replaceAll(WHEN, when), extra);
  if (reading.upstream !== undefined) out.upstream = clip(safe(reading.upstream, extra), 300);
  if (time !== undefined) out.time = time;
  if (localTime !== undefined) out.localTime = localTime;
  return out;
}

const none = { text: "", count: 0 };

/** Explain every non-blank line of a paste. Pure: the same text (and `now`) gives the same entries. */
export function explainText(text: string, opts: ExplainOptions = {}): ExplainedLine[] {
  // Lines are masked before they are read, so that no meaning quotes (or clips) a secret; a private key's
  // body lines are blanked (so skipped), its BEGIN line is masked and counted.
  const extra = opts.redact ?? [];
  const masked = blankPrivateKeyBodies(splitLines(text)).map((l) => maskSecrets(l, extra));
  const raw = masked.map((m) => m.text);
  const parse = raw.map(forParsing);
  const ctx = context(0, opts.now);
  const probe = context(PROBE_OFFSET_MINUTES, opts.now);
  // Multi-line reports: crash reports and stacks, and pasted `docker inspect` output.
  const readBlocks = (c: ParseContext) =>
    new Map([...readAppBlocks(parse, c), ...readDockerBlocks(parse, c)]);
  const blocks = readBlocks(ctx);
  const probeBlocks = blocks.size > 0 ? readBlocks(probe) : blocks;
  const out: ExplainedLine[] = [];
  let folding: ExplainedLine | undefined;
  for (let i = 0; i < raw.length; i++) {
    const lineNo = i + 1;
    const line = parse[i] ?? "";
    // Blank, or only colour codes: nothing to say. A line of other control characters is shown.
    if (visible(raw[i] ?? "").trim() === "") {
      folding = undefined;
      continue;
    }
    const block = blocks.get(lineNo);
    if (block) {
      const e = entry(lineNo, masked[i] ?? none, block.reading, probeBlocks.get(lineNo)?.reading.time, extra);
      e.lines = block.span;
      out.push(e);
      folding = e;
      i += block.span - 1;
      continue;
    }
    if (folding && continuesReport(line)) {
      folding.lines = (folding.lines ?? 1) + 1;
      continue;
    }
    let reading: Reading | undefined;
    let probeTime: string | undefined;
    for (const read of READERS) {
      reading = read(line, ctx);
      if (reading) {
        probeTime = reading.time === undefined ? undefined : read(line, probe)?.time;
        break;
      }
    }
    const e = entry(lineNo, masked[i] ?? none, reading, probeTime, extra);
    out.push(e);
    folding = reading?.opensReport ? e : undefined;
  }
  return out;
}
