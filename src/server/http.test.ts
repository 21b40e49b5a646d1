import { request } from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { afterEach, expect, it } from "vitest";
import { createHttpServer } from "./http.js";
import { createMetrics } from "./metrics.js";

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

it("keeps idle connections longer than a load balancer's 60 s idle timeout, and says so in Keep-Alive", async () => {
  const server = createHttpServer({
    log: pino({ level: "silent" }),
    metrics: createMetrics(async () => 0),
    readiness: async () => ({ ready: true, checks: {} }),
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  close = () => {
    server.closeAllConnections();
    return new Promise((r) => server.close(() => r()));
  };
  const { port } = server.address() as AddressInfo;
  const header = await new Promise<string | undefined>((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path: "/healthz", headers: { connection: "keep-alive" } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.headers["keep-alive"] as string | undefined));
      },
    );
    req.on("error", reject);
    req.end();
  });
  expect(header).toBe("timeout=65");
  expect(server.headersTimeout).toBeGreaterThan(server.keepAliveTimeout);
});
