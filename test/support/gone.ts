import { readFileSync } from "node:fs";

/**
 * Polls a pid on this machine until it is dead; a zombie awaiting its reaper counts. Polling, because a
 * process that is not our child sends no event when it dies.
 */
export async function gone(pid: number, withinMs = 1500): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      return true;
    }
    if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}
