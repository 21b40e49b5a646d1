// Scenario gunicorn-oom: the kernel OOM-kills gunicorn's worker in the service's memory cgroup, its master
// logs the signal 9 and boots another worker, and keeps running itself.
import { readFile } from "node:fs/promises";
import type { Backend } from "./backend.js";
import { awaitErrorLine, awaitOomKillLine } from "./evidence.js";
import type { Lab } from "./lab.js";
import { childrenOf } from "./procs.js";
import { GATEWAY_ADDRESS, GATEWAY_PORT } from "./scenario-plan.js";
import { type Reply, sendTraffic } from "./traffic.js";
import { waitUntil } from "./wait.js";

export interface GunicornOom {
  replies: Reply[];
  evidence: string[];
  /** the worker the kernel killed, and the master that outlived it */
  workerPid: number;
  masterPid: number;
}

const traffic = (count: number, path?: string) =>
  sendTraffic({
    host: GATEWAY_ADDRESS,
    port: GATEWAY_PORT,
    count,
    concurrency: 2,
    ...(path === undefined ? {} : { path: () => path }),
  });

/** gunicorn's one worker, once the master has booted it. */
function workerOf(masterPid: number, not?: number): Promise<number> {
  return waitUntil(() => childrenOf(masterPid).find((p) => p !== not), {
    what: `a worker of gunicorn's master ${masterPid}`,
  });
}

/** The last line of the backend's log matching `re`, once there is one. */
function logLine(b: Backend, re: RegExp): Promise<string> {
  return waitUntil(
    async () => (await readFile(b.info.logPath, "utf8")).split("\n").findLast((l) => re.test(l)) || undefined,
    { what: `${re} in ${b.info.logPath}` },
  );
}

/**
 * Requests flow, then /leak reaches the gunicorn backend (round robin: one per peer) and its worker grows until
 * the kernel kills it; nginx sees the connection close mid-request. The master boots a new worker that answers.
 */
export async function gunicornOom(lab: Lab, b: Backend): Promise<GunicornOom> {
  const masterPid = b.currentPid();
  if (masterPid === undefined) throw new Error(`${b.info.name} is not running`);
  const workerPid = await workerOf(masterPid);
  const replies = await traffic(6);
  replies.push(...(await traffic(lab.nginx.servers().length, "/leak")));
  const evidence = [await awaitOomKillLine(workerPid)];
  evidence.push(await logLine(b, new RegExp(`Worker with pid ${workerPid} was terminated due to signal 9`)));
  await workerOf(masterPid, workerPid);
  evidence.push(await awaitErrorLine(lab, b.info.target, "prematureClose"));
  replies.push(...(await traffic(6)));
  if (b.currentPid() !== masterPid)
    throw new Error(`gunicorn's master ${masterPid} did not outlive its worker`);
  return { replies, evidence, workerPid, masterPid };
}
