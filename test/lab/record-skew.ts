// Records the skewed-clock playbook cases from real lab runs:
//   flock /tmp/why502-lab.lock npx tsx test/lab/record-skew.ts     (root; nginx, sshd, sudo, faketime)
// One lab host's clock is moved 10 minutes with libfaketime (skew.ts): its nginx or its backend service
// stamps its logs in that clock and its SSH sessions read that clock, as on a host whose clock is wrong.
// Then `why502 diagnose checkout --save` collects it over SSH; the verdicts must be those of the same
// scenario in time.
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { stringify } from "yaml";
import type { Bundle } from "../../src/bundle/schema.js";
import { startLab } from "./lab.js";
import { writeLabConfig } from "./lab-config.js";
import { runScenario } from "./scenarios.js";
import { SKEWED_CASES } from "./skew-cases.js";

const run = promisify(execFile);
const root = new URL("../../", import.meta.url).pathname;
const bin = join(root, "bin/why502.js");

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const LSTART =
  /\b(?:Sun|Mon|Tue|Wed|Thu|Fri|Sat) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([ \d]\d) (\d\d):(\d\d):(\d\d) (\d{4})\b/g;

/** ps's `lstart` stamps (`Tue Dec  1 09:13:49 2026`, UTC here) moved by `seconds`, in the same format. */
function lstartMoved(text: string, seconds: number): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return text.replace(
    LSTART,
    (_all, mon: string, day: string, hh: string, mm: string, ss: string, yyyy: string) => {
      const t = Date.UTC(Number(yyyy), MONTHS.indexOf(mon), Number(day), Number(hh), Number(mm), Number(ss));
      const d = new Date(t + seconds * 1000);
      return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, " ")} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
    },
  );
}

for (const c of SKEWED_CASES) {
  const lab = await startLab({ scenario: c.scenario, skew: c.skew });
  try {
    const summary = await runScenario(lab, c.scenario);
    const config = writeLabConfig(lab.info, join(lab.dir, "why502.yaml"), {
      extraInstances: summary.extraInstances,
    });
    const since = new Date(Date.parse(summary.startedAt) - 1000).toISOString();
    const caseDir = join(root, "playbooks", "cases", c.name);
    mkdirSync(caseDir, { recursive: true });
    const bundlePath = join(caseDir, "bundle.json");
    await run(process.execPath, [
      bin,
      "diagnose",
      "checkout",
      "--config",
      config,
      "--since",
      since,
      "--save",
      bundlePath,
      "--json",
    ]);
    const host = c.skew.host === "gateway" ? "gw" : c.skew.host;
    const way = `${Math.abs(c.skew.seconds)} s ${c.skew.seconds > 0 ? "fast" : "slow"}`;
    const how =
      c.skew.host === "gateway"
        ? "nginx and every command of its SSH sessions"
        : "its service (supervisor and app) and every command of its SSH sessions";
    const bundle = JSON.parse(readFileSync(bundlePath, "utf8")) as Bundle;
    // ps computes `lstart` from the kernel's boot time, which libfaketime does not move: on a host whose clock
    // is off, the kernel's clock is off too and lstart with it. Move that column by the same amount.
    const skewedHost = bundle.hosts.find((h) => h.name === host);
    if (skewedHost?.clock?.utcOffsetMinutes !== 0) throw new Error(`${host}: the lab's hosts run in UTC`);
    for (const cmd of skewedHost.commands)
      if (cmd.kind === "ps") cmd.stdout = lstartMoved(cmd.stdout, c.skew.seconds);
    bundle.note = `lab scenario ${c.scenario}, recorded over SSH; ${host}'s clock ran ${way}: ${how} ran under libfaketime (FAKETIME=${c.skew.seconds > 0 ? "+" : ""}${c.skew.seconds})${c.skew.host === "gateway" ? "" : `; the lstart column of its ps output, which ps computes from the kernel's boot time that libfaketime leaves alone, was moved by the same ${c.skew.seconds} s by record-skew.ts`}`;
    writeFileSync(bundlePath, `${JSON.stringify(bundle, null, 1)}\n`);
    const expected = summary.expected.filter((e) => e.verdict !== "healthy");
    writeFileSync(
      join(caseDir, "expect.yaml"),
      stringify({
        playbook: "why502.yaml",
        description: `lab scenario ${c.scenario} with ${host}'s clock ${way} (libfaketime on ${how}; recorded over SSH from the lab): the verdicts of the scenario in time`,
        verdicts: expected.map((e) => ({ target: e.target, cause: e.verdict })),
      }),
    );
    process.stdout.write(`recorded ${c.name}\n`);
  } finally {
    await lab.stop();
  }
}
