import { readFileSync } from "node:fs";
import { type Document, isMap, isSeq, LineCounter, parseDocument, type Node as YamlNode } from "yaml";
import type { z } from "zod";
import { type ErrorCode, UserError } from "./errors.js";

export type Path = readonly PropertyKey[];

/** `line:col` of the YAML node at `path` (or of its nearest existing parent). */
export function locate(doc: Document, counter: LineCounter, path: Path, atKey = false): string {
  let node: unknown = doc.contents;
  let found: YamlNode | undefined = doc.contents ?? undefined;
  for (const [i, key] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
      if (!pair) break;
      node = pair.value;
      found = (atKey && i === path.length - 1 ? pair.key : (pair.value ?? pair.key)) as YamlNode;
    } else if (isSeq(node) && typeof key === "number") {
      node = node.items[key];
      if (!node) break;
      found = node as YamlNode;
    } else break;
  }
  const pos = counter.linePos(found?.range?.[0] ?? 0);
  return `${pos.line}:${pos.col}`;
}

/** `services.checkout.backends[0].port` */
export function dotted(path: Path): string {
  return path
    .map((p, i) => (typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`))
    .join("");
}

/** One readable sentence for a zod issue. */
export function describeIssue(
  issue: { code: string; message: string; keys?: string[]; issues?: { message: string }[] } | undefined,
): string {
  if (!issue) return "invalid";
  if (issue.code === "invalid_key" && issue.issues?.[0])
    return `invalid name: ${issue.issues[0].message.replace(/\.$/, "")}`;
  if (issue.code === "unrecognized_keys" && issue.keys)
    return `unknown key ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
  return issue.message.replace(/^Invalid (input|option): /, "").replace(/\.$/, "");
}

/** A YAML file validated by a zod schema, with what is needed to point at any node of it afterwards. */
export interface ParsedYaml<T> {
  data: T;
  /** `file:line:col: key.path` of the node at `path`, for errors found after the schema. */
  where(path: Path): string;
}

/**
 * Parse YAML text and validate it with `schema`. Every error is a UserError naming the file, line, column
 * and key, and what was expected.
 */
export function parseYaml<S extends z.ZodType>(
  text: string,
  file: string,
  schema: S,
  errors: { code: ErrorCode; what: string; hint: string },
): ParsedYaml<z.output<S>> {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const pos = counter.linePos(yamlError.pos[0]);
    const what = yamlError.message.split("\n")[0]?.replace(/ at line \d+, column \d+:?$/, "");
    throw new UserError(errors.code, `${file}:${pos.line}:${pos.col}: invalid YAML: ${what}.`);
  }
  const parsed = schema.safeParse(doc.toJS() ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path ?? [];
    const where = locate(doc, counter, path, issue?.code === "invalid_key");
    throw new UserError(
      errors.code,
      `${file}:${where}: ${dotted(path) || errors.what}: ${describeIssue(issue)}.`,
      errors.hint,
    );
  }
  return { data: parsed.data, where: (path) => `${file}:${locate(doc, counter, path)}: ${dotted(path)}` };
}

/** Read a text file, or say in one sentence that it cannot be read. */
export function readTextFile(
  file: string,
  what: string,
  code: ErrorCode = "file_not_found",
  hint?: string,
): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    throw new UserError(
      code,
      `Cannot read ${what} ${file}: the file does not exist or is not readable.`,
      hint,
    );
  }
}
