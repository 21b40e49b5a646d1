import { readFileSync } from "node:fs";
import { LineCounter, parseDocument } from "yaml";
import { UserError } from "../errors.js";
import { describeIssue, dotted, locate } from "../yaml-location.js";
import { Config } from "./schema.js";

/** Parse why502.yaml; every error names the file, line, column and key, and what was expected. */
export function parseConfig(text: string, file: string): Config {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const pos = counter.linePos(yamlError.pos[0]);
    const what = yamlError.message.split("\n")[0]?.replace(/ at line \d+, column \d+:?$/, "");
    throw new UserError("config_invalid", `${file}:${pos.line}:${pos.col}: invalid YAML: ${what}.`);
  }
  const parsed = Config.safeParse(doc.toJS() ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path ?? [];
    throw new UserError(
      "config_invalid",
      `${file}:${locate(doc, counter, path, issue?.code === "invalid_key")}: ${dotted(path) || "config"}: ${describeIssue(issue)}.`,
      "See the configuration reference in README.md.",
    );
  }
  return parsed.data;
}

export function loadConfig(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new UserError(
      "file_not_found",
      `Cannot read config ${file}: the file does not exist or is not readable.`,
      "Pass --config FILE or create ./why502.yaml (see README.md).",
    );
  }
  return parseConfig(text, file);
}
