// npm run bench -- --only replicas (root: it starts PostgreSQL as the postgres user). Webhook intake
// latency (request to 2xx) at 1,000 and 10,000 alerts a minute: three `serve` replicas on one PostgreSQL,
// beside one replica on SQLite. Prints { figures, rows } as JSON on stdout for bench.js, progress on stderr.
import { rmSync } from "node:fs";
import pg from "pg";
import { alertmanagerBody } from "../test/slack/alert-payloads.js";
import { botConfig } from "../test/slack/bot-config.js";
import { httpRequest, type Serve, startServe, stopServe } from "../test/slack/serve-process.js";
import { startPostgres } from "../test/support/postgres.js";
import { type StandIn, startSlackStandIn } from "../test/support/slack/standin.js";

const TOKEN = "bench-replicas-token";
const SECONDS = 20;
const quiet = process.argv.includes("--quiet");
const log = (s: string) => {
  if (!quiet) process.stderr.write(`${s}\n`);
};
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? Number.NaN;

/** Alerts at `perMinute` for SECONDS, round-robin over the replicas; latency of each request. */
async function intake(bots: Serve[], perMinute: number) {
  const interval = 60_000 / perMinute;
  const latencies: number[] = [];
  let failed = 0;
  const start = performance.now();
  const inflight: Promise<void>[] = [];
  const total = Math.round((SECONDS * 1000) / interval);
  for (let i = 0; i < total; i++) {
    const wait = start + i * interval - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const b = bots[i % bots.length] as Serve;
    const body = alertmanagerBody({
      status: "firing",
      service: "checkout",
      fingerprint: `fp-${i % 7}`,
      instance: `gw-${i % 7}`,
    });
    inflight.push(
      httpRequest(b.port, "/hooks/alertmanager", {
        method: "POST",
        body,
        headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      }).then(
        (r) => {
          latencies.push(r.ms);
          if (r.status !== 200) failed++;
        },
        () => {
          failed++;
        },
      ),
    );
  }
  await Promise.all(inflight);
  return {
    requests: total,
    failed,
    p50: pct(latencies, 50),
    p99: pct(latencies, 99),
    max: Math.max(...latencies),
  };
}

async function setup(standin: StandIn, store: object, env: Record<string, string>, n: number) {
  const dir = botConfig({
    apiUrl: standin.url,
    slackChannel: "C0CHECKOUT",
    extra: {
      store,
      alerts: { cooldown: "2s", sources: { alertmanager: { bearer_env: "WHY502_AM_TOKEN" } } },
    },
  });
  const bots: Serve[] = [];
  for (let i = 0; i < n; i++)
    bots.push(
      await startServe({ config: dir.config, mode: "http", env: { ...env, WHY502_AM_TOKEN: TOKEN } }),
    );
  return { dir, bots };
}

const standin = await startSlackStandIn();
const server = await startPostgres();
const figures: Record<string, unknown> = {};
const rows: string[][] = [];
try {
  for (const perMinute of [1000, 10_000]) {
    for (const kind of ["sqlite", "postgres"] as const) {
      let env: Record<string, string> = {};
      let store: object;
      if (kind === "postgres") {
        const schema = `bench_${perMinute}_${process.pid}`;
        const c = new pg.Client({ connectionString: server.url });
        await c.connect();
        await c.query(`CREATE SCHEMA ${schema}`);
        await c.end();
        env = { DATABASE_URL: `${server.url}&options=${encodeURIComponent(`-c search_path=${schema}`)}` };
        store = { postgres: { url_env: "DATABASE_URL" } };
      } else store = { sqlite: `/tmp/why502-bench-${process.pid}-${perMinute}.db` };
      const n = kind === "postgres" ? 3 : 1;
      const { dir, bots } = await setup(standin, store, env, n);
      try {
        log(`replicas: ${perMinute}/min for ${SECONDS} s on ${n} × ${kind}…`);
        const r = await intake(bots, perMinute);
        figures[`intake_${kind}_${perMinute}`] = r;
        rows.push([
          `webhook intake @${perMinute}/min, ${n} replica${n > 1 ? "s" : ""} on ${kind === "postgres" ? "PostgreSQL" : "SQLite"}`,
          `p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms`,
          "p99 < 100 ms",
          `${r.requests} requests, ${r.failed} not 2xx, max ${r.max.toFixed(1)} ms`,
        ]);
      } finally {
        for (const b of bots) await stopServe(b);
        rmSync(dir.dir, { recursive: true, force: true });
        if (kind === "sqlite") rmSync(`/tmp/why502-bench-${process.pid}-${perMinute}.db`, { force: true });
      }
    }
  }
  process.stdout.write(`${JSON.stringify({ figures: { replicas: figures }, rows })}\n`);
} finally {
  await server.stop();
  await standin.close();
}
