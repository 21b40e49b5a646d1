import { readFileSync, statSync } from "node:fs";
import { type Document, isMap, isSeq, type LineCounter, type Node as YamlNode } from "yaml";
import type { z } from "zod";
import { type ErrorCode, UserError } from "./errors.js";
import { readYaml, YAML_LIMITS, YamlRefused } from "./yaml-document.js";

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
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > YAML_LIMITS.maxBytes) throw tooBig(file, errors.what, bytes, errors.code);
  let read: ReturnType<typeof readYaml>;
  try {
    read = readYaml(text);
  } catch (e) {
    if (!(e instanceof YamlRefused)) throw e;
    throw new UserError(
      errors.code,
      `${file}:${linePos(text, e.fault.offset)}: ${e.fault.message}.`,
      errors.hint,
    );
  }
  const { doc, counter, data } = read;
  const parsed = schema.safeParse(data ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path ?? [];
    // An unknown key is shown at the key itself, not at the map that holds it.
    const unknown = issue?.code === "unrecognized_keys" ? issue.keys?.[0] : undefined;
    const where =
      unknown === undefined
        ? locate(doc, counter, path, issue?.code === "invalid_key")
        : locate(doc, counter, [...path, unknown], true);
    throw new UserError(
      errors.code,
      `${file}:${where}: ${dotted(path) || errors.what}: ${describeIssue(issue)}.`,
      errors.hint,
    );
  }
  return { data: parsed.data, where: (path) => `${file}:${locate(doc, counter, path)}: ${dotted(path)}` };
}

function tooBig(file: string, what: string, bytes: number, code: ErrorCode): UserError {
  const max = YAML_LIMITS.maxBytes;
  return new UserError(
    code,
    `${file}: the ${what} has ${bytes} bytes, more than the ${max} (${max / 1024 / 1024} MiB) a ${what} may have.`,
  );
}

/** `line:col` of an offset into `text`. */
function linePos(text: string, offset: number): string {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) {
    line++;
    start = i + 1;
  }
  return `${line}:${offset - start + 1}`;
}

/**
 * Read a YAML file of a kind (config, playbook) and validate it: `parseYaml` after refusing a file larger than
 * the limit without reading it.
 */
export function readYamlFile(file: string, what: string, code: ErrorCode, hint?: string): string {
  let size: number | undefined;
  try {
    size = statSync(file).size;
  } catch {
    size = undefined;
  }
  if (size !== undefined && size > YAML_LIMITS.maxBytes) throw tooBig(file, what, size, code);
  return readTextFile(file, what, "file_not_found", hint);
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
