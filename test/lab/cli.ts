// npx tsx test/lab/cli.ts <scenario> [--keep] [--backends N]
// Starts the lab, runs the scenario, prints lab.json's path and the expected verdicts. With --keep the
// lab stays up until Ctrl-C; otherwise everything is stopped before exit.

import { join } from "node:path";
import { parseArgs } from "node:util";
import { startLab } from "./lab.js";
import { writeLabConfig } from "./lab-config.js";
import { SCENARIOS, ScenarioName } from "./lab-info.js";
import { runScenario } from "./scenarios.js";

const usage = `usage: npx tsx test/lab/cli.ts <${SCENARIOS.join("|")}> [--keep] [--backends N]`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      keep: { type: "boolean", default: false },
      backends: { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const scenario = ScenarioName.safeParse(positionals[0]);
  if (!scenario.success) {
    console.error(`unknown scenario ${JSON.stringify(positionals[0] ?? "")}\n${usage}`);
    return 64;
  }
  const backends = values.backends === undefined ? undefined : Number(values.backends);
  const t0 = performance.now();
  const lab = await startLab({
    scenario: scenario.data,
    ...(backends ? { backends } : {}),
  });
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    lab.stop().then(
      () => process.exit(130),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const started = performance.now();
    const summary = await runScenario(lab, scenario.data);
    const ran = performance.now();
    console.log(`lab: ${lab.jsonPath}`);
    console.log(`scenario: ${summary.scenario} (${summary.startedAt} .. ${summary.endedAt})`);
    console.log(`requests: ${summary.requests.total} ${JSON.stringify(summary.requests.byStatus)}`);
    for (const b of summary.backends) {
      const exit = b.exit ? `, exit ${b.exit.result} (${b.exit.signal ?? `code ${b.exit.code}`})` : "";
      console.log(
        `backend ${b.name} ${b.target}: pid ${b.pidBefore} -> ${b.pidAfter}, restarts ${b.restarts}${exit}`,
      );
    }
    for (const line of summary.evidence) console.log(`evidence: ${line}`);
    console.log("expected:");
    for (const e of summary.expected) console.log(`  ${e.target} ${e.verdict}`);
    console.log(`time: start ${ms(started - t0)}, scenario ${ms(ran - started)}`);
    if (values.keep && lab.info.ssh) {
      const config = writeLabConfig(lab.info, join(lab.dir, "why502.yaml"), {
        extraInstances: summary.extraInstances,
      });
      console.log(
        `diagnose it: node bin/why502.js diagnose checkout --config ${config} --since ${summary.startedAt}`,
      );
    }
    if (values.keep && !interrupted) {
      console.log("lab is up; Ctrl-C stops it");
      await new Promise<never>(() => undefined);
    }
  } finally {
    if (!values.keep && !interrupted) await lab.stop();
  }
  return 0;
}

function ms(n: number): string {
  return `${Math.round(n)} ms`;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
