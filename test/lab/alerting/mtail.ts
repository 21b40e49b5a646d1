import { copyFile, mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { z } from "zod";
import { type Daemon, startDaemon } from "./daemon.js";
import { freePort, getJson } from "./http.js";

export const MTAIL = "/usr/bin/mtail";
/** The program that reads the lab's main_ext access log (beside this file). */
export const MTAIL_PROGRAM = new URL("./nginx.mtail", import.meta.url).pathname;

export interface MtailOptions {
  /** created; holds progs/ and mtail.log */
  dir: string;
  host: string;
  accessLog: string;
  /** how often the log is read for new lines (mtail 3.0.0-rc50 polls; its default is 250ms) */
  pollInterval?: string;
}

export interface Mtail extends Daemon {
  url: string;
}

/** mtail's expvars (`/debug/vars`): which programs loaded and which logs it has opened. */
const MtailVars = z.object({
  prog_loads_total: z.record(z.string(), z.number()).default({}),
  log_opens_total: z.record(z.string(), z.number()).default({}),
});

/**
 * Starts mtail on the access log. It seeks to the end of a log it finds at start, so it is ready only once
 * it has the log open (its expvar `log_opens_total`): lines written before that are never counted.
 */
export async function startMtail(opts: MtailOptions): Promise<Mtail> {
  const progs = join(opts.dir, "progs");
  await mkdir(progs, { recursive: true });
  await copyFile(MTAIL_PROGRAM, join(progs, "nginx.mtail"));
  const accessLog = resolve(opts.accessLog);
  const port = await freePort(opts.host);
  const url = `http://${opts.host}:${port}`;
  const daemon = await startDaemon({
    name: "mtail",
    binary: MTAIL,
    args: [
      "--progs",
      progs,
      "--logs",
      accessLog,
      "--address",
      opts.host,
      "--port",
      String(port),
      `--poll_interval=${opts.pollInterval ?? "50ms"}`,
      "--emit_prog_label=false",
      "--logtostderr",
    ],
    logPath: join(opts.dir, "mtail.log"),
    cwd: opts.dir,
    ready: async () => {
      const vars = await getJson(`${url}/debug/vars`, MtailVars);
      const loaded = (vars?.prog_loads_total["nginx.mtail"] ?? 0) > 0;
      const open = (vars?.log_opens_total[accessLog] ?? 0) > 0;
      return loaded && open ? true : undefined;
    },
  });
  return { ...daemon, url };
}
