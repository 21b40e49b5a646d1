import { connect, isIP, type Socket } from "node:net";
import { TransportError } from "../transport.js";
import { type Lookup, resolveWithin, systemLookup } from "./resolve.js";

export interface Peer {
  /** inventory name, used as TransportError.host */
  name: string;
  host: string;
  port: number;
}

/** `app1 (10.0.0.5:22)`, or just `10.0.0.5:22` when the name is the address. */
export function peerLabel(p: Peer): string {
  const addr = p.host.includes(":") ? `[${p.host}]:${p.port}` : `${p.host}:${p.port}`;
  return p.name === p.host ? addr : `${p.name} (${addr})`;
}

/**
 * Opens the TCP connection on its own, so "no answer" and "no SSH handshake" get different codes.
 * `statedMs` is the timeout named in the message (the whole connect budget, of which `timeoutMs` is
 * what is left).
 */
export async function openTcp(
  peer: Peer,
  timeoutMs: number,
  statedMs = timeoutMs,
  lookup: Lookup = systemLookup,
): Promise<Socket> {
  const started = Date.now();
  const address = isIP(peer.host) !== 0 ? peer.host : await resolvePeer(peer, timeoutMs, statedMs, lookup);
  const left = Math.max(1, timeoutMs - (Date.now() - started));
  return connectTo(peer, address, left, statedMs);
}

/** The peer's first address; a name that does not resolve in time is a failure naming it. */
async function resolvePeer(peer: Peer, timeoutMs: number, statedMs: number, lookup: Lookup): Promise<string> {
  const label = peerLabel(peer);
  let found: string[] | "timeout";
  try {
    found = await resolveWithin(peer.host, timeoutMs, lookup);
  } catch (e) {
    throw socketError(peer, e as NodeJS.ErrnoException);
  }
  if (found === "timeout")
    throw new TransportError(
      "unreachable",
      peer.name,
      `${label} is unreachable: the name ${peer.host} could not be resolved within ${statedMs} ms (the DNS resolver did not answer).`,
    );
  const first = found[0];
  if (first === undefined)
    throw new TransportError(
      "unreachable",
      peer.name,
      `${label} is unreachable: the name ${peer.host} does not resolve.`,
    );
  return first;
}

function connectTo(peer: Peer, address: string, timeoutMs: number, statedMs: number): Promise<Socket> {
  const label = peerLabel(peer);
  return new Promise((resolve, reject) => {
    const sock = connect({ host: address, port: peer.port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new TransportError("unreachable", peer.name, `${label} did not answer within ${statedMs} ms.`));
    }, timeoutMs);
    sock.once("connect", () => {
      clearTimeout(timer);
      sock.removeAllListeners("error");
      // ssh2 adds its own listener once it takes the socket; until then an error must not crash.
      sock.on("error", () => {});
      resolve(sock);
    });
    sock.once("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      sock.destroy();
      reject(socketError(peer, e));
    });
  });
}

function socketError(peer: Peer, e: NodeJS.ErrnoException): TransportError {
  const label = peerLabel(peer);
  const why: Record<string, string> = {
    ECONNREFUSED: `${label} refused the connection (nothing listens on port ${peer.port}).`,
    EHOSTUNREACH: `${label} is unreachable (no route to host).`,
    ENETUNREACH: `${label} is unreachable (network unreachable).`,
    ETIMEDOUT: `${label} did not answer (connection timed out).`,
    ENOTFOUND: `${label} is unreachable: the name ${peer.host} does not resolve.`,
    EAI_AGAIN: `${label} is unreachable: the name ${peer.host} could not be resolved (DNS not answering).`,
  };
  const message = (e.code && why[e.code]) ?? `${label} could not be reached: ${e.message}.`;
  return new TransportError("unreachable", peer.name, message, { cause: e });
}
