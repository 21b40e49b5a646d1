#!/usr/bin/env node
// Prints the diagnosis of each demo scenario as an on-call engineer would read it.
// The bundles are the lab playbook cases: real output recorded over SSH from the lab (test/lab/record-demo.ts).
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadBundle } from "../dist/bundle/load.js";
import { diagnoseBundle } from "../dist/diagnosis/diagnose.js";
import { renderText } from "../dist/diagnosis/render/text.js";
import { loadPlaybook } from "../dist/playbook/loader.js";

const root = fileURLToPath(new URL("../", import.meta.url));
const scenarios = JSON.parse(readFileSync(`${root}demo/scenarios.json`, "utf8"));
const playbook = loadPlaybook(`${root}playbooks/why502.yaml`);
const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
const rule = "─".repeat(100);

let wrong = 0;
for (const s of scenarios) {
  const diagnosis = diagnoseBundle(loadBundle(`${root}${s.bundle}`), playbook);
  const got = diagnosis.verdicts.map((v) => v.cause).sort();
  const ok = JSON.stringify(got) === JSON.stringify([...s.expect].sort());
  if (!ok) wrong++;
  process.stdout.write(
    `\n${rule}\nScenario: ${s.title}\n$ why502 diagnose ${diagnosis.service} --bundle ${s.bundle}\n${rule}\n`,
  );
  process.stdout.write(renderText(diagnosis, { color }));
  if (!ok)
    process.stdout.write(
      `!! expected ${s.expect.join(", ") || "healthy"}, got ${got.join(", ") || "healthy"}\n`,
    );
}
process.stdout.write(
  `\n${scenarios.length - wrong} of ${scenarios.length} demo diagnoses gave the expected verdicts.\n`,
);

// Then the bot's whole loop: serve, the Slack stand-in, a recorded alert, a button, the resolution, the summary.
process.stdout.write(
  `\n${rule}\nThe bot: an Alertmanager alert becomes a thread, a diagnosis and a post-incident summary\n${rule}\n`,
);
const loop = spawnSync(process.execPath, ["--import", "tsx", `${root}scripts/demo-loop.ts`], {
  cwd: root,
  stdio: "inherit",
});
process.exitCode = wrong === 0 && loop.status === 0 ? 0 : 1;
