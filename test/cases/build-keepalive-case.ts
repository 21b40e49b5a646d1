// Builds the playbook case captured-keepalive-race from the real nginx output captured by
// scripts/capture/keepalive-race.sh (src/evidence/__fixtures__/keepalive-race): the whole error log,
// access log and `nginx -T` of the run, unchanged, as a gateway-only bundle.
//   npx tsx test/cases/build-keepalive-case.ts
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Bundle } from "../../src/bundle/schema.js";
import { captured, captureGateway, root, writeCase } from "./case-bundle.js";

const fixtures = join(root, "src/evidence/__fixtures__");
const read = (name: string): string => readFileSync(join(fixtures, "keepalive-race", name), "utf8");
const errorLog = read("error.log");
const accessLog = read("access.log");
const confOut = read("nginx-T.txt");
const confErr = read("nginx-T.stderr.txt");
const format = readFileSync(join(fixtures, "nginx-access/main_ext.format"), "utf8").trim();

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `$time_local` of an access-log line as UTC ms, with the line's own offset in minutes. */
function accessTime(line: string): { ms: number; offset: number } | undefined {
  const m = /\[(\d\d)\/(\w{3})\/(\d{4}):(\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)\]/.exec(line);
  if (!m) return undefined;
  const n = (i: number): number => Number(m[i] ?? 0);
  const offset = (m[7] === "-" ? -1 : 1) * (n(8) * 60 + n(9));
  const local = Date.UTC(n(3), MONTHS.indexOf(m[2] ?? ""), n(1), n(4), n(5), n(6));
  return { ms: local - offset * 60_000, offset };
}

const times = accessLog
  .split("\n")
  .map(accessTime)
  .filter((t) => t !== undefined);
const first = times[0];
const last = times[times.length - 1];
if (!first || !last) throw new Error("keepalive-race/access.log has no readable time");

const confFile = /^# configuration file (\S+):$/m.exec(confOut)?.[1];
if (!confFile) throw new Error("keepalive-race/nginx-T.txt does not name its configuration file");
const prefix = confFile.replace(/\/conf\/nginx\.conf$/, "");
const logs = `${prefix}/logs`;
const collectedAt = new Date(last.ms + 60_000).toISOString();

const bundle: Bundle = {
  version: 1,
  service: "orders",
  upstream: "ka",
  collectedAt,
  window: { since: new Date(first.ms - 60_000).toISOString(), until: collectedAt },
  backends: [],
  note:
    "Real nginx 1.22.1 output of a keepalive race (scripts/capture/keepalive-race.sh, fixtures in " +
    "src/evidence/__fixtures__/keepalive-race), unchanged; built by test/cases/build-keepalive-case.ts. " +
    "A backend with a 200 ms idle timeout closes cached upstream connections as nginx reuses them. " +
    "nginx ran with TZ=Europe/Berlin.",
  hosts: [
    captureGateway({ now: collectedAt, utcOffsetMinutes: last.offset, timezone: "Europe/Berlin" }, [
      captured("nginx-conf", "nginx-conf", `nginx -T -p ${prefix} -c ${confFile}`, confOut, {
        command: `nginx -T -p ${prefix} -c ${confFile}`,
        stderr: confErr,
      }),
      captured("nginx-error-log", "nginx-error", `${logs}/error.log`, errorLog),
      captured("nginx-access-log", "nginx-access", `${logs}/access.log`, accessLog, { options: { format } }),
    ]),
  ],
};

writeCase("captured-keepalive-race", bundle, {
  description:
    "nginx reuses cached keepalive connections that a backend with a 200 ms idle timeout is closing: " +
    "8 of 296 requests fail within 2 ms with resets and premature closes (real nginx 1.22 capture)",
  verdicts: [{ target: "127.0.0.1:18601", cause: "keepalive_race" }],
});
process.stdout.write("wrote playbooks/cases/captured-keepalive-race\n");
