import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadBundle } from "../../src/bundle/load.js";
import { diagnoseBundle } from "../../src/diagnosis/diagnose.js";
import { renderBlocks } from "../../src/diagnosis/render/blocks.js";
import {
  evidenceBlock,
  forMarkdown,
  forMrkdwn,
  forTerminal,
  inCodeBlock,
  jsonForTerminal,
  mdInlineCode,
  mrkdwnCode,
  mrkdwnCodeBlock,
} from "../../src/diagnosis/render/escape.js";
import { renderJson } from "../../src/diagnosis/render/json.js";
import { renderMarkdown } from "../../src/diagnosis/render/markdown.js";
import { proseIndex, proseMarkdown, proseMrkdwn } from "../../src/diagnosis/render/prose.js";
import { renderEvidenceReport } from "../../src/diagnosis/render/report.js";
import { renderText } from "../../src/diagnosis/render/text.js";
import { loadPlaybook } from "../../src/playbook/loader.js";
import { fuzzSettings } from "../support/fuzz.js";
import { hostileDiagnosis, PIECES } from "./corpus.js";
import {
  markdownProblems,
  markdownShape,
  mrkdwnProblems,
  outsideCode,
  slackTexts,
  terminalProblems,
} from "./markup.js";

/** The characters and runs each format gives a meaning to, and the corpus' whole pieces. */
const SPECIAL = [
  ...PIECES,
  ...[
    "\n",
    "\r\n",
    "\r",
    "\t",
    " ",
    "    ",
    "`",
    "``",
    "```",
    "````",
    "~~~",
    "<",
    ">",
    "&",
    "&amp;",
    "*",
    "_",
  ],
  ...["~", "|", "[", "]", "(", ")", "![", "](", "!", "#", "##", "- ", "1. ", "> ", "=", "---", "\\", "@"],
  ...["@here", "@channel", "http://", "https://", "www.", "mailto:", "a@b.c", "<!", "<@", "<#", "^", ":"],
];
const piece = fc.oneof(
  fc.constantFrom(...SPECIAL),
  fc.integer({ min: 0, max: 0xa0 }).map((c) => String.fromCharCode(c)),
  fc.constantFrom("\u200b", "\u202e", "\u2028", "\ufeff", "\u2066", "\ud800", "😀", "é"),
  fc.string({ unit: "binary", maxLength: 6 }),
  fc.string({ unit: "grapheme-ascii", maxLength: 12 }),
);
const hostText = fc.array(piece, { maxLength: 24 }).map((a) => a.join(""));

const WORD = /[\p{L}\p{N}]/u;

describe("each escape, over random host text", () => {
  it("a terminal never obeys it", () => {
    fc.assert(
      fc.property(hostText, (s) => {
        expect(terminalProblems(forTerminal(s))).toEqual([]);
        expect(forTerminal(s)).not.toContain("\n");
        const json = jsonForTerminal(JSON.stringify({ s }));
        expect(terminalProblems(json)).toEqual([]);
        expect(JSON.parse(json)).toEqual({ s });
      }),
      fuzzSettings(400),
    );
  });

  it("Markdown: prose makes no markup and no block, code spans and fences hold everything", () => {
    fc.assert(
      fc.property(hostText, (s) => {
        for (const where of ["prose", "table"] as const) {
          const md = forMarkdown(s, where);
          expect(markdownProblems(md)).toEqual([]);
          // alone on its line (as an explanation is), it is a paragraph: no heading, item, quote or fence
          expect(["text", "blank"]).toContain(markdownShape(md).join(" "));
          // in a table row (escaped for one) it is one cell
          if (where === "table") expect(markdownShape(`| ${md} |`)).toEqual(["row2"]);
          expect(outsideCode(`${mdInlineCode(s, where)}`)).toBe("");
        }
        expect(outsideCode(`${inCodeBlock([s, "AFTER-FENCE"])}\nafter`)).toBe("after");
        expect(outsideCode(`- item\n\n${inCodeBlock([s], "  ")}\nafter`)).toBe("- item\n\nafter");
      }),
      fuzzSettings(400),
    );
  });

  it("Slack: no entity left raw, no formatting, mention or code from prose; code blocks not closable", () => {
    fc.assert(
      fc.property(hostText, (s) => {
        const prose = forMrkdwn(s);
        expect(mrkdwnProblems(prose)).toEqual([]);
        expect(prose).not.toMatch(/[*~`\n]/);
        for (const m of prose.matchAll(/_/g)) {
          const i = m.index ?? 0;
          expect(WORD.test(prose[i - 1] ?? "") && WORD.test(prose[i + 1] ?? "")).toBe(true);
        }
        const code = mrkdwnCode(s);
        expect(code.slice(1, -1)).not.toMatch(/[`<>]/);
        const block = mrkdwnCodeBlock([s]);
        expect(block.startsWith("```") && block.endsWith("```")).toBe(true);
        const inner = block.slice(3, -3);
        expect(inner).not.toContain("```");
        expect(inner).not.toMatch(/[<>]|&(?!amp;|lt;|gt;)|^`|`$/);
      }),
      fuzzSettings(400),
    );
  });

  it("Slack evidence: preformatted text is the host text itself, controls made visible", () => {
    fc.assert(
      fc.property(hostText, (s) => {
        const el = evidenceBlock([s], 100_000).elements[0];
        const text =
          el?.type === "rich_text_preformatted" && el.elements[0]?.type === "text" ? el.elements[0].text : "";
        expect(terminalProblems(text)).toEqual([]);
        const shown = s
          .split("\n")
          .map((l) => forTerminal(l.replace(/\r$/, "")))
          .join("\n")
          .trimEnd();
        expect(text).toBe(shown || " ");
      }),
      fuzzSettings(400),
    );
  });
});

describe("a playbook sentence, random host text filled in", () => {
  it("keeps exactly the playbook's code spans; the values make no markup, inside a span or out", () => {
    fc.assert(
      fc.property(hostText, hostText, (a, b) => {
        const pieces = ["Run `a ", a, " b` on ", b, " then `c`."];
        const text = pieces.join("");
        const ix = proseIndex([pieces]);
        const slack = proseMrkdwn(text, ix);
        expect(mrkdwnProblems(slack)).toEqual([]);
        expect(slack.match(/`/g)).toHaveLength(4);
        expect(slack.startsWith("Run `a ") && slack.endsWith(" then `c`.")).toBe(true);
        for (const where of ["prose", "table"] as const) {
          const md = proseMarkdown(text, ix, where);
          expect(markdownProblems(md)).toEqual([]);
          expect(markdownShape(md)).toEqual(["text"]);
          if (where === "table") expect(markdownShape(`| ${md} |`)).toEqual(["row2"]);
          expect(md.endsWith(" then `c`.")).toBe(true);
          // what is left outside code is the playbook's words and the second value, escaped
          expect(outsideCode(md)).toMatch(/^Run {2}on .* then \.$/);
        }
      }),
      fuzzSettings(400),
    );
  });
});

const root = new URL("../../", import.meta.url).pathname;
const playbook = loadPlaybook(`${root}playbooks/why502.yaml`);
const base = diagnoseBundle(loadBundle(`${root}playbooks/cases/lab-two-causes/bundle.json`), playbook);
const shapes = {
  markdown: markdownShape(renderMarkdown(base)),
  report: markdownShape(renderEvidenceReport(base)),
};

describe("every renderer, with random host text in every field of a diagnosis", () => {
  it("terminal, JSON, Markdown and Block Kit stay safe and keep their structure", () => {
    fc.assert(
      fc.property(hostText, (s) => {
        const d = hostileDiagnosis(base, s);
        expect(terminalProblems(renderText(d, { color: true, trace: true }), true)).toEqual([]);
        expect(terminalProblems(renderJson(d))).toEqual([]);
        const md = renderMarkdown(d);
        expect(markdownProblems(md)).toEqual([]);
        expect(markdownShape(md)).toEqual(shapes.markdown);
        const report = renderEvidenceReport(d);
        expect(markdownProblems(report)).toEqual([]);
        expect(markdownShape(report)).toEqual(shapes.report);
        const t = slackTexts(renderBlocks(d));
        expect(t.mrkdwn.flatMap((x) => mrkdwnProblems(x))).toEqual([]);
        for (const p of [...t.plain, ...t.preformatted]) expect(terminalProblems(p)).toEqual([]);
      }),
      fuzzSettings(30),
    );
  });
});
