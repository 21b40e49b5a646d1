import { constants } from "node:buffer";
import { readFileSync, statSync } from "node:fs";
import { DEFAULT_MAX_WINDOW_MS, parseInstant, windowProblem } from "../config/since.js";
import { UserError } from "../errors.js";
import { describeIssue, readTextFile } from "../yaml-location.js";
import { Bundle } from "./schema.js";

function lineCol(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  const col = offset - before.lastIndexOf("\n");
  return `${line}:${col}`;
}

/**
 * Parse a bundle's JSON text; errors name the file, the place and what was expected. A window that is not made
 * of times, runs backwards, starts after the collection or is longer than `maxWindowMs` is an error too.
 */
export function parseBundleText(text: string, file: string, maxWindowMs = DEFAULT_MAX_WINDOW_MS): Bundle {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const pos = /position (\d+)/.exec(message);
    const where = pos?.[1] ? `:${lineCol(text, Number(pos[1]))}` : "";
    const what = message.replace(/ in JSON at position \d+.*$/, "").replace(/^JSON\.parse: /, "");
    throw new UserError(
      "bundle_invalid",
      `${file}${where}: not valid JSON (${what}).`,
      "A bundle is the JSON file that `why502 diagnose --save` writes; see docs/bundle.md.",
    );
  }
  const parsed = Bundle.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = (issue?.path ?? [])
      .map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`))
      .join("");
    const message = describeIssue(issue);
    throw new UserError(
      "bundle_invalid",
      `${file}: ${path ? path.slice(path.startsWith(".") ? 1 : 0) : "bundle"}: ${message}.`,
      "See docs/bundle.md for the bundle format.",
    );
  }
  checkWindow(parsed.data, file, maxWindowMs);
  checkHostNames(parsed.data, file);
  return parsed.data;
}

/**
 * Each host once: evidence is looked up by host name, so a name given twice mixes two hosts' evidence (and
 * every lookup of it returns both, which made the work grow with the square of the copies).
 */
function checkHostNames(bundle: Bundle, file: string): void {
  const first = new Map<string, number>();
  bundle.hosts.forEach((h, i) => {
    const earlier = first.get(h.name);
    if (earlier !== undefined) {
      throw new UserError(
        "bundle_invalid",
        `${file}: hosts[${i}].name: ${JSON.stringify(h.name)} is already the name of hosts[${earlier}], and a host appears once in a bundle.`,
        "Merge the two entries' commands into one host, or rename one; see docs/bundle.md.",
      );
    }
    first.set(h.name, i);
  });
}

/** The window and collection time must be times with a zone, in order, and the window no longer than the bound. */
function checkWindow(bundle: Bundle, file: string, maxWindowMs: number): void {
  const fail = (place: string, what: string) =>
    new UserError(
      "bundle_invalid",
      `${file}: ${place}: ${what}.`,
      "See docs/bundle.md for the bundle format.",
    );
  const instant = (place: string, text: string): number => {
    const t = parseInstant(text);
    if (typeof t === "number") return t;
    throw fail(
      place,
      `${JSON.stringify(text)} is not a time with a zone (expected ISO 8601 UTC like 2026-11-25T12:00:00.000Z)`,
    );
  };
  const since = instant("window.since", bundle.window.since);
  const until = instant("window.until", bundle.window.until);
  const collectedAt = instant("collectedAt", bundle.collectedAt);
  const problem = windowProblem(since, until, maxWindowMs);
  if (problem) {
    throw fail(
      "window",
      `the window ${bundle.window.since} to ${bundle.window.until} ${problem}${until - since > maxWindowMs ? ", the longest a diagnosis covers" : ""}`,
    );
  }
  if (since >= collectedAt) {
    throw fail(
      "window.since",
      `${bundle.window.since} is not before collectedAt ${bundle.collectedAt}: a window cannot start after its evidence was collected`,
    );
  }
}

/** The largest bundle read: the longest string Node can hold (about 512 MiB), which JSON.parse needs whole. */
export const MAX_BUNDLE_BYTES: number = constants.MAX_STRING_LENGTH;

function tooLarge(file: string, maxBytes: number, bytes?: number): UserError {
  const has = bytes === undefined ? "holds" : `has ${bytes} bytes,`;
  const mib = maxBytes >= 2 ** 20 ? ` (${Math.round(maxBytes / 2 ** 20)} MiB)` : "";
  return new UserError(
    "bundle_invalid",
    `${file}: the bundle ${has} more than the ${maxBytes} bytes${mib} why502 reads.`,
    "Collect it again with a shorter --since or a smaller defaults.max_bytes, or cut it with jq: drop the hosts you do not need or the longest commands' stdout.",
  );
}

/** Read a bundle file; one too large to read is refused saying so (it used to be reported as missing). */
export function readBundleFile(file: string, maxBytes = MAX_BUNDLE_BYTES): string {
  let size: number | undefined;
  try {
    const st = statSync(file);
    size = st.isFile() ? st.size : undefined;
  } catch {
    size = undefined;
  }
  if (size !== undefined && size > maxBytes) throw tooLarge(file, maxBytes, size);
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    // A pipe (`--bundle <(zcat b.json.gz)`) has no size to check before reading.
    const code = (e as { code?: unknown }).code;
    if (code === "ERR_STRING_TOO_LONG" || code === "ERR_FS_FILE_TOO_LARGE")
      throw tooLarge(file, MAX_BUNDLE_BYTES);
  }
  // Missing, unreadable, a directory: the shared reader says which file in the usual words.
  return readTextFile(file, "bundle");
}

export function loadBundle(
  file: string,
  maxWindowMs = DEFAULT_MAX_WINDOW_MS,
  maxBytes = MAX_BUNDLE_BYTES,
): Bundle {
  return parseBundleText(readBundleFile(file, maxBytes), file, maxWindowMs);
}
