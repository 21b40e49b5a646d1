import type { Unreadable } from "./types.js";

/** A directive as written, with its position; `children` when it opens a block. */
export interface Directive {
  name: string;
  args: string[];
  line: number;
  fileLine: number;
  file: string;
  text: string;
  children?: Directive[];
}

/** One printed file: its path, the `nginx -T` line of its header, and its lines. */
export interface Segment {
  path: string;
  header: number;
  lines: string[];
}

/** Tokenize one printed file into a directive tree (ngx_conf_read_token rules). Errors are collected. */
export function parseSegment(seg: Segment, errors: Unreadable[]): Directive[] {
  const root: Directive[] = [];
  const stack: { children: Directive[]; opener: Directive | null }[] = [{ children: root, opener: null }];
  const text = seg.lines.join("\n");
  let line = 1;
  let words: { text: string; line: number }[] = [];
  const lineText = (n: number) => seg.lines[n - 1] ?? "";
  const fail = (n: number, reason: string) =>
    errors.push({ line: seg.header + n, text: lineText(n), reason: `${seg.path}:${n}: ${reason}` });
  const unquote = (w: string) =>
    w.replace(/\\(["'\\tnr])/g, (_, c: string) =>
      c === "t" ? "\t" : c === "n" ? "\n" : c === "r" ? "\r" : c,
    );
  const finish = (endLine: number, block: boolean): Directive | undefined => {
    const [first, ...rest] = words;
    words = [];
    if (!first) return undefined;
    const span: string[] = [];
    for (let n = first.line; n <= endLine; n++) span.push(lineText(n));
    const d: Directive = {
      name: first.text,
      args: rest.map((w) => w.text),
      line: seg.header + first.line,
      fileLine: first.line,
      file: seg.path,
      text: span.join("\n"),
    };
    if (block) d.children = [];
    stack[stack.length - 1]?.children.push(d);
    return d;
  };
  let i = 0;
  while (i < text.length) {
    const ch = text[i] ?? "";
    if (ch === "\n") {
      line++;
      i++;
    } else if (ch === " " || ch === "\t" || ch === "\r") {
      i++;
    } else if (ch === "#") {
      while (i < text.length && text[i] !== "\n") i++;
    } else if (ch === ";" || ch === "{") {
      if (words.length === 0) fail(line, `unexpected "${ch}"`);
      const d = finish(line, ch === "{");
      if (d?.children) stack.push({ children: d.children, opener: d });
      i++;
    } else if (ch === "}") {
      if (words.length > 0) {
        fail(line, 'unexpected "}"');
        words = [];
      }
      if (stack.length > 1) stack.pop();
      else fail(line, 'unexpected "}"');
      i++;
    } else if (ch === '"' || ch === "'") {
      const start = line;
      let j = i + 1;
      let raw = "";
      while (j < text.length && text[j] !== ch) {
        if (text[j] === "\\" && j + 1 < text.length) raw += text[j++];
        if (text[j] === "\n") line++;
        raw += text[j++];
      }
      if (j >= text.length) {
        fail(start, "unexpected end of file in quoted string");
        i = j;
        words = [];
        break;
      }
      words.push({ text: unquote(raw), line: start });
      i = j + 1;
      const next = text[i];
      if (next !== undefined && !/[ \t\r\n;{)]/.test(next))
        fail(line, `unexpected "${next}" after quoted string`);
    } else {
      let j = i;
      let raw = "";
      while (j < text.length) {
        const c = text[j] ?? "";
        if (c === "\\" && j + 1 < text.length) {
          raw += c + text[j + 1];
          j += 2;
          continue;
        }
        if (c === "{" && raw.endsWith("$")) {
          raw += c;
          j++;
          continue;
        }
        if (/[ \t\r\n;{]/.test(c)) break;
        raw += c;
        j++;
      }
      words.push({ text: unquote(raw), line });
      i = j;
    }
  }
  if (words.length > 0) fail(words[0]?.line ?? line, 'unexpected end of file, expecting ";" or "}"');
  for (const open of stack.slice(1).reverse())
    if (open.opener) fail(open.opener.fileLine, 'unexpected end of file, expecting "}"');
  return root;
}
