// Builds the gateway-side playbook cases from real nginx output captured by
// scripts/capture/nginx-signatures.sh (src/evidence/__fixtures__/nginx-error/captured-1.22-*.txt and the
// access log of the same run). Each case keeps the captured lines of one failing upstream, unchanged.
//   npx tsx test/cases/build-captured-cases.ts
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Bundle } from "../../src/bundle/schema.js";
import { captured, captureGateway, root, writeCase } from "./case-bundle.js";

const fixtures = join(root, "src/evidence/__fixtures__");
const errorHttp = readFileSync(join(fixtures, "nginx-error/captured-1.22-http.txt"), "utf8").split("\n");
const errorUnix = readFileSync(join(fixtures, "nginx-error/captured-1.22-unix.txt"), "utf8").split("\n");
const access = readFileSync(join(fixtures, "nginx-access/captured-main-ext.log"), "utf8").split("\n");
const format = readFileSync(join(fixtures, "nginx-access/main_ext.format"), "utf8").trim();

interface CaseSpec {
  name: string;
  description: string;
  /** Substrings that pick this upstream's lines out of the captured logs. */
  match: string[];
  log: "http" | "unix";
  verdicts: { target: string; cause: string }[];
}

const SOCK = "/tmp/why502-ngx.uBgA3o/run";
const cases: CaseSpec[] = [
  {
    name: "captured-header-too-big",
    description: "a backend sends a 16 kB response header (real nginx 1.22 capture)",
    match: ["127.0.0.1:18104"],
    log: "http",
    verdicts: [{ target: "127.0.0.1:18104", cause: "header_too_big" }],
  },
  {
    name: "captured-invalid-response",
    description: "a backend answers with a header name holding a control byte (real nginx 1.22 capture)",
    match: ["127.0.0.1:18105"],
    log: "http",
    verdicts: [{ target: "127.0.0.1:18105", cause: "invalid_response" }],
  },
  {
    name: "captured-tls-upstream",
    description: "proxy_pass https:// to a backend speaking plain HTTP (real nginx 1.22 capture)",
    match: ["127.0.0.1:18107"],
    log: "http",
    verdicts: [{ target: "127.0.0.1:18107", cause: "tls_upstream" }],
  },
  {
    name: "captured-dns",
    description:
      "a variable proxy_pass to a name the resolver answers NXDOMAIN for (real nginx 1.22 capture)",
    match: ["app.invalid"],
    log: "http",
    verdicts: [{ target: "app.invalid", cause: "dns" }],
  },
  {
    name: "captured-upstream-timeout",
    description:
      "a backend that never answers, proxy_read_timeout 1s: a 504, not a 502 (real nginx 1.22 capture)",
    match: ["127.0.0.1:18103"],
    log: "http",
    verdicts: [{ target: "127.0.0.1:18103", cause: "upstream_timeout" }],
  },
  {
    name: "captured-no-live-peers",
    description:
      "every server of app_pool already marked down: only `no live upstreams` in the window (real nginx 1.22 capture)",
    match: ["no live upstreams", 'ua="app_pool"'],
    log: "http",
    verdicts: [{ target: "app_pool", cause: "no_live_peers" }],
  },
  {
    name: "captured-reset-no-backend-data",
    description:
      "resets from a backend the inventory does not cover: nothing to explain them (real nginx 1.22 capture)",
    match: ["127.0.0.1:18100"],
    log: "http",
    verdicts: [{ target: "127.0.0.1:18100", cause: "inconclusive" }],
  },
  {
    name: "captured-fastcgi-socket-missing",
    description:
      "proxy_pass to a unix socket that does not exist, with no inventory to ask about the process behind it (real nginx 1.22 capture)",
    match: [`${SOCK}/missing.sock`],
    log: "unix",
    verdicts: [{ target: `unix:${SOCK}/missing.sock`, cause: "fastcgi_socket" }],
  },
  {
    name: "captured-pool-exhausted",
    description: "a unix socket whose listen backlog is full (real nginx 1.22 capture)",
    match: [`${SOCK}/busy.sock`],
    log: "unix",
    verdicts: [{ target: `unix:${SOCK}/busy.sock`, cause: "pool_exhausted" }],
  },
];

function pick(lines: string[], match: string[]): string {
  const kept = lines.filter((l) => match.some((m) => l.includes(m)) && !/\[(info|notice)\]/.test(l));
  return kept.length ? `${kept.join("\n")}\n` : "";
}

function stamp(line: string): number {
  const m = /^(\d{4})\/(\d\d)\/(\d\d) (\d\d):(\d\d):(\d\d)/.exec(line);
  if (!m) return Number.NaN;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  return Date.UTC(y ?? 0, (mo ?? 1) - 1, d ?? 1, h ?? 0, mi ?? 0, s ?? 0) - 60 * 60_000;
}

for (const c of cases) {
  const errorLog = pick(c.log === "http" ? errorHttp : errorUnix, c.match);
  const accessLog = pick(
    access,
    c.match.map((m) => (m.startsWith("127.") ? `ua="${m}` : m)),
  );
  const times = errorLog
    .split("\n")
    .map(stamp)
    .filter((t) => !Number.isNaN(t));
  const first = Math.min(...times);
  const last = Math.max(...times);
  const bundle: Bundle = {
    version: 1,
    service: "capture",
    collectedAt: new Date(last + 60_000).toISOString(),
    window: { since: new Date(first - 60_000).toISOString(), until: new Date(last + 60_000).toISOString() },
    backends: [],
    note: `Lines of one upstream from the real nginx 1.22.1 capture in src/evidence/__fixtures__ (scripts/capture/nginx-signatures.sh), unchanged; built by test/cases/build-captured-cases.ts. nginx ran with TZ=Europe/Berlin.`,
    hosts: [
      captureGateway(
        { now: new Date(last + 60_000).toISOString(), utcOffsetMinutes: 60, timezone: "Europe/Berlin" },
        [
          captured("nginx-error-log", "nginx-error", "/var/log/nginx/error.log", errorLog),
          captured("nginx-access-log", "nginx-access", "/var/log/nginx/access.log", accessLog, {
            options: { format },
          }),
        ],
      ),
    ],
  };
  writeCase(c.name, bundle, { description: c.description, verdicts: c.verdicts });
}
process.stdout.write(`wrote ${cases.length} cases\n`);
