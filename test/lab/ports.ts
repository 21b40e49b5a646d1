import { connect } from "node:net";

/** True when something accepts TCP connections on host:port. */
export function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => {
      s.destroy();
      resolve(false);
    });
  });
}

/** Throws naming every host:port already taken (another lab, or another program's server). */
export async function assertFree(endpoints: { host: string; port: number }[]): Promise<void> {
  const taken = (
    await Promise.all(endpoints.map(async (e) => ((await accepts(e.host, e.port)) ? e : undefined)))
  )
    .filter((e) => e !== undefined)
    .map((e) => `${e.host}:${e.port}`);
  if (taken.length > 0) throw new Error(`already in use: ${taken.join(", ")} (is another lab running?)`);
}
