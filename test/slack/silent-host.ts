import { type AddressInfo, createServer, type Server, type Socket } from "node:net";

/** A host that accepts TCP on 127.0.0.1 and never speaks SSH: collection waits for its connect timeout. */
export async function silentHost(): Promise<{
  port: number;
  connections: () => number;
  close: () => Promise<void>;
}> {
  const sockets: Socket[] = [];
  const server: Server = createServer((s) => sockets.push(s));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => sockets.length,
    close: async () => {
      for (const s of sockets.splice(0)) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
