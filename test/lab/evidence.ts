import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import type { Lab } from "./lab.js";
import { waitUntil } from "./wait.js";

const execFileAsync = promisify(execFile);

export interface AccessEntry {
  line: string;
  status: number;
  /** $request_time, seconds */
  rt: number;
  /** $upstream_addr, e.g. "127.0.0.11:18080" */
  upstream: string;
  upstreamStatus: string;
}

const ACCESS = /" (\d{3}) \d+ .* rt=([\d.]+) .* ua="([^"]*)" us="([^"]*)"$/;

export async function accessEntries(lab: Lab): Promise<AccessEntry[]> {
  const text = await readFile(lab.nginx.accessLog, "utf8");
  return text
    .split("\n")
    .filter((l) => l !== "")
    .flatMap((line) => {
      const m = ACCESS.exec(line);
      if (m === null) return [];
      return [
        { line, status: Number(m[1]), rt: Number(m[2]), upstream: m[3] ?? "", upstreamStatus: m[4] ?? "" },
      ];
    });
}

/** Resolves once nginx has logged at least `count` requests (the log phase runs after the reply). */
export function awaitAccessCount(lab: Lab, count: number): Promise<AccessEntry[]> {
  return waitUntil(
    async () => {
      const entries = await accessEntries(lab);
      return entries.length >= count ? entries : undefined;
    },
    { what: `${count} lines in ${lab.nginx.accessLog}` },
  );
}

function linesFor(text: string, target: string | undefined): string[] {
  const lines = text.split("\n").filter((l) => l !== "");
  return target === undefined ? lines : lines.filter((l) => l.includes(`upstream: "http://${target}/`));
}

/** nginx error-log lines, all or those whose `upstream:` is that target */
export async function errorLines(lab: Lab, target?: string): Promise<string[]> {
  return linesFor(await readFile(lab.nginx.errorLog, "utf8"), target);
}

export function errorLinesSync(lab: Lab, target?: string): string[] {
  return linesFor(readFileSync(lab.nginx.errorLog, "utf8"), target);
}

export const ERROR_KINDS = {
  refused: /connect\(\) failed \(111: Connection refused\) while connecting to upstream/,
  reset: /recv\(\) failed \(104: Connection reset by peer\) while reading response header from upstream/,
  prematureClose: /upstream prematurely closed connection while reading response header from upstream/,
} as const;
export type ErrorKind = keyof typeof ERROR_KINDS;

export function awaitErrorLine(lab: Lab, target: string, kind: ErrorKind): Promise<string> {
  return waitUntil(async () => (await errorLines(lab, target)).find((l) => ERROR_KINDS[kind].test(l)), {
    what: `a ${kind} line for ${target} in ${lab.nginx.errorLog}`,
  });
}

export async function dmesg(): Promise<string> {
  const { stdout } = await execFileAsync("dmesg", [], { maxBuffer: 64 << 20 });
  return stdout;
}

/** The kernel's `Memory cgroup out of memory: Killed process <pid> (...)` line for that pid. */
export function awaitOomKillLine(pid: number): Promise<string> {
  const re = new RegExp(`out of memory: Killed process ${pid} \\(`);
  return waitUntil(async () => (await dmesg()).split("\n").find((l) => re.test(l)), {
    what: `the kernel's OOM kill line for pid ${pid}`,
  });
}
