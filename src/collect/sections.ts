/** What one section of a collection script gave back. */
export interface SectionResult {
  id: string;
  stdout: string;
  stderr: string;
  /** null when the section did not finish (see `incomplete`) or its status was not reported. */
  exitCode: number | null;
  /** Bytes of stdout as counted on the host (after its cap). */
  bytes: number;
  /** The host cut the output at the section's byte cap, or the section did not finish. */
  truncated: boolean;
  durationMs: number | null;
  /** Command not found: rc 127. */
  missing: boolean;
  /** rc 126, or stderr says "Permission denied" or "Operation not permitted" (dmesg under dmesg_restrict). */
  denied: boolean;
  /**
   * rc 124 from GNU timeout(1); or 143/137 (TERM/KILL, what busybox timeout returns) once the
   * section's timeout had passed.
   */
  timedOut: boolean;
  /**
   * A log window read from more than one file: the files its lines came from, oldest first, as suffixes of
   * the log's path (`@` for the log itself, `.1`, `-20261125.gz`), with how many lines each gave.
   */
  parts?: { suffix: string; lines: number }[];
}

export interface SplitResult {
  /** Every section that began, finished or not. */
  sections: Map<string, SectionResult>;
  /** Ids of sections that began but whose stdout end marker never came (the script was cut off). */
  incomplete: string[];
}

interface Framed {
  /** id -> output between the markers */
  text: Map<string, string>;
  /** id -> the end marker's fields */
  ends: Map<string, Record<string, string>>;
  order: string[];
}

const ESCAPE = /[.*+?^${}()|[\]\\]/g;

/**
 * Splits a collection script's output (see buildScript) into its sections. Only markers carrying
 * `nonce` at the start of a line count, so a log line that looks like a marker cannot end or forge a
 * section. The newline before an end marker belongs to the marker, so outputs come back unchanged.
 * A section whose stdout end marker is missing (the transport's timeout or byte cap cut the script)
 * keeps what arrived, is marked truncated and listed in `incomplete`.
 */
export function splitSections(stdout: string, stderr: string, nonce: string): SplitResult {
  const out = frame(stdout, nonce);
  const err = frame(stderr, nonce);
  const sections = new Map<string, SectionResult>();
  const incomplete: string[] = [];
  for (const id of out.order) {
    const text = out.text.get(id) ?? "";
    const errText = err.text.get(id) ?? "";
    const end = out.ends.get(id) ?? err.ends.get(id);
    const finished = out.ends.has(id);
    if (!finished) incomplete.push(id);
    const exitCode = end ? intOrNull(end.rc) : null;
    const durationMs = end ? intOrNull(end.ms) : null;
    const limit = end?.timeout === undefined || end.timeout === "none" ? undefined : Number(end.timeout);
    const parts = partsOf(end?.parts);
    sections.set(id, {
      ...(parts ? { parts } : {}),
      id,
      stdout: text,
      stderr: errText,
      exitCode,
      bytes: finished && end ? (intOrNull(end.bytes) ?? 0) : Buffer.byteLength(text),
      truncated: !finished || end?.truncated === "1",
      durationMs,
      missing: exitCode === 127,
      denied: exitCode === 126 || /Permission denied|Operation not permitted/.test(errText),
      timedOut:
        exitCode === 124 ||
        ((exitCode === 143 || exitCode === 137) &&
          limit !== undefined &&
          durationMs !== null &&
          durationMs >= limit * 1000 - 20),
    });
  }
  return { sections, incomplete };
}

function frame(text: string, nonce: string): Framed {
  const n = nonce.replace(ESCAPE, "\\$&");
  const marker = new RegExp(
    `(?:^|\\n)@@why502:${n} (?:begin ([a-z0-9._-]+)|end ([a-z0-9._-]+)((?: [a-z]+=[^ \\n]*)*)|done)(?=\\n|$)`,
    "g",
  );
  const framed: Framed = { text: new Map(), ends: new Map(), order: [] };
  let open: { id: string; start: number } | undefined;
  for (const m of text.matchAll(marker)) {
    const [whole, begin, endId, fields] = m;
    if (begin !== undefined) {
      if (open) framed.text.set(open.id, text.slice(open.start, m.index));
      open = { id: begin, start: m.index + whole.length + 1 };
      if (!framed.order.includes(begin)) framed.order.push(begin);
    } else if (endId !== undefined) {
      if (open?.id !== endId) continue;
      framed.text.set(endId, text.slice(open.start, m.index));
      framed.ends.set(endId, fieldsOf(fields ?? ""));
      open = undefined;
    } else if (open) {
      framed.text.set(open.id, text.slice(open.start, m.index));
      open = undefined;
    }
  }
  if (open) framed.text.set(open.id, text.slice(Math.min(open.start, text.length)));
  return framed;
}

function fieldsOf(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of s.trim().split(" ")) {
    const eq = kv.indexOf("=");
    if (eq > 0) out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

/** `@:12,.1:300` (the end marker's `parts=`) as a list; undefined when absent or not of that shape. */
function partsOf(v: string | undefined): SectionResult["parts"] {
  if (!v) return undefined;
  const parts: { suffix: string; lines: number }[] = [];
  for (const p of v.split(",")) {
    const m = /^(@|[.-][0-9A-Za-z.-]*):(\d+)$/.exec(p);
    if (!m) return undefined;
    parts.push({ suffix: m[1] as string, lines: Number(m[2]) });
  }
  return parts;
}

function intOrNull(v: string | undefined): number | null {
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : null;
}

/** A host's clock as the clock section printed it. */
export interface HostClockRaw {
  nowMs: number;
  /** East positive, from `date +%z`. */
  utcOffsetMinutes: number;
  /** `date +%Z`: `CET`, `UTC`, or `+04` for zones without an abbreviation. */
  zoneAbbrev: string;
  uptimeSeconds: number;
  bootTimeIso: string;
  /** Zone name from the /etc/localtime link, /etc/timezone or $TZ, when one of them names it. */
  timezone?: string;
  /** The window start the script read from, epoch seconds in the host's clock (buildScript's W_SINCE). */
  windowSinceSeconds?: number;
}

/** Reads the clock section's `key=value` lines. */
export function parseClock(section: SectionResult): HostClockRaw | { error: string } {
  const kv = new Map<string, string>();
  for (const line of section.stdout.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) kv.set(line.slice(0, eq), line.slice(eq + 1));
  }
  const date = /^(\d+) (\S*) ([+-])(\d\d)(\d\d) ?(.*)$/.exec(kv.get("date") ?? "");
  if (!date) return { error: `clock: cannot read the host date ${JSON.stringify(kv.get("date") ?? "")}` };
  const [, secs = "", nanos = "", sign, hh = "", mm = "", abbrev = ""] = date;
  const nowMs = Number(secs) * 1000 + (/^\d{9}$/.test(nanos) ? Math.floor(Number(nanos) / 1e6) : 0);
  const uptime = /^\d+(?:\.\d+)?$/.exec(kv.get("uptime") ?? "");
  if (!uptime) return { error: "clock: the host has no readable /proc/uptime" };
  const uptimeSeconds = Number(uptime[0]);
  const offset = Number(hh) * 60 + Number(mm);
  const clock: HostClockRaw = {
    nowMs,
    utcOffsetMinutes: sign === "-" ? -offset : offset,
    zoneAbbrev: abbrev.trim(),
    uptimeSeconds,
    bootTimeIso: new Date(nowMs - Math.round(uptimeSeconds * 1000)).toISOString(),
  };
  const timezone = zoneName(kv.get("localtime"), kv.get("timezone"), kv.get("tzenv"));
  if (timezone) clock.timezone = timezone;
  const since = /^-?\d+$/.exec(kv.get("since") ?? "");
  if (since) clock.windowSinceSeconds = Number(since[0]);
  return clock;
}

/** $TZ first (it is what `date` used), then the /etc/localtime link, then /etc/timezone. */
function zoneName(link = "", file = "", env = ""): string | undefined {
  const tz = env.replace(/^:/, "");
  const fromEnv = /zoneinfo\/(.+)$/.exec(tz)?.[1] ?? tz;
  if (/^[A-Za-z_]+(?:\/[A-Za-z0-9_+-]+)*$/.test(fromEnv)) return fromEnv;
  const fromLink = /zoneinfo\/(?:posix\/|right\/)?(.+)$/.exec(link)?.[1];
  if (fromLink) return fromLink;
  const name = file.trim();
  return /^[A-Za-z_]+(?:\/[A-Za-z0-9_+-]+)*$/.test(name) ? name : undefined;
}
