// Builds the playbook cases of a backend supervised by Docker. No Docker engine runs here, so Docker's own output
// is what people pasted into public reports (src/evidence/docker/__fixtures__, README there), kept verbatim. The
// gateway's nginx lines and the kernel's OOM lines around it are our own real captures, moved in time (every
// stamp by the same amount, nothing else changed) to the moments Docker's State names. Each case's note says so.
//   npx tsx test/cases/build-docker-cases.ts
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Bundle, CommandOutput, HostBundle } from "../../src/bundle/schema.js";
import { captured, captureGateway, root, writeCase } from "./case-bundle.js";

const fixtures = join(root, "src/evidence");
const read = (path: string) => readFileSync(join(fixtures, path), "utf8");
const errorHttp = read("__fixtures__/nginx-error/captured-1.22-http.txt").split("\n");
const access = read("__fixtures__/nginx-access/captured-main-ext.log").split("\n");
const format = read("__fixtures__/nginx-access/main_ext.format").trim();
const dmesgIso = read("__fixtures__/kernel/dmesg-iso-memcg-oom.txt").split("\n");

/** The captured upstream nobody listens on (111), and the capture's zone (nginx ran with TZ=Europe/Berlin). */
const TARGET = "127.0.0.1:18190";
const BERLIN = 60 * 60_000;
const pad = (n: number, w = 2) => String(n).padStart(w, "0");
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** nginx's error-log stamp (`2026/11/25 13:26:12`, local) moved by `deltaMs`. */
function moveErrorLine(line: string, deltaMs: number): string {
  return line.replace(/^(\d{4})\/(\d\d)\/(\d\d) (\d\d):(\d\d):(\d\d)/, (_, y, mo, d, h, mi, s) => {
    const t = new Date(Date.UTC(+y, +mo - 1, +d, +h, +mi, +s) + deltaMs);
    return `${t.getUTCFullYear()}/${pad(t.getUTCMonth() + 1)}/${pad(t.getUTCDate())} ${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}`;
  });
}

/** The access log's `[25/Nov/2026:13:26:12 +0100]` moved by `deltaMs`. */
function moveAccessLine(line: string, deltaMs: number): string {
  return line.replace(
    /\[(\d\d)\/(\w{3})\/(\d{4}):(\d\d):(\d\d):(\d\d) \+0100\]/,
    (_, d, mon, y, h, mi, s) => {
      const t = new Date(Date.UTC(+y, MONTHS.indexOf(mon), +d, +h, +mi, +s) + deltaMs);
      return `[${pad(t.getUTCDate())}/${MONTHS[t.getUTCMonth()]}/${t.getUTCFullYear()}:${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())} +0100]`;
    },
  );
}

/** dmesg's `2026-11-25T12:15:37,871927+00:00` moved by `deltaUs` microseconds. */
function moveKernelLine(line: string, deltaUs: bigint): string {
  return line.replace(/^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d),(\d{6})\+00:00/, (_, whole: string, us: string) => {
    const t = BigInt(Date.parse(`${whole}Z`)) * 1000n + BigInt(us) + deltaUs;
    const d = new Date(Number(t / 1000n));
    return `${d.toISOString().slice(0, 19)},${pad(Number(t % 1_000_000n), 6)}+00:00`;
  });
}

/** UTC ms of a local nginx error-log stamp in the capture. */
const errorStamp = (line: string): number => {
  const m = /^(\d{4})\/(\d\d)\/(\d\d) (\d\d):(\d\d):(\d\d)/.exec(line);
  if (!m) throw new Error(`no stamp: ${line}`);
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  return Date.UTC(y ?? 0, (mo ?? 1) - 1, d ?? 1, h ?? 0, mi ?? 0, s ?? 0) - BERLIN;
};

/** The capture's 111 lines for TARGET from plain proxy_pass locations (`/refused/`, not uwsgi/scgi/grpc ones). */
const refusedLines = errorHttp.filter(
  (l) => l.includes(`upstream: "http://${TARGET}/refused`) && l.includes("(111: Connection refused)"),
);
/** Their requests in the access log of the same run (the same second: 13:26:12). */
const refusedAccess = access.filter(
  (l) => l.includes(`ua="${TARGET}"`) && l.includes("[25/Nov/2026:13:26:12 +0100]"),
);

function backendHost(now: string, commands: CommandOutput[]): HostBundle {
  return {
    name: "app-1",
    address: "127.0.0.1",
    role: "backend",
    addresses: ["127.0.0.1"],
    clock: { now, utcOffsetMinutes: 0, timezone: "UTC" },
    commands,
  };
}

interface DockerCase {
  name: string;
  description: string;
  /** the State block as pasted in the report */
  state: string;
  /** where the State comes from */
  from: string;
  /** when nginx's first 111 falls: just after the container's FinishedAt */
  firstErrorAt: string;
  /** the kernel's OOM kill of our capture, moved to land on the container's exit; absent: a dmesg without one */
  oomKillAt?: string;
  /** `docker events` lines of the case, in the documented default format (see crashLoopEvents) */
  events?: string;
  verdict: string;
}

/** The State of weaveworks/weave#1778: restarting after exit 2, its last life 30 ms (16:30:57.160 to .190). */
const RESTARTING = read("docker/__fixtures__/state-json-restarting.txt");

/**
 * The `docker events` lines of a container restarted by its policy `lives` times, each life 30 ms and ended
 * by exit 2 as that State's last one, with Docker's restart delay (100 ms, doubled after each quick exit)
 * between them, the last life the State's own. No public report shows such a run in the default format, so
 * the lines are written in the format of Docker's documentation (reference/cli/docker/system/events:
 * `2017-01-05T00:36:09.840186338+08:00 container die 0fdb...ff37 (exitCode=143, image=alpine:latest,
 * name=test)`), with the case's container name and times; the case's note says so.
 */
function crashLoopEvents(lives: number): string {
  const state = JSON.parse(RESTARTING) as { StartedAt: string; FinishedAt: string };
  const lastStart = Date.parse(state.StartedAt);
  const life = Date.parse(state.FinishedAt) - lastStart;
  const starts: number[] = [lastStart];
  for (let i = 1, delay = 100 * 2 ** (lives - 2); i < lives; i++, delay /= 2)
    starts.unshift((starts[0] ?? 0) - life - delay);
  const stamp = (ms: number) => `${new Date(ms).toISOString().replace(/Z$/, "")}000000Z`;
  const id = "4ac3...488d";
  return `${starts
    .flatMap((t) => [
      `${stamp(t)} container start ${id} (image=checkout:1.4.2, name=checkout)`,
      `${stamp(t + life)} container die ${id} (exitCode=2, image=checkout:1.4.2, name=checkout)`,
    ])
    .join("\n")}\n`;
}

const cases: DockerCase[] = [
  {
    name: "docker-oom-killed",
    description:
      "a container killed by the kernel's OOM killer (exit 137) whose Docker 1.9 State says OOMKilled: false: the kernel's line decides",
    state: read("docker/__fixtures__/state-block-docker-1.9.txt"),
    from: "kubernetes/kubernetes#19825 (Docker 1.9.1 on CoreOS, whose OOMKilled flag was unreliable: moby/moby#18510)",
    firstErrorAt: "2016-02-01T21:50:52.000Z",
    oomKillAt: "2016-02-01T21:50:51.171Z",
    verdict: "oom_killed",
  },
  {
    name: "docker-killed-no-trace",
    description:
      "a container ended by SIGKILL (exit 137, OOMKilled: false), not restarted, and no kernel OOM kill in dmesg: killed, no trace of why",
    state: read("docker/__fixtures__/state-block-exited-137.txt"),
    from: "docker/cli#2665 (a redis container whose reporter found nothing in docker logs)",
    firstErrorAt: "2020-07-31T22:28:18.000Z",
    verdict: "crashed_no_trace",
  },
  {
    name: "docker-crash-loop",
    description:
      "a container its restart policy starts again and again, each life 30 ms and ended by exit 2, Docker's events telling each start and death: a crash loop",
    state: RESTARTING,
    from: "weaveworks/weave#1778 (a plugin container restarting after exit 2, 30 ms after its start)",
    firstErrorAt: "2015-12-11T16:30:51.000Z",
    events: crashLoopEvents(7),
    verdict: "crash_loop",
  },
];

const KILL = /Memory cgroup out of memory: Killed process 10258 \(python3\)/;
// The capture's first OOM kill (python3 in a 64M cgroup): from its `invoked oom-killer` to its `Killed process`.
const oomBlock = dmesgIso.slice(
  dmesgIso.findIndex((l) => / python3 invoked oom-killer:/.test(l)),
  dmesgIso.findIndex((l) => KILL.test(l)) + 1,
);

for (const c of cases) {
  const errorDelta = Date.parse(c.firstErrorAt) - errorStamp(refusedLines[0] ?? "");
  const errorLog = `${refusedLines.map((l) => moveErrorLine(l, errorDelta)).join("\n")}\n`;
  const accessLog = `${refusedAccess.map((l) => moveAccessLine(l, errorDelta)).join("\n")}\n`;
  const last = Math.max(...errorLog.trim().split("\n").map(errorStamp));
  const since = new Date(Date.parse(c.firstErrorAt) - 5 * 60_000).toISOString();
  const until = new Date(last + 60_000).toISOString();
  let kernel = "";
  if (c.oomKillAt) {
    const killLine = oomBlock.at(-1) ?? "";
    const killUs = BigInt(Date.parse(`${killLine.slice(0, 19)}Z`)) * 1000n + BigInt(killLine.slice(20, 26));
    const delta = BigInt(Date.parse(c.oomKillAt)) * 1000n - killUs;
    kernel = `${oomBlock.map((l) => moveKernelLine(l, delta)).join("\n")}\n`;
  }
  const bundle: Bundle = {
    version: 1,
    service: "checkout",
    collectedAt: until,
    window: { since, until },
    backends: [{ host: "app-1", address: "127.0.0.1", port: 18190, process: "checkout" }],
    note:
      `Docker's State: the block pasted in ${c.from}, verbatim (src/evidence/docker/__fixtures__). ` +
      `nginx's lines: the 111 lines for ${TARGET} of our nginx 1.22.1 capture (src/evidence/__fixtures__/nginx-error/captured-1.22-http.txt and its access log; TZ=Europe/Berlin), every stamp moved by the same amount so that the first falls after the container's FinishedAt. ` +
      (c.oomKillAt
        ? "The kernel's lines: the first OOM kill of our capture (src/evidence/__fixtures__/kernel/dmesg-iso-memcg-oom.txt, python3 in a 64M memory cgroup), every stamp moved so that the kill falls on FinishedAt. "
        : "The kernel's log was read and holds no OOM kill (empty). ") +
      (c.events
        ? "Docker's events: written in the default format of Docker's documentation (reference/cli/docker/system/events), one start and one die a life, each life and exit code the State's last, Docker's restart delay between them; no public report shows such lines. "
        : "") +
      "No docker logs: the report had none for that container. Built by test/cases/build-docker-cases.ts.",
    hosts: [
      captureGateway({ now: until, utcOffsetMinutes: 60, timezone: "Europe/Berlin" }, [
        captured("nginx-error-log", "nginx-error", "/var/log/nginx/error.log", errorLog),
        captured("nginx-access-log", "nginx-access", "/var/log/nginx/access.log", accessLog, {
          options: { format },
        }),
      ]),
      backendHost(until, [
        captured("docker-inspect", "docker", "docker inspect checkout", c.state),
        ...(c.events ? [captured("docker-events", "docker", "docker events checkout", c.events)] : []),
        captured("kernel", "kernel", "dmesg --time-format iso", kernel),
      ]),
    ],
  };
  writeCase(c.name, bundle, {
    description: `${c.description} (Docker's State from a public report, verbatim; see the bundle's note)`,
    verdicts: [{ target: TARGET, cause: c.verdict }],
  });
}
process.stdout.write(`wrote ${cases.length} cases\n`);
