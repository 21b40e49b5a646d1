import {
  Composer,
  type CST,
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  Parser,
  type Node as YamlNode,
} from "yaml";

/**
 * What a YAML file read by why502 may hold. A document past one of these is refused with its place, before it
 * costs more than its size: config and playbook files are small, and a hostile one must not take the process
 * down (the YAML parser's own nesting recursion overflows the stack beyond a few thousand levels, and an alias
 * bomb expands a few lines into billions of values).
 */
export const YAML_LIMITS = {
  /** Bytes of text. */
  maxBytes: 1024 * 1024,
  /** Lists and maps inside one another. */
  maxDepth: 64,
  /** Values that aliases (`*name`) add to the document, counted as if each alias were written out. */
  maxAliasValues: 100_000,
};

/** Why a document is refused, and where (an offset into the text). */
export interface YamlFault {
  offset: number;
  message: string;
}

export interface ReadYaml {
  doc: Document;
  counter: LineCounter;
  /** The document as plain data: objects, arrays, strings, numbers, booleans and null. */
  data: unknown;
}

export class YamlRefused extends Error {
  constructor(readonly fault: YamlFault) {
    super(fault.message);
    this.name = "YamlRefused";
  }
}

/**
 * Parse YAML text within YAML_LIMITS, in time linear in its length: one document, no duplicate keys, nesting
 * and aliases bounded. Throws YamlRefused with the offset of the first problem.
 */
export function readYaml(text: string, limits = YAML_LIMITS): ReadYaml {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > limits.maxBytes)
    throw new YamlRefused({
      offset: 0,
      message: `the file has ${bytes} bytes, more than the ${limits.maxBytes} a file of this kind may have`,
    });
  const counter = new LineCounter();
  const tokens = [...new Parser(counter.addNewLine).parse(text)];
  const deep = tooDeep(tokens, limits.maxDepth);
  if (deep !== undefined)
    throw new YamlRefused({
      offset: deep,
      message: `lists and maps are nested deeper than ${limits.maxDepth} levels here`,
    });
  // The composer's own duplicate-key check compares each key with every earlier one (quadratic in a map's
  // size); toPlain checks them with a set instead.
  const composer = new Composer({ uniqueKeys: false, prettyErrors: false });
  let doc: Document | undefined;
  for (const d of composer.compose(tokens, true, text.length)) {
    if (doc) {
      throw new YamlRefused({
        offset: d.range[0],
        message: "invalid YAML: a second document starts here; the file must hold one",
      });
    }
    doc = d;
  }
  if (!doc) throw new YamlRefused({ offset: 0, message: "invalid YAML: no document" });
  const error = doc.errors[0];
  if (error) {
    const what = error.message.split("\n")[0]?.replace(/ at line \d+, column \d+:?$/, "");
    throw new YamlRefused({ offset: error.pos[0], message: `invalid YAML: ${what?.replace(/\.$/, "")}` });
  }
  return { doc, counter, data: toPlain(doc.contents, limits.maxAliasValues) };
}

/** The offset of the first collection nested deeper than `max`, walking the syntax tree without recursion. */
function tooDeep(tokens: CST.Token[], max: number): number | undefined {
  const stack: [CST.Token, number][] = tokens.map((t) => [t, 0]);
  for (let top = stack.pop(); top; top = stack.pop()) {
    const [token, depth] = top;
    if (token.type === "document") {
      if (token.value) stack.push([token.value, depth]);
    } else if (token.type === "block-map" || token.type === "block-seq" || token.type === "flow-collection") {
      if (depth >= max) return token.offset;
      for (const item of token.items) {
        if ("key" in item && item.key) stack.push([item.key, depth + 1]);
        if (item.value) stack.push([item.value, depth + 1]);
      }
    }
  }
  return undefined;
}

interface Anchored {
  value: unknown;
  /** How many values it stands for, written out. */
  weight: number;
}

interface Frame {
  node: YamlNode;
  anchor: string | undefined;
  value: Record<string, unknown> | unknown[];
  weight: number;
  items: readonly unknown[];
  next: number;
  /** Map frames: the keys seen and the key whose value comes next. */
  keys: Set<string> | undefined;
  key: string;
}

const nodeOffset = (node: unknown): number => (node as YamlNode | null)?.range?.[0] ?? 0;

/**
 * The document's plain data, built without recursion. Keys are strings and unique within their map; an alias
 * stands for its anchor's value (shared, not copied), and what the aliases stand for, written out, is bounded
 * by `maxAliasValues`, since whatever reads the data afterwards walks it written out.
 */
function toPlain(root: YamlNode | null, maxAliasValues: number): unknown {
  const anchors = new Map<string, Anchored | "open">();
  let aliasValues = 0;
  const stack: Frame[] = [];
  let result: unknown = null;

  const deliver = (value: unknown, weight: number) => {
    const top = stack[stack.length - 1];
    if (!top) {
      result = value;
      return;
    }
    top.weight += weight;
    if (Array.isArray(top.value)) top.value.push(value);
    else top.value[top.key] = value;
  };
  const resolve = (node: YamlNode): Anchored => {
    const source = (node as unknown as { source: string }).source;
    const found = anchors.get(source);
    const offset = nodeOffset(node);
    if (found === undefined)
      throw new YamlRefused({
        offset,
        message: `invalid YAML: the alias *${source} has no anchor &${source} before it`,
      });
    if (found === "open")
      throw new YamlRefused({ offset, message: `the alias *${source} stands inside the value it names` });
    aliasValues += found.weight;
    if (aliasValues > maxAliasValues)
      throw new YamlRefused({
        offset,
        message: `aliases here stand for more than ${maxAliasValues} values written out; write the values, or use fewer and smaller aliases`,
      });
    return found;
  };
  /** Start on a value node: scalars and aliases are delivered at once, collections get a frame. */
  const enter = (node: unknown) => {
    if (node === null || node === undefined) return deliver(null, 1);
    const n = node as YamlNode;
    if (isAlias(n)) {
      const a = resolve(n);
      return deliver(a.value, a.weight);
    }
    const anchor = (n as { anchor?: string }).anchor;
    if (isScalar(n)) {
      if (anchor) anchors.set(anchor, { value: n.value, weight: 1 });
      return deliver(n.value, 1);
    }
    if (isMap(n) || isSeq(n)) {
      if (anchor) anchors.set(anchor, "open");
      stack.push({
        node: n,
        anchor,
        value: isMap(n) ? {} : [],
        weight: 1,
        items: n.items,
        next: 0,
        keys: isMap(n) ? new Set() : undefined,
        key: "",
      });
      return;
    }
    throw new YamlRefused({ offset: nodeOffset(n), message: "invalid YAML: a value of an unknown kind" });
  };
  const keyOf = (key: unknown, at: number): string => {
    if (key === null || key === undefined) return "";
    const k = key as YamlNode;
    const value = isAlias(k) ? resolve(k).value : isScalar(k) ? k.value : undefined;
    if (isScalar(k) && k.anchor) anchors.set(k.anchor, { value: k.value, weight: 1 });
    if (value !== null && typeof value === "object")
      throw new YamlRefused({
        offset: nodeOffset(k) || at,
        message: "a key must be a plain value, not a list or map",
      });
    return value === null || value === undefined ? "" : String(value);
  };

  enter(root);
  for (let top = stack[stack.length - 1]; top; top = stack[stack.length - 1]) {
    if (top.next >= top.items.length) {
      stack.pop();
      if (top.anchor) anchors.set(top.anchor, { value: top.value, weight: top.weight });
      deliver(top.value, top.weight);
      continue;
    }
    const item = top.items[top.next++];
    if (!top.keys) {
      enter(item);
      continue;
    }
    const pair = item as { key: unknown; value: unknown };
    const key = keyOf(pair.key, nodeOffset(top.node));
    if (top.keys.has(key))
      throw new YamlRefused({
        offset: nodeOffset(pair.key) || nodeOffset(top.node),
        message: `invalid YAML: the key "${key}" appears twice in this map; keys must be unique`,
      });
    // Assigned to a plain object, "__proto__" would replace its prototype instead of adding a key.
    if (key === "__proto__")
      throw new YamlRefused({ offset: nodeOffset(pair.key), message: 'the key "__proto__" is not accepted' });
    top.keys.add(key);
    top.key = key;
    enter(pair.value);
  }
  return result;
}
