/**
 * Readers of each output as its consumer reads it, to find what host text could have turned into: a
 * terminal's control bytes, Slack's `<…>` sequences and formatting, Markdown's links, images, HTML, headings
 * and code fences. Each returns the problems it found (empty when the output is safe).
 */

/** SGR sequences the text renderer writes itself when asked for colour (bold, dim, the four colours). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are the renderer's own escape sequences
const OWN_SGR = /\u001b\[(?:1|2|22|31|32|33|36|39)m/g;
/** C0 (but tab and newline), DEL, C1, and the characters that reorder or hide text. */
const UNSAFE_TERMINAL =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/;

export function terminalProblems(out: string, ownColour = false): string[] {
  const s = ownColour ? out.replace(OWN_SGR, "") : out;
  const m = UNSAFE_TERMINAL.exec(s);
  if (!m) return [];
  const code = m[0].charCodeAt(0).toString(16).padStart(4, "0");
  return [`U+${code} at ${m.index}: ${JSON.stringify(s.slice(Math.max(0, m.index - 20), m.index + 20))}`];
}

// --- Slack --------------------------------------------------------------------------------------------

/** Every mrkdwn text object's text, and every preformatted rich-text element's text. */
export function slackTexts(blocks: unknown): { mrkdwn: string[]; plain: string[]; preformatted: string[] } {
  const out = { mrkdwn: [] as string[], plain: [] as string[], preformatted: [] as string[] };
  const walk = (v: unknown, pre: boolean) => {
    if (Array.isArray(v)) for (const x of v) walk(x, pre);
    else if (v && typeof v === "object") {
      const o = v as Record<string, unknown>;
      if (typeof o.text === "string") {
        if (o.type === "mrkdwn") out.mrkdwn.push(o.text);
        else if (o.type === "plain_text") out.plain.push(o.text);
        else if (o.type === "text" && pre) out.preformatted.push(o.text);
        else if (o.type === "text")
          throw new Error(`a rich-text element outside a preformatted one: ${o.text}`);
      }
      for (const x of Object.values(o)) walk(x, pre || o.type === "rich_text_preformatted");
    }
  };
  walk(blocks, false);
  return out;
}

/** mrkdwn text objects without `verbatim: true` (Slack would link URLs and channel names in them itself). */
export function notVerbatim(blocks: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) for (const x of v) walk(x);
    else if (v && typeof v === "object") {
      const o = v as Record<string, unknown>;
      if (o.type === "mrkdwn" && o.verbatim !== true) out.push(String(o.text).slice(0, 80));
      for (const x of Object.values(o)) walk(x);
    }
  };
  walk(blocks);
  return out;
}

/**
 * What Slack would render as markup in a mrkdwn text: any `<…>` but the mentions the bot writes on purpose
 * (`ownMentions`), a bare `&` (so `&lt;!channel&gt;` in host text would render as `<!channel>`), `@here`
 * and friends written out, the corpus' bold, italics and strike, a code fence outside the ones the
 * renderer opens (`fences`), and backticks that do not pair up into the renderer's own code spans.
 */
export function mrkdwnProblems(text: string, ownMentions: string[] = [], fences = false): string[] {
  const problems: string[] = [];
  let s = text;
  for (const m of ownMentions) s = s.split(m).join("");
  if (fences) s = s.replace(/```[\s\S]*?```/g, "");
  if (/[<>]/.test(s)) problems.push(`a raw < or > in ${JSON.stringify(s.slice(0, 200))}`);
  if (/&(?!amp;|lt;|gt;)/.test(s)) problems.push("a bare &");
  if (/@(here|channel|everyone)\b/i.test(s)) problems.push("@here/@channel/@everyone written out");
  for (const f of ["*bold*", "~strike~", "```"]) if (s.includes(f)) problems.push(`${f} survives`);
  // Slack reads `_` as italics only at a word's edge: `oom_killed` is text.
  if (/(?<![\p{L}\p{N}])_italic_(?![\p{L}\p{N}])/u.test(s)) problems.push("_italic_ survives");
  if (/^\s*(&gt;|>)/m.test(s)) problems.push("a line that starts a quote");
  const ticks = (s.match(/`/g) ?? []).length;
  if (ticks % 2 !== 0)
    problems.push("an odd number of backticks: a code span is opened or closed by host text");
  if (s.includes("`tick`")) problems.push("host backticks make a code span");
  return problems;
}

// --- Markdown -----------------------------------------------------------------------------------------

/** A line with inline code spans removed, as CommonMark reads them (a run of n backticks to the next n). */
export function withoutSpans(line: string): string {
  let out = "";
  let i = 0;
  const run = (at: number) => {
    let n = 0;
    while (line[at + n] === "`") n++;
    return n;
  };
  while (i < line.length) {
    if (line[i] === "\\") {
      out += line.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (line[i] !== "`") {
      out += line[i];
      i++;
      continue;
    }
    const n = run(i);
    let j = i + n;
    let close = -1;
    while (j < line.length) {
      const m = line[j] === "`" ? run(j) : 0;
      if (m === n) {
        close = j;
        break;
      }
      j += Math.max(1, m);
    }
    if (close < 0) {
      out += line.slice(i, i + n);
      i += n;
    } else i = close + n;
  }
  return out;
}

/**
 * The Markdown outside code: fenced blocks dropped (a fence opens with 3+ backticks or tildes, indented or
 * not, and closes on a line of at least as many of the same character and nothing else, as CommonMark
 * says), inline code spans dropped. Lines are kept as lines.
 */
export function outsideCode(markdown: string): string {
  const kept: string[] = [];
  let fence: { char: string; n: number } | undefined;
  for (const l of markdown.split("\n")) {
    const t = l.trim();
    if (fence) {
      const close = new RegExp(`^\\${fence.char}{${fence.n},}$`);
      if (close.test(t)) fence = undefined;
      continue;
    }
    // a backtick fence's info string holds no backtick (CommonMark): else the line is text with code in it
    const open = /^(`{3,}|~{3,})/.exec(t)?.[1];
    if (open && !(open[0] === "`" && t.slice(open.length).includes("`"))) {
      fence = { char: open[0] ?? "`", n: open.length };
      continue;
    }
    kept.push(withoutSpans(l));
  }
  return kept.join("\n");
}

/**
 * What a Markdown renderer would turn into markup outside code: a link, image or reference definition, raw
 * HTML or an autolink, a bare URL (GFM autolinks it), emphasis or strike from the corpus, a heading made by
 * host text (the corpus' `INJECTED`), and host text seen outside a code block that should hold it
 * (`AFTER-FENCE`, which follows a would-be closing fence inside the evidence).
 */
export function markdownProblems(markdown: string): string[] {
  const problems: string[] = [];
  const outside = outsideCode(markdown);
  const plain = outside.replace(/\\./g, "·").replace(/&(amp|lt|gt);/g, "·");
  if (/\[[^\]]*\]\(/.test(plain)) problems.push("a link or image");
  if (/^\s*\[[^\]]*\]:/m.test(plain)) problems.push("a link reference definition");
  if (/<[a-z/!?]/i.test(plain)) problems.push("raw HTML or an autolink");
  if (/https?:\/\//.test(plain)) problems.push("a bare URL a renderer would autolink");
  for (const f of ["*bold*", "_italic_", "~strike~"]) if (plain.includes(f)) problems.push(`${f} survives`);
  if (/^\s{0,3}(?:(?:[-*+]|\d+[.)])\s+)?#{1,6}\s+INJECTED/m.test(outside))
    problems.push("a heading from host text");
  // on a line of its own only inside evidence (host text in prose is put on one line)
  if (/^\s*AFTER-FENCE$/m.test(outside)) problems.push("host text closed a code block");
  return problems;
}

/**
 * The block structure of a Markdown document, outside code: each line's kind (heading level, list item,
 * quote, table row with its number of unescaped `|`, fence, indented code, blank, text). Host text must not
 * change it.
 */
export function markdownShape(markdown: string): string[] {
  const shape: string[] = [];
  let fence: { char: string; n: number } | undefined;
  for (const l of markdown.split("\n")) {
    const t = l.trim();
    if (fence) {
      if (new RegExp(`^\\${fence.char}{${fence.n},}$`).test(t)) {
        fence = undefined;
        shape.push("fence-close");
      }
      continue;
    }
    const open = /^(`{3,}|~{3,})/.exec(t)?.[1];
    if (open && !(open[0] === "`" && t.slice(open.length).includes("`"))) {
      fence = { char: open[0] ?? "`", n: open.length };
      shape.push("fence-open");
    } else if (t === "") shape.push("blank");
    else if (/^( {4,}|\t)/.test(l) && (shape.length === 0 || shape.at(-1) === "blank"))
      shape.push("indented-code");
    else if (/^#{1,6}\s/.test(t)) shape.push(`h${/^#+/.exec(t)?.[0].length}`);
    else if (/^\|/.test(t)) shape.push(`row${(t.replace(/\\\|/g, "").match(/\|/g) ?? []).length}`);
    else if (/^([-*+]|\d+[.)])\s/.test(t)) shape.push("item");
    else if (/^>/.test(t)) shape.push("quote");
    else shape.push("text");
  }
  return shape;
}
