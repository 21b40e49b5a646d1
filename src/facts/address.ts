import { posix } from "node:path";

/** Split `host:port`, `[v6]:port` or `unix:/path` into parts. */
export interface Endpoint {
  kind: "tcp" | "unix" | "group" | "name";
  host: string;
  port: number;
}

export function endpointOf(address: string): Endpoint {
  if (address.startsWith("unix:")) return { kind: "unix", host: address.slice(5), port: 0 };
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(address);
  if (v6?.[1] && v6[2]) return { kind: "tcp", host: v6[1], port: Number(v6[2]) };
  const v4 = /^([^:\s]+):(\d+)$/.exec(address);
  if (v4?.[1] && v4[2]) return { kind: "tcp", host: v4[1], port: Number(v4[2]) };
  return { kind: "group", host: address, port: 0 };
}

/** A socket path as the kernel resolves it: `.`, `..` and doubled slashes gone, `/var/run` as the `/run` it links to. */
function socketPath(p: string): string {
  const n = posix.normalize(p);
  return n === "/var/run" || n.startsWith("/var/run/") ? n.slice(4) : n;
}

/** Whether two socket paths name the same socket (nginx's `unix:` path and the config's `socket:`). */
export function sameSocket(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && socketPath(a) === socketPath(b);
}
