import { explainText, renderExplainMrkdwn } from "../explain/explain.js";

/** `@why502 explain <pasted lines>`: the same explanation as `why502 explain`, as Slack mrkdwn. */
export function explainForSlack(text: string): string {
  return renderExplainMrkdwn(explainText(text));
}
