import { renderBlocks } from "../diagnosis/render/blocks.js";
import { jsonForTerminal } from "../diagnosis/render/escape.js";
import { renderJson } from "../diagnosis/render/json.js";
import { renderMarkdown } from "../diagnosis/render/markdown.js";
import { renderText } from "../diagnosis/render/text.js";
import type { Diagnosis } from "../diagnosis/types.js";
import { UserError } from "../errors.js";

export const OutputFormat = ["text", "json", "markdown", "blocks"] as const;
export type OutputFormat = (typeof OutputFormat)[number];

export function outputFormat(json: boolean | undefined, format: string | undefined): OutputFormat {
  if (json) return "json";
  if (format === undefined) return "text";
  if ((OutputFormat as readonly string[]).includes(format)) return format as OutputFormat;
  throw new UserError("usage", `--format "${format}" is not known: use one of ${OutputFormat.join(", ")}.`);
}

export function renderAs(
  d: Diagnosis,
  format: OutputFormat,
  opts: { color: boolean; trace: boolean },
): string {
  switch (format) {
    case "json":
      return renderJson(d);
    case "markdown":
      return renderMarkdown(d);
    case "blocks":
      return `${jsonForTerminal(JSON.stringify({ blocks: renderBlocks(d) }, null, 2))}\n`;
    case "text":
      return renderText(d, { color: opts.color, trace: opts.trace });
  }
}
