// npm run bench -- --only alerts (root: it starts the lab); prints { figures, rows } as JSON on stdout for
// bench.js, progress on stderr. Two figures:
//  1. webhook intake latency (request to 2xx) at 1,000 alerts per minute while diagnoses run;
//  2. first 502 in nginx's access log to the diagnosis in the Slack thread, through the real chain
//     (mtail → Prometheus → Alertmanager → why502 → Slack stand-in), split into its legs.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { watchAccessLog } from "../test/lab/alerting/access-log-watch.js";
import { type AlertChain, startAlertChain } from "../test/lab/alerting/alert-chain.js";
import { type Lab, startLab } from "../test/lab/lab.js";
import { writeLabConfig } from "../test/lab/lab-config.js";
import { runScenario } from "../test/lab/scenarios.js";
import { alertmanagerBody } from "../test/slack/alert-payloads.js";
import { httpRequest, type Serve, startServe, stopServe } from "../test/slack/serve-process.js";
import { type StandIn, startSlackStandIn } from "../test/support/slack/standin.js";

const CHANNEL = "C0CHECKOUT";
const TOKEN = "bench-alertmanager-token";
const quiet = process.argv.includes("--quiet");
const log = (s: string) => {
  if (!quiet) process.stderr.write(`${s}\n`);
};

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}

async function botFor(lab: Lab, standin: StandIn, alerts: Record<string, unknown>): Promise<Serve> {
  const path = writeLabConfig(lab.info, join(lab.dir, "why502.yaml"));
  const config = parse(readFileSync(path, "utf8")) as Record<string, Record<string, unknown>>;
  config.slack = { api_url: standin.url, channel: CHANNEL };
  config.store = { sqlite: join(lab.dir, `why502-${Date.now()}.db`) };
  config.alerts = { sources: { alertmanager: { bearer_env: "WHY502_ALERTMANAGER_TOKEN" } }, ...alerts };
  config.defaults = { ...config.defaults, window: "1m" };
  writeFileSync(path, stringify(config));
  return startServe({
    config: path,
    mode: "http",
    env: { WHY502_ALERTMANAGER_TOKEN: TOKEN, LOG_LEVEL: "info" },
  });
}

/** 1,000 alerts a minute for `seconds`, diagnoses re-running every second meanwhile (cooldown 1s). */
async function intake(lab: Lab, standin: StandIn, seconds: number) {
  const bot = await botFor(lab, standin, { cooldown: "1s" });
  try {
    const latencies: number[] = [];
    const statuses = new Map<number, number>();
    const interval = 60_000 / 1000;
    const start = performance.now();
    const inflight: Promise<void>[] = [];
    for (let i = 0; i < (seconds * 1000) / interval; i++) {
      const due = start + i * interval;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const body = alertmanagerBody({
        status: "firing",
        service: "checkout",
        fingerprint: `fp-${i % 5}`,
        instance: `gw-${i % 5}`,
      });
      inflight.push(
        httpRequest(bot.port, "/hooks/alertmanager", {
          method: "POST",
          body,
          headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
        }).then((r) => {
          latencies.push(r.ms);
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        }),
      );
    }
    await Promise.all(inflight);
    const diagnoses = bot.logLines().filter((l) => l.msg === "diagnosis").length;
    return {
      requests: latencies.length,
      p50: pct(latencies, 50),
      p99: pct(latencies, 99),
      max: Math.max(...latencies),
      statuses: Object.fromEntries(statuses),
      diagnosesMeanwhile: diagnoses,
    };
  } finally {
    await stopServe(bot);
  }
}

/** The oom scenario through the real chain; the legs from the bot's own log lines and the stand-in's calls. */
async function firstToThread(lab: Lab, standin: StandIn) {
  const bot = await botFor(lab, standin, {});
  let chain: AlertChain | undefined;
  const watch = await watchAccessLog(lab.info.gateway.nginx.accessLog);
  try {
    chain = await startAlertChain({
      accessLog: lab.info.gateway.nginx.accessLog,
      webhookUrl: `http://127.0.0.1:${bot.port}/hooks/alertmanager`,
      bearerToken: TOKEN,
      service: "checkout",
    });
    await runScenario(lab, "oom");
    const parent = await standin.waitFor(() => standin.messages(CHANNEL)[0], 30_000);
    await standin.waitFor(() => standin.replies(CHANNEL, parent.ts)[0], 60_000);
    const first502 = watch.first(502)?.at ?? Number.NaN;
    const lines = bot.logLines();
    const hook = lines.find((l) => l.msg === "webhook" && JSON.stringify(l.results).includes('"open"'));
    const diag = lines.find((l) => l.msg === "diagnosis");
    const reply = standin.calls.find((c) => c.method === "chat.postMessage" && c.params.thread_ts);
    const hookDone = Date.parse(String(hook?.time));
    const hookMs = Number(hook?.ms ?? 0);
    const diagDone = Date.parse(String(diag?.time));
    const collectMs = Number(diag?.collect_ms);
    const diagnoseMs = Number(diag?.diagnose_ms);
    const runStart = diagDone - collectMs - diagnoseMs;
    const legs = {
      alertChain: hookDone - hookMs - first502,
      intake: hookMs,
      queued: runStart - hookDone,
      collection: collectMs,
      diagnosis: diagnoseMs,
      posting: (reply?.at ?? Number.NaN) - diagDone,
    };
    return {
      totalMs: (reply?.at ?? Number.NaN) - first502,
      ownMs: (reply?.at ?? Number.NaN) - (hookDone - hookMs),
      legs,
    };
  } finally {
    watch.close();
    await chain?.stop();
    await stopServe(bot);
  }
}

const lab = await startLab({ scenario: "oom" });
let standin = await startSlackStandIn();
try {
  log("alerts: webhook intake at 1,000 alerts/min for 30 s, diagnoses running…");
  const a = await intake(lab, standin, 30);
  await standin.close();
  standin = await startSlackStandIn();
  log("alerts: first 502 to the thread through mtail, Prometheus and Alertmanager…");
  const b = await firstToThread(lab, standin);
  const ms = (v: number) => `${v.toFixed(1)} ms`;
  const sec = (v: number) => `${(v / 1000).toFixed(2)} s`;
  const rows: string[][] = [
    [
      "webhook intake p50 @1000 alerts/min (lab, diagnoses running)",
      ms(a.p50),
      "",
      `${a.requests} requests, ${a.diagnosesMeanwhile} diagnoses meanwhile`,
    ],
    [
      "webhook intake p99 @1000 alerts/min",
      ms(a.p99),
      "< 100 ms",
      `max ${ms(a.max)}; an alert hub reports ~1.5 s`,
    ],
    [
      "first 502 → diagnosis in the thread (real chain)",
      sec(b.totalMs),
      "< 8 s",
      "an LLM investigator reports 27-49 s after the alert",
    ],
    ["  of which why502's own legs", sec(b.ownMs), "< 3 s", ""],
    ...Object.entries(b.legs).map(([k, v]) => [`    ${k}`, sec(v), "", ""]),
  ];
  process.stdout.write(`${JSON.stringify({ figures: { alerts: { intake: a, firstToThread: b } }, rows })}\n`);
} finally {
  await standin.close();
  await lab.stop();
}
