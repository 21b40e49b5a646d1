import { existsSync, readdirSync, readFileSync } from "node:fs";
import { waitUntil } from "./wait.js";

/** True while the pid names a process that has not exited (a zombie counts as gone). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** The pids whose parent is `ppid`, read from /proc. */
export function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) === ppid) out.push(Number(entry));
    } catch {
      // exited while listing
    }
  }
  return out;
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Sends `sig`, awaits the exit, and sends SIGKILL to whatever is left after `graceMs`. */
export async function terminate(
  pids: number[],
  sig: NodeJS.Signals = "SIGTERM",
  graceMs = 5000,
): Promise<void> {
  const live = pids.filter(alive);
  for (const pid of live) signal(pid, sig);
  try {
    await waitUntil(() => (live.some(alive) ? undefined : true), {
      what: `exit of ${live.join(" ")}`,
      timeoutMs: graceMs,
    });
  } catch {
    for (const pid of live.filter(alive)) signal(pid, "SIGKILL");
    await waitUntil(() => (live.some(alive) ? undefined : true), {
      what: `exit of ${live.join(" ")} after SIGKILL`,
    });
  }
}

export function pidFromFile(path: string): number | undefined {
  if (!existsSync(path)) return undefined;
  const pid = Number(readFileSync(path, "utf8").trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}
