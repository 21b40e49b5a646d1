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
