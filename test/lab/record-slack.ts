// Records the Slack thread of a real lab incident for the docs:
//   npx tsx test/lab/record-slack.ts          (root; needs nginx, sshd, sudo like the lab)
// The lab's oom scenario runs for real; `why502 serve` (HTTP mode) diagnoses it over SSH on `/why502
// checkout 1m` and posts into the Slack stand-in; what Slack received is written to docs/slack/.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { slash, startServe, stopServe } from "../slack/serve-process.js";
import { startSlackStandIn } from "../support/slack/standin.js";
import { startLab } from "./lab.js";
import { writeLabConfig } from "./lab-config.js";
import { runScenario } from "./scenarios.js";

const root = new URL("../../", import.meta.url).pathname;
const out = join(root, "docs", "slack");
const CHANNEL = "C0CHECKOUT";

const lab = await startLab({ scenario: "oom" });
const standin = await startSlackStandIn();
let bot: Awaited<ReturnType<typeof startServe>> | undefined;
try {
  const summary = await runScenario(lab, "oom");
  const path = writeLabConfig(lab.info, join(lab.dir, "why502.yaml"), {
    extraInstances: summary.extraInstances,
  });
  const config = parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  config.slack = { api_url: standin.url, channel: CHANNEL };
  config.store = { sqlite: join(lab.dir, "why502.db") };
  writeFileSync(path, stringify(config));
  bot = await startServe({ config: path, mode: "http" });
  await slash(bot, standin, "checkout 1m");
  const parent = await standin.waitFor(() => standin.messages(CHANNEL)[0], 10_000);
  const reply = await standin.waitFor(() => standin.replies(CHANNEL, parent.ts)[0], 60_000);
  const final = await standin.waitFor(() => {
    const p = standin.messages(CHANNEL)[0];
    return p && /details in the thread/.test(JSON.stringify(p.edits.at(-1) ?? {})) && p;
  }, 20_000);
  mkdirSync(out, { recursive: true });
  const first = final.edits[0];
  writeFileSync(
    join(out, "oom-thread.json"),
    `${JSON.stringify(
      {
        recorded: "the lab's oom scenario, /why502 checkout 1m over HTTP mode; what Slack received, in order",
        parent_first: first ? { text: first.text, blocks: first.blocks } : undefined,
        parent_progress: final.edits.slice(1, -1).map((e) => ({ text: e.text, blocks: e.blocks })),
        parent_final: { text: final.text, blocks: final.blocks, reactions: final.reactions },
        thread_reply: { text: reply.text, blocks: reply.blocks, metadata: reply.metadata },
      },
      null,
      2,
    )}\n`,
  );
  process.stderr.write(
    `wrote ${join(out, "oom-thread.json")}\n${stringify({ calls: standin.calls.map((c) => `${c.method} ${c.status}`) })}`,
  );
} finally {
  await stopServe(bot);
  await standin.close();
  await lab.stop();
}
