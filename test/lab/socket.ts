// Scenarios whose failing backend listens on a unix socket: nginx's upstream lists `server unix:/path`, so its
// error lines say `connect() to unix:/path failed` and `upstream: "http://unix:/path:/uri"`. The app removes its
// socket whenever it exits (app.mjs --socket), so while nothing serves it nginx finds no socket at all: errno 2,
// which the engine must not take for a FastCGI/uWSGI socket problem when the process behind it simply died.
import { existsSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { Backend } from "./backend.js";
import type { Lab } from "./lab.js";
import { FAIL_AFTER, GATEWAY_ADDRESS, GATEWAY_PORT } from "./scenario-plan.js";
import { type Reply, sendTraffic, type TrafficOptions } from "./traffic.js";
import { waitUntil } from "./wait.js";

/** What a socket scenario did, for the summary (scenarios.ts keeps the rest of it). */
export interface SocketRun {
  replies: Reply[];
  evidence: string[];
  exit: { code: number | null; signal: string | null; result: string };
}

export const SOCKET_ERRORS = {
  /** the socket is gone: nothing serves it */
  missing: /connect\(\) to unix:\S+ failed \(2: No such file or directory\) while connecting to upstream/,
  prematureClose: /upstream prematurely closed connection while reading response header from upstream/,
} as const;
export type SocketErrorKind = keyof typeof SOCKET_ERRORS;

const traffic = (o: Omit<TrafficOptions, "host" | "port">) =>
  sendTraffic({ host: GATEWAY_ADDRESS, port: GATEWAY_PORT, ...o });

function socketOf(b: Backend): string {
  if (b.info.socket === undefined) throw new Error(`${b.info.name} does not listen on a unix socket`);
  return b.info.socket;
}

/** nginx error-log lines for that socket (`upstream: "http://unix:/path:/uri"`). */
function linesFor(text: string, socket: string): string[] {
  return text.split("\n").filter((l) => l.includes(`upstream: "http://unix:${socket}:`));
}

export function socketErrorLinesSync(lab: Lab, socket: string): string[] {
  return linesFor(readFileSync(lab.nginx.errorLog, "utf8"), socket);
}

export function awaitSocketErrorLine(lab: Lab, socket: string, kind: SocketErrorKind): Promise<string> {
  return waitUntil(
    async () =>
      linesFor(await readFile(lab.nginx.errorLog, "utf8"), socket).find((l) => SOCKET_ERRORS[kind].test(l)),
    { what: `a ${kind} line for unix:${socket} in ${lab.nginx.errorLog}` },
  );
}

/** The last journal line matching `re`, once the supervisor has written it. */
function journalLine(b: Backend, re: RegExp): Promise<string> {
  return waitUntil(
    async () => (await readFile(b.info.journalPath, "utf8")).split("\n").findLast((l) => re.test(l)),
    { what: `${re} in ${b.info.journalPath}` },
  );
}

/**
 * Waits until the backend's start lies outside the window the tests diagnose (from a second before the scenario
 * starts; journal stamps have whole seconds), so that its `Started` line does not count as a restart there.
 */
export async function startBeforeTheWindow(b: Backend): Promise<void> {
  const ready = await b.next("ready");
  const quietFrom = (Math.floor(Date.parse(ready.at) / 1000) + 2) * 1000 + 50;
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, quietFrom - Date.now())));
}

/** Requests one at a time (round robin reaches the socket every other one) until nginx found it missing. */
async function untilMissing(lab: Lab, socket: string): Promise<Reply[]> {
  const missing = () => socketErrorLinesSync(lab, socket).some((l) => SOCKET_ERRORS.missing.test(l));
  return traffic({ count: 2 * lab.nginx.servers().length + 4, concurrency: 1, stopWhen: missing });
}

/**
 * socket-exit: a config reload fails (SIGHUP, one fatal line, exit 1) and the unit has Restart=no: the process
 * is gone for good and so is its socket. Requests flow before and after.
 */
export async function socketExit(lab: Lab, b: Backend): Promise<SocketRun> {
  const socket = socketOf(b);
  const replies = await traffic({ count: 10, concurrency: 2 });
  const since = b.events.length;
  const oldPid = b.currentPid();
  if (oldPid === undefined) throw new Error(`${b.info.name} is not running`);
  process.kill(oldPid, "SIGHUP");
  const e = await b.next("exited", { since, pred: (x) => x.pid === oldPid });
  if (e.result !== "exit-code")
    throw new Error(`${b.info.name} exited with result '${e.result}', not 'exit-code'`);
  if (existsSync(socket)) throw new Error(`${socket} outlived its process`);
  replies.push(...(await untilMissing(lab, socket)), ...(await traffic({ count: 6, concurrency: 2 })));
  const evidence = [
    await awaitSocketErrorLine(lab, socket, "missing"),
    await journalLine(b, /Failed with result 'exit-code'\./),
  ];
  if (b.events.slice(since).some((x) => x.event === "spawned"))
    throw new Error(`${b.info.name} was started again, though its unit has Restart=no`);
  return { replies, evidence, exit: { code: e.code, signal: e.signal, result: e.result } };
}

/**
 * socket-crash-restart: the Nth request hits the app's bug (an uncaught TypeError mid-request: nginx sees a
 * premature close), the socket goes with the process, and the stand-in starts it again after RestartSec.
 */
export async function socketCrashRestart(lab: Lab, b: Backend): Promise<SocketRun> {
  const socket = socketOf(b);
  const since = b.events.length;
  const oldPid = b.currentPid();
  if (oldPid === undefined) throw new Error(`${b.info.name} is not running`);
  let down = false;
  const exited = b.next("exited", { since, pred: (x) => x.pid === oldPid });
  void exited.then(
    () => {
      down = true;
    },
    () => undefined,
  );
  // Round robin: the failing backend's Nth request comes within N rounds.
  const peers = lab.nginx.servers().length;
  const before = traffic({ count: FAIL_AFTER * peers + 10, concurrency: 2, stopWhen: () => down });
  const e = await exited;
  if (e.result !== "exit-code")
    throw new Error(`${b.info.name} exited with result '${e.result}', not 'exit-code'`);
  // Sent at once, inside the restart delay.
  const [replies, whileDown] = await Promise.all([before, untilMissing(lab, socket)]);
  await b.next("ready", { since, pred: (x) => x.pid !== oldPid });
  if (!existsSync(socket)) throw new Error(`${socket} is missing though ${b.info.name} runs again`);
  const after = await traffic({ count: 6, concurrency: 2 });
  const evidence = [
    await awaitSocketErrorLine(lab, socket, "prematureClose"),
    await awaitSocketErrorLine(lab, socket, "missing"),
    await journalLine(b, /Scheduled restart job, restart counter is at 1\./),
  ];
  return {
    replies: [...replies, ...whileDown, ...after],
    evidence,
    exit: { code: e.code, signal: e.signal, result: e.result },
  };
}
