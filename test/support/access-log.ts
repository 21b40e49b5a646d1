import { readFileSync } from "node:fs";
import { join } from "node:path";
import { nginxAccessParser } from "../../src/evidence/nginx-access.js";
import { parseText } from "../../src/evidence/run.js";

/** Real access-log lines and their formats, from src/evidence/__fixtures__/nginx-access/. */
const FIXTURES = new URL("../../src/evidence/__fixtures__/nginx-access/", import.meta.url).pathname;

export const fixture = (name: string): string => readFileSync(join(FIXTURES, name), "utf8");
export const fixtureLines = (name: string): string[] => fixture(name).split("\n").filter(Boolean);
export const fixtureFormat = (name: string): string => fixture(`${name}.format`);

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** nginx `$time_local` of an epoch second on a clock `offsetMin` east of UTC: `25/Nov/2026:17:51:01 +0530`. */
export function timeLocal(epoch: number, offsetMin: number): string {
  const d = new Date((epoch + offsetMin * 60) * 1000);
  const sign = offsetMin < 0 ? "-" : "+";
  const abs = Math.abs(offsetMin);
  const zone = `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}${String(abs % 60).padStart(2, "0")}`;
  const day = String(d.getUTCDate()).padStart(2, "0");
  return `${day}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${d.toISOString().slice(11, 19)} ${zone}`;
}

const STAMP = /\d\d\/[A-Z][a-z][a-z]\/\d{4}:\d\d:\d\d:\d\d [-+]\d{4}/;

/** The line with its `$time_local` replaced. */
export const restamp = (line: string, epoch: number, offsetMin: number): string =>
  line.replace(STAMP, timeLocal(epoch, offsetMin));

/**
 * Counts per `MINUTE STATUS TARGET` computed in TypeScript, apart from the awk: each line read with the
 * nginx-access parser (a regex compiled from the log_format), its time in [since, until] after moving it by
 * `shift` seconds (host minus collector clock), its target the last word of `$upstream_addr`.
 */
export function referenceCounts(
  text: string,
  format: string,
  since: number,
  until: number,
  shift = 0,
): Map<string, number> {
  const out = new Map<string, number>();
  const { records } = parseText(nginxAccessParser, text, {
    host: "h",
    source: "s",
    utcOffsetMinutes: 0,
    options: { format },
  });
  for (const r of records) {
    if (r.time === undefined || r.status === undefined || r.status < 100 || r.status > 599) continue;
    const t = Date.parse(r.time) / 1000 - shift;
    if (t < since || t > until) continue;
    const minute = new Date(Math.floor(t / 60) * 60_000).toISOString().slice(0, 16);
    const target = r.vars.upstream_addr?.split(" ").at(-1) ?? "-";
    const key = `${minute} ${r.status} ${target}`;
    out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}

/** The awk's `MINUTE STATUS TARGET COUNT` lines as the same map (the `#` totals line left out). */
export function countsOf(stdout: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of stdout.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

export const sorted = (m: Map<string, number>): [string, number][] =>
  [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
