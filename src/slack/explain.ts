import { type ExplainOptions, explainText } from "../explain/explain.js";
import { explainSummary, renderExplainMrkdwn } from "../explain/render.js";
import type { SlackMessage } from "./messages.js";

/** `@why502 explain <pasted lines>`: the same explanation as `why502 explain`, as a Slack message. */
export function explainForSlack(text: string, opts: ExplainOptions = {}): SlackMessage {
  const lines = explainText(text, opts);
  const sections = renderExplainMrkdwn(lines);
  return {
    text: explainSummary(lines).slice(0, 3000),
    // verbatim: Slack links or mentions nothing by itself (a URL, a #channel name in a pasted line)
    blocks: sections
      .slice(0, 45)
      .map((s) => ({ type: "section", text: { type: "mrkdwn", text: s, verbatim: true } })),
  };
}
