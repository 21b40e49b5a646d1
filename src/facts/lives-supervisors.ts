import type { Bundle } from "../bundle/schema.js";
import type { DockerRecord } from "../evidence/docker/docker.js";
import { SIGNALS } from "../evidence/lifecycle.js";
import type { Pm2Record } from "../evidence/pm2/pm2.js";
import type { SupervisordRecord } from "../evidence/supervisord/supervisord.js";
import type { SystemdRecord } from "../evidence/systemd.js";
import { type Endpoint, sameSocket } from "./address.js";
import { type EvidenceRef, type EvidenceSet, recordsOf, refOf } from "./evidence-set.js";
import type { Exit, Lives } from "./lives.js";
import { inWindow, ms, type Window } from "./window.js";

// What each supervisor (supervisord, PM2, Docker, systemd) tells about the lives of the program it runs.

/** systemd's exit_status_to_string() for the LSB range. */
const EXIT_NAMES = [
  "SUCCESS",
  "FAILURE",
  "INVALIDARGUMENT",
  "NOTIMPLEMENTED",
  "NOPERMISSION",
  "NOTINSTALLED",
];
EXIT_NAMES.push("NOTCONFIGURED", "NOTRUNNING");

function exitOf(
  time: string | undefined,
  fields: { exitCode?: number | undefined; signal?: string | undefined; coreDumped?: boolean | undefined },
  oomKilled: boolean,
  ref: EvidenceRef,
): Exit | undefined {
  const t = ms(time);
  if (Number.isNaN(t)) return undefined;
  if (fields.signal !== undefined) {
    const n = SIGNALS.indexOf(fields.signal);
    return {
      ms: t,
      code: fields.coreDumped ? "dumped" : "killed",
      status: Math.max(n, 0),
      statusName: fields.signal,
      signal: fields.signal,
      oomKilled,
      ref,
    };
  }
  const status = fields.exitCode ?? 0;
  return {
    ms: t,
    code: "exited",
    status,
    statusName: EXIT_NAMES[status] ?? "n/a",
    signal: "",
    oomKilled,
    ref,
  };
}

/** The supervisor's name for the program behind this target, as the inventory gave it. */
export function programOf(bundle: Bundle, host: string, ep: Endpoint): string | undefined {
  const specs = bundle.backends.filter((b) => b.host === host);
  const spec =
    specs.find((b) =>
      ep.kind === "unix" ? sameSocket(b.socket, ep.host) : ep.kind !== "tcp" || b.port === ep.port,
    ) ?? specs[0];
  return spec?.process;
}

function supervisordLives(records: SupervisordRecord[], window: Window): Lives {
  const lives: Lives = {
    supervisor: "supervisord",
    starts: [],
    exits: [],
    gaveUp: undefined,
    now: undefined,
  };
  let pid: number | undefined;
  for (const r of records) {
    if (r.entry === "status") {
      const running = r.state === "RUNNING";
      lives.now = {
        running,
        pid: r.pid ?? 0,
        startedAt: r.startedAt ?? "",
        state: r.state ?? "",
        restarts: 0,
        ref: refOf(r),
      };
      if (r.state === "FATAL") lives.gaveUp ??= refOf(r);
      continue;
    }
    if (r.event === "spawned") pid = r.pid;
    if (!inWindow(r.time, window)) continue;
    if (r.event === "spawned") lives.starts.push({ ms: ms(r.time), pid: r.pid, ref: refOf(r) });
    if (r.event === "exited") {
      const e = exitOf(r.time, r, false, refOf(r));
      if (e) lives.exits.push({ ...e, pid });
      pid = undefined;
    }
    if (r.event === "gave_up") lives.gaveUp = refOf(r);
  }
  return lives;
}

function pm2Lives(records: Pm2Record[], window: Window): Lives {
  const lives: Lives = { supervisor: "pm2", starts: [], exits: [], gaveUp: undefined, now: undefined };
  for (const r of records) {
    if (r.entry === "status") {
      lives.now = {
        running: r.state === "online",
        pid: r.pid ?? 0,
        startedAt: r.startedAt ?? "",
        state: r.state ?? "",
        restarts: r.restarts ?? 0,
        ref: refOf(r),
      };
      continue;
    }
    if (!inWindow(r.time, window)) continue;
    if (r.event === "spawned") lives.starts.push({ ms: ms(r.time), ref: refOf(r) });
    if (r.event === "exited") {
      const e = exitOf(r.time, r, false, refOf(r));
      if (e) lives.exits.push(e);
    }
    // (PM2's give-up line names the script, not the app: supervisedLives picks the lines that are this app's.)
    if (r.event === "gave_up") lives.gaveUp = refOf(r);
  }
  return lives;
}

function dockerLives(records: DockerRecord[], window: Window): Lives {
  const lives: Lives = { supervisor: "docker", starts: [], exits: [], gaveUp: undefined, now: undefined };
  const r = records.filter((x) => x.event === "status").at(-1);
  if (r) {
    lives.now = {
      running: r.running === true && r.restarting !== true,
      pid: r.pid ?? 0,
      startedAt: r.startedAt ?? "",
      state: r.state ?? "",
      restarts: r.restarts ?? 0,
      ref: refOf(r),
    };
  }
  // The daemon's events tell every start and death in the window; without them, inspect keeps only the last.
  const events = records.filter((x) => x.event === "spawned" || x.event === "exited");
  if (events.length > 0) {
    for (const e of events) {
      if (!e.time || !inWindow(e.time, window)) continue;
      if (e.event === "spawned") lives.starts.push({ ms: ms(e.time), ref: refOf(e) });
      else {
        const exit = exitOf(e.time, e, e.oomKilled === true, refOf(e));
        if (exit) lives.exits.push(exit);
      }
    }
    return lives;
  }
  if (!r) return lives;
  if (r.startedAt && inWindow(r.startedAt, window) && (r.restarts ?? 0) > 0)
    lives.starts.push({ ms: ms(r.startedAt), pid: r.pid, ref: refOf(r) });
  if (r.finishedAt && inWindow(r.finishedAt, window)) {
    const e = exitOf(r.finishedAt, r, r.oomKilled === true, refOf(r));
    if (e) lives.exits.push(e);
  }
  return lives;
}

/** systemd's starts (`Started unit.`) and its give-up (start limit). Its exits are read in backend.ts. */
function systemdLives(records: SystemdRecord[], window: Window): Lives {
  const lives: Lives = { supervisor: "systemd", starts: [], exits: [], gaveUp: undefined, now: undefined };
  for (const r of records) {
    if (r.entry !== "journal" || !inWindow(r.time, window)) continue;
    if (r.event === "started") lives.starts.push({ ms: ms(r.time), ref: refOf(r) });
    if (r.event === "start_limit" || r.result === "start-limit-hit") lives.gaveUp = refOf(r);
    if (r.event === "main_exited" && r.code !== undefined) {
      const e = exitOf(
        r.time,
        r.code === "exited"
          ? { exitCode: r.status }
          : { signal: r.signal ?? SIGNALS[r.status ?? 0] ?? "", coreDumped: r.code === "dumped" },
        false,
        refOf(r),
      );
      if (e) lives.exits.push(e);
    }
  }
  return lives;
}

/** The lives the supervisor of the target's program tells about; `supervisor` is "" when none did. */
export function supervisedLives(
  set: EvidenceSet,
  host: string,
  program: string | undefined,
  window: Window,
): Lives {
  const mine = <R extends { program?: string | undefined }>(rs: R[]) =>
    program === undefined ? rs : rs.filter((r) => r.program === undefined || r.program === program);
  const sup = mine(recordsOf(set, "supervisord", host)).filter(
    (r) => r.program !== undefined || r.event !== "spawn_error",
  );
  if (sup.length > 0) return supervisordLives(sup, window);
  const pm2All = recordsOf(set, "pm2", host);
  const scripts = new Set(
    pm2All
      .filter((r) => r.entry === "status" && (program === undefined || r.program === program))
      .map((r) => r.execPath),
  );
  // The give-up line names the script: it is this app's when the app runs that script (or PM2 runs only it).
  const pm2 = pm2All.filter((r) =>
    r.event === "gave_up"
      ? scripts.has(r.execPath) || new Set(pm2All.map((x) => x.program).filter(Boolean)).size <= 1
      : program === undefined || r.program === program,
  );
  if (pm2.length > 0) return pm2Lives(pm2, window);
  const docker = mine(recordsOf(set, "docker", host));
  if (docker.length > 0) return dockerLives(docker, window);
  const systemd = recordsOf(set, "systemd", host);
  if (systemd.length > 0) return systemdLives(systemd, window);
  return { supervisor: "", starts: [], exits: [], gaveUp: undefined, now: undefined };
}
