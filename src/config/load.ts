import { parseYaml, readYamlFile } from "../yaml-location.js";
import { Config } from "./schema.js";

/** Parse why502.yaml; every error names the file, line, column and key, and what was expected. */
export function parseConfig(text: string, file: string): Config {
  return parseYaml(text, file, Config, {
    code: "config_invalid",
    what: "config",
    hint: "See the configuration reference in README.md.",
  }).data;
}

export function loadConfig(file: string): Config {
  const text = readYamlFile(
    file,
    "config",
    "config_invalid",
    "Pass --config FILE or create ./why502.yaml (see README.md).",
  );
  return parseConfig(text, file);
}
