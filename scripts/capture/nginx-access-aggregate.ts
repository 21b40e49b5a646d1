// Captures the real output of the nginx-access-aggregate template for
// src/evidence/__fixtures__/nginx-access-aggregate/ (see scripts/capture/nginx-access-aggregate.sh).
//
// 1. The real access-log fixtures (src/evidence/__fixtures__/nginx-access/NAME.txt with NAME.format): each is
//    counted by the template's script on this machine, run as `sh -s` exactly as a host runs it over SSH, over
//    a window that holds every line. Output: NAME.txt, the section's stdout as the host sent it.
// 2. With --lab (root): the lab's two-causes incident (one backend OOM-killed, nginx still routing to a
//    retired address), counted on the lab's gateway over real SSH as the lab's unprivileged user by
//    collectImpact, which first reads the access log's format from `nginx -T`. Output: lab-two-causes.txt (the
//    section's stdout), lab-two-causes.access.log (the gateway's access log as it was, to check the counts
//    against) and lab-two-causes.window.json (the window and collectImpact's result).
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { aggregateSection } from "../../src/collect/aggregate-plan.js";
import { resolveHost } from "../../src/collect/hosts.js";
import { collectImpact } from "../../src/collect/impact.js";
import { LocalTransport } from "../../src/collect/local-transport.js";
import { buildScript } from "../../src/collect/script.js";
import { splitSections } from "../../src/collect/sections.js";
import type { Transport } from "../../src/collect/transport.js";
import { loadConfig } from "../../src/config/load.js";
import { connector, hostEnv } from "../../src/investigate/hosts-env.js";
import { startLab } from "../../test/lab/lab.js";
import { writeLabConfig } from "../../test/lab/lab-config.js";
import { runScenario } from "../../test/lab/scenarios.js";

const root = new URL("../../", import.meta.url).pathname;
const { values } = parseArgs({
  options: { lab: { type: "boolean", default: false }, out: { type: "string" } },
});
const out = values.out ?? join(root, "src/evidence/__fixtures__/nginx-access-aggregate");
const formats = join(root, "src/evidence/__fixtures__/nginx-access");
const NONCE = "CaptureN0nce0123456789";
mkdirSync(out, { recursive: true });

/** The section's stdout from a script's output. */
function sectionOut(stdout: string, stderr: string): string {
  const s = splitSections(stdout, stderr, NONCE).sections.get("nginx-access-aggregate");
  if (s?.exitCode !== 0) throw new Error(`the aggregate failed: ${s?.stderr ?? stderr}`);
  return s.stdout;
}

async function fixtures(): Promise<void> {
  const local = new LocalTransport();
  const cases: [string, string][] = [
    ["main_ext.txt", "main_ext.format"],
    ["combined.txt", "combined.format"],
    ["json.txt", "json.format"],
    ["captured-main-ext.log", "main_ext.format"],
  ];
  for (const [log, format] of cases) {
    const section = aggregateSection({
      path: join(formats, log),
      format: readFileSync(join(formats, format), "utf8"),
      sinceEpochSeconds: Date.UTC(2026, 0, 1) / 1000,
      untilEpochSeconds: Date.UTC(2027, 0, 1) / 1000,
    });
    if ("error" in section) throw new Error(section.error);
    const script = buildScript([section.spec], {
      sinceEpochSeconds: Date.UTC(2026, 0, 1) / 1000,
      nonce: NONCE,
    });
    const r = await local.exec(script, { timeoutMs: 60_000, maxBytes: 8 << 20 });
    const name = log.replace(/\.(txt|log)$/, ".txt");
    writeFileSync(join(out, name), sectionOut(r.stdout, r.stderr));
    console.log(`${name}: ${log} counted with ${format}`);
  }
  await local.close();
}

async function lab(): Promise<void> {
  const l = await startLab({ scenario: "two-causes" });
  try {
    const summary = await runScenario(l, "two-causes");
    const config = loadConfig(writeLabConfig(l.info, join(l.dir, "why502.yaml")));
    const env = hostEnv({ HOME: "/root", USER: "root" }, config);
    const connect = connector({});
    const seen: { stdout: string; stderr: string }[] = [];
    // Settle: nginx writes a request's line when it ends; the last ones may still be on their way.
    await new Promise((r) => setTimeout(r, 1500));
    const window = {
      sinceMs: Date.parse(summary.startedAt) - 5000,
      untilMs: Date.parse(summary.endedAt) + 5000,
    };
    const impact = await collectImpact(config, "checkout", window, {
      resolve: (name) => resolveHost(config, name, env),
      connect: async (h, timeoutMs): Promise<Transport> => {
        const t = await connect(h, timeoutMs);
        return {
          host: t.host,
          async exec(script, opts) {
            const r = await t.exec(script, opts);
            seen.push({ stdout: r.stdout, stderr: r.stderr });
            return r;
          },
          close: () => t.close(),
        };
      },
      now: Date.now,
      nonce: () => NONCE,
    });
    const last = seen.at(-1);
    if (!last || !impact.complete) throw new Error(`the lab's count failed: ${JSON.stringify(impact.hosts)}`);
    writeFileSync(join(out, "lab-two-causes.txt"), sectionOut(last.stdout, last.stderr));
    copyFileSync(l.info.gateway.nginx.accessLog, join(out, "lab-two-causes.access.log"));
    const record = { scenario: "two-causes", ...window, expected: summary.expected, impact };
    writeFileSync(join(out, "lab-two-causes.window.json"), `${JSON.stringify(record, null, 2)}\n`);
    console.log(
      `lab-two-causes.txt: ${impact.perMinute.length} counts over SSH (${seen.length} scripts run)`,
    );
  } finally {
    await l.stop();
  }
}

await fixtures();
if (values.lab) await lab();
