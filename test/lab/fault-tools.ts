import { execFileSync } from "node:child_process";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { chmodSync, chownSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { groupId } from "./lab-user.js";

// What the fault tests use to reach into a running collection: named pipes, who holds a file open, a process's
// name and parent, and a DNS resolver that never answers.

/** A named pipe the lab user can read; opening it for writing resolves once a reader has opened it. */
export async function fifo(path: string): Promise<string> {
  execFileSync("mkfifo", ["-m", "0640", path]);
  chownSync(path, 0, await groupId("adm"));
  chmodSync(path, 0o640);
  return path;
}

/** Pids of the processes holding `path` open, read from /proc. */
export function holders(path: string): number[] {
  const out: number[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const fds = readdirSync(`/proc/${pid}/fd`);
      if (fds.some((fd) => readlinkSync(`/proc/${pid}/fd/${fd}`) === path)) out.push(Number(pid));
    } catch {
      // exited, or not ours to read
    }
  }
  return out;
}

export function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

export function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

/** A UDP socket on port 53 that reads DNS queries and never answers; records the names asked. */
export async function silentResolver(address: string): Promise<{ socket: UdpSocket; asked: string[] }> {
  const socket = createSocket("udp4");
  const asked: string[] = [];
  socket.on("message", (m) => {
    const labels: string[] = [];
    for (let i = 12; i < m.length && m[i] !== 0; i += (m[i] as number) + 1)
      labels.push(m.subarray(i + 1, i + 1 + (m[i] as number)).toString("ascii"));
    asked.push(labels.join("."));
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(53, address, () => resolve());
  });
  return { socket, asked };
}
