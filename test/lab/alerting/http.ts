import { createServer } from "node:net";
import type { z } from "zod";

/** A port nothing listens on at `host` right now (the kernel's pick; the daemon binds it moments later). */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error(`no free port on ${host}`))));
    });
  });
}

/** GET a JSON document; undefined while the server does not answer, answers other than 2xx, or otherwise. */
export async function getJson<S extends z.ZodType>(url: string, schema: S): Promise<z.infer<S> | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) return undefined;
    const parsed = schema.safeParse(await res.json());
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** True once `url` answers 2xx (a daemon's `/-/ready`). */
export async function answersOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}
