// Collection figures for `npm run bench`: scripts/bench.js runs this (as root) with `node --import tsx`.
// Prints one JSON object `{ figures: { collect }, rows }` on stdout; progress on stderr unless --quiet.
//
// Every figure comes from the lab (test/lab): real sshd, nginx and backends on loopback. "Ours" is the
// CLI users run, spawned end to end (`node bin/why502.js diagnose checkout --config ... --json --save`,
// after `npm run build`), under /usr/bin/time for its user+system CPU. The baseline runs the very same
// per-host scripts (plan.ts sections -> buildScript, a fresh nonce each) with OpenSSH's client,
// `xargs -P <concurrency>` over the hosts, `ssh ... sh -s < script`.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import type { Bundle } from "../src/bundle/schema.js";
import { resolveHost } from "../src/collect/hosts.js";
import { backendSections, configuredBackends, gatewaySections } from "../src/collect/plan.js";
import { buildScript } from "../src/collect/script.js";
import { shellInput } from "../src/collect/shell-input.js";
import { loadConfig } from "../src/config/load.js";
import { type Lab, startLab } from "../test/lab/lab.js";
import { labConfig } from "../test/lab/lab-config.js";

const root = fileURLToPath(new URL("../", import.meta.url));
const outDir = join(root, "bench-out");
const quiet = process.argv.includes("--quiet");
const log = (s: string): void => {
  if (!quiet) process.stderr.write(`${s}\n`);
};

/**
 * One cap for both sides: `defaults.concurrency` for why502 and `xargs -P` for OpenSSH. At most this many
 * handshakes are in flight in all, so never more than 10 through one sshd (the lab's MaxStartups is
 * 100:30:200, or 200:30:400 with more than 9 backends: no connection is ever dropped for it).
 */
const CONCURRENCY = 10;
const RUNS = 3;
const SERVICE = "checkout";
const FIXTURE = join(root, "src/evidence/__fixtures__/nginx-error/captured-1.22-http.txt");
const BIG_BYTES = 2e9;
const SMALL_BYTES = 2e6;
/** The in-window end of both logs: the last ~1.8 MB, stamped over the 24 minutes before the run. */
const TAIL_BYTES = 1.8e6;

interface Timed {
  ms: number;
  cpuMs: number;
  maxRssKb: number;
}

interface OursRun extends Timed {
  hosts: number;
  failedHosts: string[];
  failedSections: string[];
  /** Sum of every command's stdout+stderr in the saved bundle (what the transport received, unframed). */
  bundleBytes: number;
  errorLogBytes: number;
  errorLogTruncated: boolean;
  /** Mean over hosts of the sections' own durations as the host timed them (10 ms resolution). */
  hostSectionsMs: number;
  /** The `kernel` sections' share of bundleBytes: in the lab every backend reads the one machine's dmesg. */
  kernelBytes: number;
}

interface BaselineRun extends Timed {
  hosts: number;
  incomplete: string[];
  /** Raw stdout+stderr bytes the ssh clients received, section markers included. */
  rawBytes: number;
  /** `probed=` of the gateway's error-log window: bytes dd read for the binary search. */
  errorLogProbed?: number;
}

interface HostScript {
  name: string;
  address: string;
  port: number;
  user: string;
  script: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

const round = (x: number, digits = 3): number => Math.round(x * 10 ** digits) / 10 ** digits;
const seconds = (ms: number): number => round(ms / 1000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `/usr/bin/time -f '%e %U %S %M'`: wall (ours by hrtime), user+system CPU of the command and its children. */
function timed(argv: string[], timeFile: string, opts: { input?: string; env?: NodeJS.ProcessEnv } = {}) {
  const started = process.hrtime.bigint();
  const r = spawnSync("/usr/bin/time", ["-f", "%e %U %S %M", "-o", timeFile, ...argv], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 256 << 20,
    env: { ...process.env, ...opts.env },
    ...(opts.input === undefined ? {} : { input: opts.input }),
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const last = readFileSync(timeFile, "utf8").trim().split("\n").at(-1) ?? "";
  const [, user, sys, rss] = last.split(" ").map(Number);
  return { r, ms, cpuMs: ((user ?? 0) + (sys ?? 0)) * 1000, maxRssKb: rss ?? 0 };
}

async function startLabWhenFree(backends: number): Promise<Lab> {
  const giveUp = Date.now() + 180_000;
  for (;;) {
    try {
      return await startLab({ backends });
    } catch (e) {
      const busy = e instanceof Error && /already in use/.test(e.message);
      if (!busy || Date.now() > giveUp) throw e;
      log(`  lab addresses busy (another lab running?), retrying: ${(e as Error).message}`);
      await sleep(3000);
    }
  }
}

interface LabConfigShape {
  defaults: { concurrency: number };
  services: Record<string, { gateways: { error_log: string }[] }>;
}

function writeConfig(lab: Lab, path: string, errorLog?: string): string {
  const cfg = labConfig(lab.info, { concurrency: CONCURRENCY }) as LabConfigShape;
  cfg.defaults.concurrency = CONCURRENCY;
  const gw = cfg.services[SERVICE]?.gateways[0];
  if (gw === undefined) throw new Error(`the lab config has no gateway for ${SERVICE}`);
  if (errorLog !== undefined) gw.error_log = errorLog;
  writeFileSync(path, stringify(cfg));
  return path;
}

/** The per-host scripts collect() would send for this config: same sections, same window, fresh nonces. */
function hostScripts(configPath: string): HostScript[] {
  const config = loadConfig(configPath);
  const service = config.services[SERVICE];
  if (!service) throw new Error(`no service ${SERVICE} in ${configPath}`);
  const env = { home: process.env.HOME ?? "/root", username: "root" };
  const sinceEpochSeconds = Math.floor((Date.now() - config.defaults.window) / 1000);
  const max = config.defaults.max_bytes;
  const jobs = [
    ...service.gateways.map((g) => ({
      name: g.host,
      sections: gatewaySections(
        g,
        {
          ...(g.error_log !== "discover" ? { errorLog: g.error_log } : {}),
          ...(g.access_log !== "discover" ? { accessLog: g.access_log } : {}),
        },
        max,
      ),
    })),
    ...configuredBackends(config, service).map((b) => ({
      name: b.host,
      sections: backendSections(b, sinceEpochSeconds, max),
    })),
  ];
  return jobs.map((j) => {
    const h = resolveHost(config, j.name, env);
    const nonce = randomBytes(9).toString("hex");
    const script = buildScript(
      j.sections.map((s) => s.spec),
      { sinceEpochSeconds, nonce },
    );
    return { name: j.name, address: h.address, port: h.port, user: h.user, script };
  });
}

function runOurs(configPath: string, work: string, tag: string): OursRun {
  const bundlePath = join(work, `bundle-${tag}.json`);
  rmSync(bundlePath, { force: true });
  const argv = [process.execPath, join(root, "bin/why502.js"), "diagnose", SERVICE];
  const t = timed(
    [...argv, "--config", configPath, "--json", "--save", bundlePath],
    join(work, `time-${tag}.txt`),
  );
  if (t.r.status !== 0) throw new Error(`why502 diagnose exited ${t.r.status}: ${t.r.stderr}`);
  const bundle = JSON.parse(readFileSync(bundlePath, "utf8")) as Bundle;
  let bundleBytes = 0;
  let errorLogBytes = 0;
  let errorLogTruncated = false;
  const failedSections: string[] = [];
  let sectionsMs = 0;
  let kernelBytes = 0;
  for (const h of bundle.hosts) {
    for (const c of h.commands) {
      sectionsMs += c.durationMs;
      const n = Buffer.byteLength(c.stdout) + Buffer.byteLength(c.stderr);
      bundleBytes += n;
      if (c.id === "kernel") kernelBytes += n;
      if (c.id === "nginx-error-log") {
        errorLogBytes += n;
        errorLogTruncated ||= c.truncated;
      }
      if (c.failure) failedSections.push(`${h.name}/${c.id}: ${c.failure.code}`);
    }
  }
  return {
    ms: t.ms,
    cpuMs: t.cpuMs,
    maxRssKb: t.maxRssKb,
    hosts: bundle.hosts.length,
    failedHosts: bundle.hosts.filter((h) => h.failure).map((h) => `${h.name}: ${h.failure?.message}`),
    failedSections,
    bundleBytes,
    errorLogBytes,
    errorLogTruncated,
    hostSectionsMs: bundle.hosts.length ? sectionsMs / bundle.hosts.length : 0,
    kernelBytes,
  };
}

/**
 * OpenSSH 9.2 negotiates sntrup761x25519-sha512 (post-quantum, more CPU on both ends) and
 * chacha20-poly1305; ssh2 negotiates curve25519-sha256 and aes128-gcm. The "matched" baseline pins
 * OpenSSH to ssh2's choice, to tell the client apart from the algorithms.
 */
const MATCHED = ["-o", "KexAlgorithms=curve25519-sha256", "-o", "Ciphers=aes128-gcm@openssh.com"];

function runBaseline(
  configPath: string,
  lab: Lab,
  work: string,
  tag: string,
  sshOptions: string[] = [],
): BaselineRun {
  const ssh = lab.info.ssh;
  if (!ssh) throw new Error("the lab runs no sshd");
  const dir = join(work, `baseline-${tag}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const hosts = hostScripts(configPath);
  const args: string[] = [];
  hosts.forEach((h, i) => {
    writeFileSync(join(dir, `${i}.sh`), h.script);
    args.push(String(h.port), `${h.user}@${h.address}`, join(dir, `${i}.sh`), join(dir, String(i)));
  });
  const sshCmd =
    'exec ssh $SSH_OPTS -F none -i "$KEY" -o UserKnownHostsFile="$KH" -o StrictHostKeyChecking=yes -o BatchMode=yes ' +
    '-o ConnectTimeout=3 -p "$1" "$2" sh -s <"$3" >"$4.out" 2>"$4.err"';
  const t = timed(
    ["xargs", "-0", "-n", "4", "-P", String(CONCURRENCY), "sh", "-c", sshCmd, "sh"],
    join(work, `time-${tag}.txt`),
    {
      input: `${args.join("\0")}\0`,
      env: { KEY: ssh.keyPath, KH: ssh.knownHostsPath, SSH_OPTS: sshOptions.join(" ") },
    },
  );
  if (t.r.status !== 0) throw new Error(`xargs ssh exited ${t.r.status}: ${t.r.stderr}`);
  let rawBytes = 0;
  let errorLogProbed: number | undefined;
  const incomplete: string[] = [];
  hosts.forEach((h, i) => {
    const out = readFileSync(join(dir, `${i}.out`), "latin1");
    rawBytes += out.length + statSync(join(dir, `${i}.err`)).size;
    if (!out.endsWith(" done\n")) incomplete.push(h.name);
    const m = / end nginx-error-log .* probed=(\d+)/.exec(out);
    if (m) errorLogProbed = Number(m[1]);
  });
  const run: BaselineRun = {
    ms: t.ms,
    cpuMs: t.cpuMs,
    maxRssKb: t.maxRssKb,
    hosts: hosts.length,
    incomplete,
    rawBytes,
  };
  if (errorLogProbed !== undefined) run.errorLogProbed = errorLogProbed;
  return run;
}

function warnProblems(tag: string, o: OursRun, b?: BaselineRun): void {
  if (o.failedHosts.length) log(`  WARNING ${tag}: hosts failed: ${o.failedHosts.join("; ")}`);
  if (o.failedSections.length) log(`  WARNING ${tag}: sections failed: ${o.failedSections.join("; ")}`);
  if (b?.incomplete.length) log(`  WARNING ${tag}: baseline incomplete on ${b.incomplete.join(", ")}`);
}

interface ScaleFigure {
  hosts: number;
  concurrency: number;
  oursSeconds: number[];
  baselineSeconds: number[];
  oursMedianSeconds: number;
  baselineMedianSeconds: number;
  ratio: number;
  /** OpenSSH pinned to ssh2's key exchange and cipher (MATCHED). */
  matchedSeconds: number[];
  matchedMedianSeconds: number;
  matchedRatio: number;
  oursCpuMsPerHost: number;
  baselineCpuMsPerHost: number;
  matchedCpuMsPerHost: number;
  oursPeakRssMb: number;
  /** Host-side time of the sections, mean per host (the share no client can save). */
  hostSectionsMsPerHost: number;
  /** stdout+stderr of all sections (last run), and the kernel sections' part of it. */
  bytesMoved: number;
  kernelBytes: number;
  /** 1-minute load average before the first run: other labs on the machine make the figures noisy. */
  loadAverage: number;
  failedSections: string[];
}

/** A warm-up round, then RUNS interleaved rounds (ours, ssh, ssh pinned) so drift hits every side alike. */
function measureScale(lab: Lab, work: string, backends: number): ScaleFigure {
  const loadAverage = round(loadavg()[0] ?? 0, 2);
  const configPath = writeConfig(lab, join(work, `why502-${backends}.yaml`));
  const ours: OursRun[] = [];
  const base: BaselineRun[] = [];
  const matched: BaselineRun[] = [];
  for (let i = -1; i < RUNS; i++) {
    const o = runOurs(configPath, work, `ours-${backends}`);
    const b = runBaseline(configPath, lab, work, `ssh-${backends}`);
    const m = runBaseline(configPath, lab, work, `ssh-matched-${backends}`, MATCHED);
    warnProblems(`${backends} backends`, o, b);
    warnProblems(`${backends} backends (pinned ssh)`, o, m);
    log(
      `  run ${i < 0 ? "warm-up" : i + 1}: why502 ${seconds(o.ms)} s, ssh -P${CONCURRENCY} ${seconds(b.ms)} s, ` +
        `ssh pinned ${seconds(m.ms)} s`,
    );
    if (i < 0) continue;
    ours.push(o);
    base.push(b);
    matched.push(m);
  }
  const hosts = ours[0]?.hosts ?? 0;
  const om = median(ours.map((o) => o.ms));
  const bm = median(base.map((b) => b.ms));
  const mm = median(matched.map((m) => m.ms));
  return {
    hosts,
    concurrency: CONCURRENCY,
    oursSeconds: ours.map((o) => seconds(o.ms)),
    baselineSeconds: base.map((b) => seconds(b.ms)),
    oursMedianSeconds: seconds(om),
    baselineMedianSeconds: seconds(bm),
    ratio: round(om / bm, 2),
    matchedSeconds: matched.map((m) => seconds(m.ms)),
    matchedMedianSeconds: seconds(mm),
    matchedRatio: round(om / mm, 2),
    oursCpuMsPerHost: round(median(ours.map((o) => o.cpuMs)) / hosts, 1),
    baselineCpuMsPerHost: round(median(base.map((b) => b.cpuMs)) / hosts, 1),
    matchedCpuMsPerHost: round(median(matched.map((m) => m.cpuMs)) / hosts, 1),
    oursPeakRssMb: Math.round(Math.max(...ours.map((o) => o.maxRssKb)) / 1024),
    hostSectionsMsPerHost: Math.round(median(ours.map((o) => o.hostSectionsMs))),
    bytesMoved: ours.at(-1)?.bundleBytes ?? 0,
    kernelBytes: ours.at(-1)?.kernelBytes ?? 0,
    loadAverage,
    failedSections: [...new Set(ours.flatMap((o) => o.failedSections))],
  };
}

/** Lines of the captured nginx 1.22 error log, without their 19-character time stamps. */
function fixtureLines(): string[] {
  const lines = readFileSync(FIXTURE, "utf8")
    .split("\n")
    .filter((l) => /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[/.test(l))
    .map((l) => l.slice(19));
  if (lines.length === 0) throw new Error(`no nginx error-log lines in ${FIXTURE}`);
  return lines;
}

/** nginx's `YYYY/MM/DD HH:MM:SS`, in the host's local time like nginx writes it. */
function stamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/**
 * The 2 GB log's out-of-window part: the fixture lines repeated, 50 a second, ending two hours before
 * it was written. A 1 MiB block of whole lines is built once; only the stamps are rewritten per block.
 * Returns its size; a sidecar JSON records it, so a later run reuses the file and only rewrites the tail.
 */
function ensureBigPrefix(big: string, sidecar: string): number {
  if (existsSync(big) && existsSync(sidecar)) {
    const meta = JSON.parse(readFileSync(sidecar, "utf8")) as { prefixBytes?: number };
    if (typeof meta.prefixBytes === "number" && statSync(big).size >= meta.prefixBytes)
      return meta.prefixBytes;
  }
  rmSync(sidecar, { force: true });
  const want = BIG_BYTES - TAIL_BYTES;
  log(`generating ${big} (${Math.round(BIG_BYTES / 1e9)} GB of real nginx error-log lines)...`);
  const rest = fixtureLines().map((l) => Buffer.from(`${l}\n`, "latin1"));
  const offsets: number[] = [];
  const parts: Buffer[] = [];
  let size = 0;
  for (let i = 0; size < 1 << 20; i++) {
    const r = rest[i % rest.length] as Buffer;
    offsets.push(size);
    parts.push(Buffer.from("0000/00/00 00:00:00", "latin1"), r);
    size += 19 + r.length;
  }
  const block = Buffer.concat(parts);
  const perSecond = 50;
  const lines = Math.ceil((want / block.length) * offsets.length);
  const endMs = Math.floor(Date.now() / 1000) * 1000 - 2 * 3600_000;
  const startMs = endMs - Math.ceil(lines / perSecond) * 1000;
  const fd = openSync(big, "w", 0o644);
  let written = 0;
  let line = 0;
  let cachedSecond = -1;
  let cached = "";
  try {
    while (written < want) {
      let n = offsets.length;
      let bytes = block.length;
      if (written + bytes > want) {
        const cut = offsets.findIndex((o) => o > 0 && written + o >= want);
        if (cut !== -1) {
          n = cut;
          bytes = offsets[cut] as number;
        }
      }
      for (let j = 0; j < n; j++) {
        const second = Math.floor((line + j) / perSecond);
        if (second !== cachedSecond) {
          cachedSecond = second;
          cached = stamp(startMs + second * 1000);
        }
        block.write(cached, offsets[j] as number, "latin1");
      }
      writeSync(fd, block, 0, bytes);
      written += bytes;
      line += n;
    }
  } finally {
    closeSync(fd);
  }
  writeFileSync(
    sidecar,
    `${JSON.stringify({ prefixBytes: written, lastStamp: stamp(endMs), source: FIXTURE })}\n`,
  );
  return written;
}

/** The in-window lines both logs end with: ~TAIL_BYTES stamped from 25 to 1 minute before now. */
function tail(): Buffer {
  const rest = fixtureLines();
  const avg = rest.reduce((n, l) => n + 20 + Buffer.byteLength(l), 0) / rest.length;
  const n = Math.ceil(TAIL_BYTES / avg);
  const from = Date.now() - 25 * 60_000;
  const out: string[] = [];
  for (let i = 0; i < n; i++)
    out.push(`${stamp(from + Math.floor((i * 24 * 60_000) / n))}${rest[i % rest.length]}\n`);
  return Buffer.from(out.join(""), "latin1");
}

/** Both logs, ending with the same fresh in-window lines; the small one starts with the big one's last old lines. */
function prepareLogs(): {
  big: string;
  small: string;
  bigBytes: number;
  smallBytes: number;
  tailBytes: number;
} {
  const big = join(outDir, "nginx-error-2g.log");
  const small = join(outDir, "nginx-error-2m.log");
  const prefixBytes = ensureBigPrefix(big, join(outDir, "nginx-error-2g.json"));
  const t = tail();
  truncateSync(big, prefixBytes);
  const fd = openSync(big, "r+");
  const headLen = SMALL_BYTES - t.length;
  const head = Buffer.alloc(headLen);
  try {
    readSync(fd, head, 0, headLen, prefixBytes - headLen);
    writeSync(fd, t, 0, t.length, prefixBytes);
  } finally {
    closeSync(fd);
  }
  const smallText = Buffer.concat([head.subarray(head.indexOf(10) + 1), t]);
  writeFileSync(small, smallText, { mode: 0o644 });
  return { big, small, bigBytes: prefixBytes + t.length, smallBytes: smallText.length, tailBytes: t.length };
}

function measureBigLog(lab: Lab, work: string) {
  const logs = prepareLogs();
  const cfgSmall = writeConfig(lab, join(work, "why502-2m.yaml"), logs.small);
  const cfgBig = writeConfig(lab, join(work, "why502-2g.yaml"), logs.big);
  const small: OursRun[] = [];
  const big: OursRun[] = [];
  for (let i = -1; i < RUNS; i++) {
    const s = runOurs(cfgSmall, work, "ours-2m");
    const b = runOurs(cfgBig, work, "ours-2g");
    warnProblems("2 MB log", s);
    warnProblems("2 GB log", b);
    log(`  run ${i < 0 ? "warm-up" : i + 1}: 2 MB log ${seconds(s.ms)} s, 2 GB log ${seconds(b.ms)} s`);
    if (i < 0) continue;
    small.push(s);
    big.push(b);
  }
  const sshSmall = runBaseline(cfgSmall, lab, work, "ssh-2m");
  const sshBig = runBaseline(cfgBig, lab, work, "ssh-2g");
  const scriptBytes = (cfg: string) =>
    hostScripts(cfg).reduce((n, h) => n + Buffer.byteLength(shellInput(h.script)), 0);
  const sm = median(small.map((r) => r.ms));
  const bm = median(big.map((r) => r.ms));
  const last = big.at(-1) as OursRun;
  const lastSmall = small.at(-1) as OursRun;
  return {
    hosts: last.hosts,
    bigLogBytes: logs.bigBytes,
    smallLogBytes: logs.smallBytes,
    inWindowBytes: logs.tailBytes,
    smallSeconds: small.map((r) => seconds(r.ms)),
    bigSeconds: big.map((r) => seconds(r.ms)),
    smallMedianSeconds: seconds(sm),
    bigMedianSeconds: seconds(bm),
    ratio: round(bm / sm, 2),
    bytesMovedBig: last.bundleBytes,
    bytesMovedSmall: lastSmall.bundleBytes,
    errorLogBytesBig: last.errorLogBytes,
    errorLogTruncated: last.errorLogTruncated,
    scriptBytesSent: scriptBytes(cfgBig),
    sshRawBytesBig: sshBig.rawBytes,
    sshRawBytesSmall: sshSmall.rawBytes,
    errorLogProbedBytesBig: sshBig.errorLogProbed ?? null,
    errorLogProbedBytesSmall: sshSmall.errorLogProbed ?? null,
    sshSecondsBig: seconds(sshBig.ms),
    sshSecondsSmall: seconds(sshSmall.ms),
    failedSections: [...new Set([...small, ...big].flatMap((o) => o.failedSections))],
  };
}

async function withLab<T>(backends: number, f: (lab: Lab, work: string) => T): Promise<T> {
  const work = join(outDir, `collect-${backends}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const started = performance.now();
  const lab = await startLabWhenFree(backends);
  current = lab;
  log(`lab with ${backends} backend(s) up in ${seconds(performance.now() - started)} s`);
  try {
    return f(lab, work);
  } finally {
    current = undefined;
    await lab.stop();
  }
}

let current: Lab | undefined;
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    const stop = current?.stop() ?? Promise.resolve();
    stop.finally(() => process.exit(130));
  });
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0)
    throw new Error("bench-collect needs root (the lab starts sshd, nginx, cgroups)");
  const build = spawnSync("npm", ["run", "build"], { cwd: root, encoding: "utf8" });
  if (build.status !== 0 && !existsSync(join(root, "dist/main.js")))
    throw new Error(`npm run build failed: ${build.stdout}${build.stderr}`);
  if (build.status !== 0) log("WARNING: npm run build reported errors; measuring the dist/ it left");
  for (const f of readdirSync(outDir))
    if (f.startsWith("collect-")) rmSync(join(outDir, f), { recursive: true });

  const scale: Record<string, ScaleFigure> = {};
  let bigLog: ReturnType<typeof measureBigLog> | undefined;
  for (const n of [1, 10, 50]) {
    log(`collect: ${n} backend(s), why502 vs OpenSSH, concurrency ${CONCURRENCY}`);
    await withLab(n, (lab, work) => {
      scale[`backends${n}`] = measureScale(lab, work, n);
      if (n === 1) {
        log("collect: 2 GB vs 2 MB nginx error log on the gateway");
        bigLog = measureBigLog(lab, work);
      }
    });
  }
  const s50 = scale.backends50 as ScaleFigure;
  const big = bigLog as ReturnType<typeof measureBigLog>;
  const collect = {
    method:
      "end to end: node bin/why502.js diagnose checkout --config <lab> --json --save <bundle>, under /usr/bin/time; " +
      `baseline: xargs -P ${CONCURRENCY} ssh ... sh -s < buildScript(plan sections) (matched: ${MATCHED.join(" ")}); ` +
      `median of ${RUNS} after a warm-up`,
    ...scale,
    cpuMsPerHost: s50.oursCpuMsPerHost,
    cpuSource: "/usr/bin/time %U+%S of the why502 process, median run, / hosts (gateway + 50 backends)",
    targetRatio50: 1.2,
    bigLog: { ...big, targetRatio: 1.3, targetBytesMoved: 5e6 },
  };
  const rows: string[][] = [];
  for (const [key, f] of Object.entries(scale)) {
    const n = key.replace("backends", "");
    const gated = key === "backends50";
    rows.push([
      `diagnose ${n} backend${n === "1" ? "" : "s"} (${f.hosts} hosts) vs ssh -P${CONCURRENCY}`,
      `${f.oursMedianSeconds} s vs ${f.baselineMedianSeconds} s (${f.ratio}x)`,
      gated ? "≤ 1.2x" : "",
      gated ? (f.ratio <= 1.2 ? "ok" : "MISS") : "",
    ]);
    rows.push([
      `  same, ssh pinned to curve25519 + aes128-gcm`,
      `${f.oursMedianSeconds} s vs ${f.matchedMedianSeconds} s (${f.matchedRatio}x)`,
      gated ? "≤ 1.2x" : "",
      gated ? (f.matchedRatio <= 1.2 ? "ok" : "MISS") : "",
    ]);
  }
  rows.push([
    "CPU per host, 50 backends (why502 vs ssh)",
    `${s50.oursCpuMsPerHost} ms vs ${s50.baselineCpuMsPerHost} ms (pinned: ${s50.matchedCpuMsPerHost} ms)`,
    "",
    "",
  ]);
  rows.push([
    "diagnose, 2 GB vs 2 MB error log",
    `${big.bigMedianSeconds} s vs ${big.smallMedianSeconds} s (${big.ratio}x)`,
    "≤ 1.3x",
    big.ratio <= 1.3 ? "ok" : "MISS",
  ]);
  rows.push([
    "bytes moved over SSH, 2 GB log",
    `${round(big.bytesMovedBig / 1e6, 2)} MB (script ${round(big.scriptBytesSent / 1e3, 1)} KB sent)`,
    "< 5 MB",
    big.bytesMovedBig < 5e6 ? "ok" : "MISS",
  ]);
  process.stdout.write(`${JSON.stringify({ figures: { collect }, rows })}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench-collect: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
