#!/usr/bin/env node
// npm run bench [-- --json] [-- --only parse|collect|slack|alerts|aggregate]: speed and memory figures, one table.
import { execFileSync, spawnSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const args = process.argv.slice(2);
const json = args.includes("--json");
const only = args.includes("--only") ? args[args.indexOf("--only") + 1] : undefined;
const outDir = `${root}bench-out`;
mkdirSync(outDir, { recursive: true });
const log = (s) => {
  if (!json) process.stderr.write(`${s}\n`);
};

/** Real nginx error-log lines from the parser fixtures: the generated log repeats them with rising times. */
function realLines() {
  const dir = `${root}src/evidence/__fixtures__/nginx-error`;
  const lines = [];
  for (const f of readdirSync(dir).sort()) {
    if (f.endsWith(".md")) continue;
    for (const l of readFileSync(`${dir}/${f}`, "utf8").split("\n")) {
      if (/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[/.test(l)) lines.push(l.slice(19));
    }
  }
  if (lines.length === 0) throw new Error(`no plain nginx error-log lines in ${dir}`);
  return lines;
}

function generate(file, size) {
  if (existsSync(file) && statSync(file).size >= size) return;
  log(`generating ${file} (${Math.round(size / 1e6)} MB)...`);
  const lines = realLines();
  const fd = openSync(file, "w");
  let written = 0;
  let t = Date.UTC(2026, 10, 25, 0, 0, 0);
  let i = 0;
  while (written < size) {
    let chunk = "";
    while (chunk.length < 1 << 20) {
      const d = new Date(t);
      const stamp = `${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, "0")}/${String(d.getUTCDate()).padStart(2, "0")} ${String(d.getUTCHours()).padStart(2, "0")}:${String(d.getUTCMinutes()).padStart(2, "0")}:${String(d.getUTCSeconds()).padStart(2, "0")}`;
      chunk += `${stamp}${lines[i++ % lines.length]}\n`;
      if (i % 50 === 0) t += 1000;
    }
    writeSync(fd, chunk);
    written += Buffer.byteLength(chunk);
  }
  closeSync(fd);
}

function timeCommand(cmd, argv) {
  const started = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, { encoding: "utf8", maxBuffer: 1 << 20 });
  if (r.status !== 0 && r.status !== 1) throw new Error(`${cmd} failed: ${r.stderr}`);
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, out: r.stdout.trim() };
}

function parseRun(file) {
  const out = execFileSync(process.execPath, [`${root}scripts/bench-parse.js`, file], { encoding: "utf8" });
  return JSON.parse(out);
}

/** `why502 parse nginx-error < FILE > /dev/null`, the whole command: time and peak RSS (told at exit). */
function cliRun(file) {
  const preload = `${outDir}/rss-at-exit.cjs`;
  writeFileSync(
    preload,
    'process.on("exit", () => require("node:fs").writeSync(2, "\\nmaxRssKb=" + process.resourceUsage().maxRSS + "\\n"));\n',
  );
  const input = openSync(file, "r");
  const output = openSync("/dev/null", "w");
  const started = process.hrtime.bigint();
  const r = spawnSync(
    process.execPath,
    ["--require", preload, `${root}bin/why502.js`, "parse", "nginx-error"],
    { stdio: [input, output, "pipe"], encoding: "utf8", maxBuffer: 1 << 20 },
  );
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  closeSync(input);
  closeSync(output);
  if (r.status !== 0) throw new Error(`why502 parse nginx-error exited ${r.status}: ${r.stderr}`);
  return { ms, maxRssKb: Number(/maxRssKb=(\d+)/.exec(r.stderr)?.[1]) };
}

const rows = [];
const figures = {};

if (!only || only === "parse") {
  const small = `${outDir}/nginx-error-100m.log`;
  const big = `${outDir}/nginx-error-1g.log`;
  generate(small, 100e6);
  generate(big, 1e9);
  parseRun(small); // warm the page cache
  const grep = timeCommand("grep", ["-c", "", big]);
  // Five runs, the median shown with the range: this VM's speed changes by a third from one run to the next.
  const runs = Array.from({ length: 5 }, () => parseRun(big)).sort((a, b) => a.ms - b.ms);
  const p1g = runs[2];
  const p100m = parseRun(small);
  const mbPerSecond = (r) => r.bytes / 1e6 / (r.ms / 1000);
  const mbps = mbPerSecond(p1g);
  const rangeMbps = [runs[4], runs[0]].map((r) => Math.round(mbPerSecond(r)));
  const grepMbps = statSync(big).size / 1e6 / (grep.ms / 1000);
  figures.parseNginxError = {
    fileBytes: p1g.bytes,
    lines: p1g.lines,
    records: p1g.records,
    unreadable: p1g.unreadable,
    seconds: p1g.ms / 1000,
    mbPerSecond: Math.round(mbps * 10) / 10,
    runsMbPerSecond: runs.map((r) => Math.round(mbPerSecond(r) * 10) / 10),
    grepCountSeconds: grep.ms / 1000,
    grepCountMbPerSecond: Math.round(grepMbps * 10) / 10,
    peakRssMb1g: Math.round(p1g.maxRssKb / 1024),
    peakRssMb100m: Math.round(p100m.maxRssKb / 1024),
    targetMbPerSecond: 250,
  };
  rows.push([
    "parse nginx-error, 1 GB (median of 5 runs)",
    `${figures.parseNginxError.mbPerSecond} MB/s (${rangeMbps[0]}-${rangeMbps[1]})`,
    "≥ 250 MB/s",
    mbps >= 250 ? "ok" : "MISS",
  ]);
  rows.push([
    "grep -c, same file (baseline)",
    `${figures.parseNginxError.grepCountMbPerSecond} MB/s`,
    "",
    "",
  ]);
  rows.push([
    "peak RSS, 100 MB vs 1 GB log",
    `${figures.parseNginxError.peakRssMb100m} MB vs ${figures.parseNginxError.peakRssMb1g} MB`,
    "flat",
    p1g.maxRssKb < p100m.maxRssKb * 1.5 ? "ok" : "MISS",
  ]);
  // The same through the command, NDJSON out: JSON.stringify of each record costs more than reading it.
  const c1g = cliRun(big);
  const c100m = cliRun(small);
  const cliMbps = p1g.bytes / 1e6 / (c1g.ms / 1000);
  figures.parseNginxErrorCli = {
    seconds: c1g.ms / 1000,
    mbPerSecond: Math.round(cliMbps * 10) / 10,
    peakRssMb1g: Math.round(c1g.maxRssKb / 1024),
    peakRssMb100m: Math.round(c100m.maxRssKb / 1024),
  };
  rows.push([
    "why502 parse nginx-error > /dev/null, 1 GB",
    `${figures.parseNginxErrorCli.mbPerSecond} MB/s`,
    "",
    "",
  ]);
  rows.push([
    "  its peak RSS, 100 MB vs 1 GB log",
    `${figures.parseNginxErrorCli.peakRssMb100m} MB vs ${figures.parseNginxErrorCli.peakRssMb1g} MB`,
    "flat",
    c1g.maxRssKb < c100m.maxRssKb * 1.5 ? "ok" : "MISS",
  ]);
}

if (!only || only === "collect") {
  if (process.getuid?.() !== 0) {
    log("collect: skipped (the lab needs root: it starts sshd, nginx and memory cgroups)");
    figures.collect = { skipped: "needs root" };
    rows.push(["collection (lab)", "skipped: needs root", "", ""]);
  } else {
    // bench-collect.ts prints { figures, rows } as JSON on stdout, its progress on stderr.
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", `${root}scripts/bench-collect.ts`, ...(json ? ["--quiet"] : [])],
      {
        cwd: root,
        encoding: "utf8",
        stdio: ["ignore", "pipe", json ? "pipe" : "inherit"],
        maxBuffer: 16 << 20,
      },
    );
    if (r.status !== 0)
      throw new Error(`scripts/bench-collect.ts exited ${r.status}${json ? `: ${r.stderr}` : ""}`);
    const out = JSON.parse(r.stdout);
    Object.assign(figures, out.figures);
    rows.push(...out.rows);
  }
}

if (!only || only === "slack") {
  if (process.getuid?.() !== 0) {
    log("slack: skipped (the lab needs root: it starts sshd, nginx and memory cgroups)");
    figures.slack = { skipped: "needs root" };
    rows.push(["slash-command ack during a diagnosis (lab)", "skipped: needs root", "", ""]);
  } else {
    // bench-slack.ts prints { figures, rows } as JSON on stdout, its progress on stderr.
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", `${root}scripts/bench-slack.ts`, ...(json ? ["--quiet"] : [])],
      {
        cwd: root,
        encoding: "utf8",
        stdio: ["ignore", "pipe", json ? "pipe" : "inherit"],
        maxBuffer: 16 << 20,
      },
    );
    if (r.status !== 0)
      throw new Error(`scripts/bench-slack.ts exited ${r.status}${json ? `: ${r.stderr}` : ""}`);
    const out = JSON.parse(r.stdout);
    Object.assign(figures, out.figures);
    rows.push(...out.rows);
  }
}

if (!only || only === "alerts") {
  if (process.getuid?.() !== 0) {
    log("alerts: skipped (the lab needs root)");
    figures.alerts = { skipped: "needs root" };
    rows.push(["webhook intake and first 502 → thread (lab)", "skipped: needs root", "", ""]);
  } else {
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", `${root}scripts/bench-alerts.ts`, ...(json ? ["--quiet"] : [])],
      {
        cwd: root,
        encoding: "utf8",
        stdio: ["ignore", "pipe", json ? "pipe" : "inherit"],
        maxBuffer: 16 << 20,
      },
    );
    if (r.status !== 0)
      throw new Error(`scripts/bench-alerts.ts exited ${r.status}${json ? `: ${r.stderr}` : ""}`);
    const out = JSON.parse(r.stdout);
    Object.assign(figures, out.figures);
    rows.push(...out.rows);
  }
}

if (!only || only === "aggregate") {
  const { benchAggregate } = await import("./bench-aggregate.js");
  const out = await benchAggregate({ root, outDir, log });
  Object.assign(figures, out.figures);
  rows.push(...out.rows);
}

if (!only || only === "replicas") {
  if (process.getuid?.() !== 0) {
    log("replicas: skipped (PostgreSQL is started as the postgres user: needs root)");
    figures.replicas = { skipped: "needs root" };
    rows.push(["webhook intake on three replicas (PostgreSQL)", "skipped: needs root", "", ""]);
  } else {
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", `${root}scripts/bench-replicas.ts`, ...(json ? ["--quiet"] : [])],
      {
        cwd: root,
        encoding: "utf8",
        stdio: ["ignore", "pipe", json ? "pipe" : "inherit"],
        maxBuffer: 16 << 20,
      },
    );
    if (r.status !== 0)
      throw new Error(`scripts/bench-replicas.ts exited ${r.status}${json ? `: ${r.stderr}` : ""}`);
    const out = JSON.parse(r.stdout);
    Object.assign(figures, out.figures);
    rows.push(...out.rows);
  }
}

if (json) {
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
} else {
  const widths = [0, 1, 2, 3].map((i) =>
    Math.max(...[["figure", "value", "target", ""], ...rows].map((r) => String(r[i]).length)),
  );
  for (const r of [["figure", "value", "target", ""], ...rows]) {
    process.stdout.write(`${r.map((c, i) => String(c).padEnd(widths[i])).join("  ")}\n`);
  }
}
