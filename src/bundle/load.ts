import { UserError } from "../errors.js";
import { describeIssue, readTextFile } from "../yaml-location.js";
import { Bundle } from "./schema.js";

function lineCol(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  const col = offset - before.lastIndexOf("\n");
  return `${line}:${col}`;
}

/** Parse a bundle's JSON text; errors name the file, the place and what was expected. */
export function parseBundleText(text: string, file: string): Bundle {
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
  return parsed.data;
}

export function loadBundle(file: string): Bundle {
  return parseBundleText(readTextFile(file, "bundle"), file);
}
