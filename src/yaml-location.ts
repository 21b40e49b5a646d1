import { type Document, isMap, isSeq, type LineCounter, type Node as YamlNode } from "yaml";

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
