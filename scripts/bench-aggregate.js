// `npm run bench -- --only aggregate`: a post-incident count of a 2 GB access log over a 2-hour incident, made
// on the "host" by the nginx-access-aggregate template, run on this machine exactly as over SSH (`sh -s`, the
// script on stdin). Shown beside the same awk program run on the file directly, and with the bytes moved.
// Needs `npm run build` (it runs the template from dist/).
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { AWK_AGGREGATE } from "../dist/collect/aggregate.sh.js";
import { aggregateFields, fieldsArgument } from "../dist/collect/aggregate-fields.js";
import { aggregateSection } from "../dist/collect/aggregate-plan.js";
import { LocalTransport } from "../dist/collect/local-transport.js";
import { buildScript } from "../dist/collect/script.js";
import { splitSections } from "../dist/collect/sections.js";
import { AWK_TIME } from "../dist/collect/window.sh.js";
import { aggregateTotals } from "../dist/evidence/access-aggregate.js";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const STAMP = /\d\d\/[A-Z][a-z][a-z]\/\d{4}:\d\d:\d\d:\d\d [-+]\d{4}/;
const NONCE = "BenchN0nce0123456789";
const SIZE = 2e9;
/** The log covers 2 h 10 min; the incident window is the 2 h from 5 min in. */
const T0 = Date.UTC(2026, 10, 25, 10, 0, 0) / 1000;
const SPAN = 2 * 3600 + 600;
const SINCE = T0 + 300;
const UNTIL = T0 + 300 + 7200 - 1;

/** `25/Nov/2026:15:30:00 +0530` for an epoch second, on the +05:30 clock of the fixtures. */
function timeLocal(epoch) {
  const d = new Date((epoch + 330 * 60) * 1000);
  const day = String(d.getUTCDate()).padStart(2, "0");
  return `${day}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${d.toISOString().slice(11, 19)} +0530`;
}

/** Real main_ext lines (the access-log fixtures), repeated with rising times: SIZE bytes over SPAN seconds. */
function generate(root, file, log) {
  const dir = `${root}src/evidence/__fixtures__/nginx-access`;
  const lines = [
    ...readFileSync(`${dir}/main_ext.txt`, "utf8").split("\n"),
    ...readFileSync(`${dir}/captured-main-ext.log`, "utf8").split("\n"),
  ].filter((l) => STAMP.test(l));
  const average = lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0) / lines.length;
  const perSecond = Math.ceil(SIZE / average / SPAN);
  if (existsSync(file) && statSync(file).size >= SIZE) return perSecond;
  log(`generating ${file} (${SIZE / 1e9} GB, ${perSecond} requests/s for ${SPAN / 60} min)...`);
  const fd = openSync(file, "w");
  let i = 0;
  for (let t = T0; t < T0 + SPAN; t++) {
    const stamp = timeLocal(t);
    let chunk = "";
    for (let k = 0; k < perSecond; k++) chunk += `${lines[i++ % lines.length].replace(STAMP, stamp)}\n`;
    writeSync(fd, chunk);
  }
  closeSync(fd);
  return perSecond;
}

function counts(stdout) {
  return stdout
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("#"))
    .sort()
    .join("\n");
}

/** Runs the bench; returns `{ figures, rows }` in bench.js's shape. */
export async function benchAggregate({ root, outDir, log }) {
  const file = `${outDir}/access-2g.log`;
  const perSecond = generate(root, file, log);
  const format = readFileSync(`${root}src/evidence/__fixtures__/nginx-access/main_ext.format`, "utf8");
  const section = aggregateSection({
    path: file,
    format,
    sinceEpochSeconds: SINCE,
    untilEpochSeconds: UNTIL,
  });
  if ("error" in section) throw new Error(section.error);
  const script = buildScript([section.spec], { sinceEpochSeconds: SINCE, nonce: NONCE });

  spawnSync("cat", [file], { stdio: "ignore" }); // warm the page cache, for both runs alike
  const local = new LocalTransport();
  const started = process.hrtime.bigint();
  const r = await local.exec(script, { timeoutMs: 300_000, maxBytes: 8 << 20 });
  const templateMs = Number(process.hrtime.bigint() - started) / 1e6;
  await local.close();
  const got = splitSections(r.stdout, r.stderr, NONCE).sections.get("nginx-access-aggregate");
  if (got?.exitCode !== 0) throw new Error(`the template failed: ${got?.stderr ?? r.stderr}`);
  const totals = aggregateTotals(got.stdout);
  const moved = Buffer.byteLength(script) + Buffer.byteLength(r.stdout) + Buffer.byteLength(r.stderr);

  const fields = aggregateFields(format);
  const direct = process.hrtime.bigint();
  const a = spawnSync(
    "awk",
    [
      ...["-v", `since=${SINCE}`, "-v", `until=${UNTIL}`, "-v", "sh=0", "-v", "sl=60", "-v", "dl=300"],
      ...["-v", "mk=20000", "-v", `f=${fieldsArgument(fields)}`, AWK_TIME + AWK_AGGREGATE, file],
    ],
    { encoding: "utf8", env: { ...process.env, LC_ALL: "C" }, maxBuffer: 16 << 20 },
  );
  const awkMs = Number(process.hrtime.bigint() - direct) / 1e6;
  if (a.status !== 0) throw new Error(`awk failed: ${a.stderr}`);
  const directTotals = aggregateTotals(a.stdout);

  const windowLines = 7200 * perSecond;
  const same = counts(a.stdout) === counts(got.stdout);
  const figures = {
    aggregate: {
      fileBytes: statSync(file).size,
      windowSeconds: UNTIL - SINCE + 1,
      requestsPerSecond: perSecond,
      counted: totals?.counted,
      expectedInWindow: windowLines,
      unread: totals?.unread,
      keys: totals?.keys,
      linesRead: totals?.lines,
      templateSeconds: templateMs / 1000,
      awkDirectSeconds: awkMs / 1000,
      awkDirectLinesRead: directTotals?.lines,
      bytesMoved: moved,
      scriptBytes: Buffer.byteLength(script),
      countsBytes: got.bytes,
      sameCountsAsDirectAwk: same,
      targetBytesMoved: 1e6,
    },
  };
  const mb = (n) => `${(n / 1e6).toFixed(2)} MB`;
  const rows = [
    [
      "access-log aggregate, 2 GB / 2 h incident",
      `${(templateMs / 1000).toFixed(1)} s, ${mb(moved)} moved`,
      "< 1 MB moved",
      moved < 1e6 && same ? "ok" : "MISS",
    ],
    ["awk on the same file directly (baseline)", `${(awkMs / 1000).toFixed(1)} s`, "", ""],
    [
      "  requests of the window counted",
      `${totals?.counted} + ${totals?.unread} with status 009 = ${windowLines}`,
      "all",
      (totals?.counted ?? 0) + (totals?.unread ?? 0) === windowLines ? "ok" : "MISS",
    ],
  ];
  return { figures, rows };
}
