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
  return parsed.data;
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

export function loadBundle(file: string, maxWindowMs = DEFAULT_MAX_WINDOW_MS): Bundle {
  return parseBundleText(readTextFile(file, "bundle"), file, maxWindowMs);
}
