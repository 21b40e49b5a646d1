import { spawn } from "node:child_process";
import { buildScript, type SectionSpec } from "../../src/collect/script.js";
import { type SectionResult, splitSections } from "../../src/collect/sections.js";

/** Test helpers for the collection script: run it for real with `sh -s`, build specs and log lines. */

export const NONCE = "T3stN0nce0123456789";

export interface Run {
  stdout: string;
  stderr: string;
  code: number | null;
}

/**
 * Runs a script the way the transports do: `sh -s` with the script on stdin, in its own process
 * group. With `holdStdin`, stdin stays open until the shell exits, as a transport keeps the channel
 * open (shellInput()'s watchdog kills the group when its stdin ends).
 */
export function sh(
  script: string,
  opts: { env?: Record<string, string>; asNobody?: boolean; holdStdin?: boolean } = {},
): Promise<Run> {
  const argv = opts.asNobody
    ? ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "sh", "-s"]
    : ["sh", "-s"];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0] ?? "sh", argv.slice(1), {
      env: { ...process.env, ...opts.env },
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("exit", () => child.stdin.end());
    child.on("close", (code) =>
      resolve({
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        code,
      }),
    );
    if (opts.holdStdin) child.stdin.write(script);
    else child.stdin.end(script);
  });
}

export async function collect(
  sections: SectionSpec[],
  since: number,
  opts: { env?: Record<string, string>; asNobody?: boolean } = {},
): Promise<{ run: Run; get: (id: string) => SectionResult; incomplete: string[] }> {
  const run = await sh(buildScript(sections, { sinceEpochSeconds: since, nonce: NONCE }), opts);
  const { sections: map, incomplete } = splitSections(run.stdout, run.stderr, NONCE);
  return {
    run,
    incomplete,
    get: (id) => {
      const s = map.get(id);
      if (!s) throw new Error(`no section ${id}`);
      return s;
    },
  };
}

export const cmd = (id: string, shell: string, maxBytes = 65536, timeoutSeconds = 5): SectionSpec => ({
  id,
  type: "command",
  shell,
  maxBytes,
  timeoutSeconds,
});

export const logWin = (id: string, path: string, maxBytes = 4 << 20, rotated = true): SectionSpec => ({
  id,
  type: "log-window",
  path,
  maxBytes,
  rotated,
});

/** `YYYY/MM/DD HH:MM:SS` of an epoch second as wall time `offsetMin` east of UTC. */
export function wall(epoch: number, offsetMin: number, sep = "/"): string {
  const d = new Date((epoch + offsetMin * 60) * 1000).toISOString();
  return `${d.slice(0, 10).replaceAll("-", sep)} ${d.slice(11, 19)}`;
}

/** A real nginx error-log line (reference section 1), at a given wall time and connection number. */
export const nginxLine = (stamp: string, conn: number) =>
  `${stamp} [error] 6#6: *${conn} connect() failed (111: Connection refused) while connecting to upstream, client: 172.21.0.1, server: , request: "GET / HTTP/1.1", upstream: "http://172.21.0.19:9000/", host: "0.0.0.0:9000"\n`;

/** Lines without a timestamp: a Go panic's stack (reference section 7). */
export const TRACE = "goroutine 1 [running]:\nmain.main()\n\t/path/main.go:92 +0x153\n";

/** Wall-clock key `YYYYMMDDHHMMSS` of an epoch second at `offsetMin`. */
export const keyOf = (epoch: number, offsetMin: number) => wall(epoch, offsetMin).replace(/\D/g, "");
