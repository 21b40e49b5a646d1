import type { EventEmitter } from "node:events";
import type { Duplex, Readable } from "node:stream";

/*
 * The few parts of ssh2 1.17 this module uses. ssh2 ships no type declarations (and @types/ssh2 is
 * not installed), so node-ssh's `connection` is untyped; these interfaces name what we rely on.
 */

export interface Ssh2Channel extends Duplex {
  stderr: Readable;
  close(): void;
}

export type ChannelCallback = (err: Error | undefined, channel: Ssh2Channel) => void;

export interface Ssh2Client extends EventEmitter {
  exec(command: string, cb: ChannelCallback): unknown;
  forwardOut(srcIP: string, srcPort: number, dstIP: string, dstPort: number, cb: ChannelCallback): unknown;
  end(): unknown;
  destroy(): unknown;
}

/** ssh2 marks where an error came from: client-socket, client-timeout, client-authentication, handshake... */
export interface Ssh2Error extends Error {
  level?: string;
  code?: string;
  /** channel open failure reason (1 prohibited, 2 connect failed, 3 unknown type, 4 resource shortage) */
  reason?: number | string;
}

export interface ParsedKey {
  type: string;
  isPrivateKey(): boolean;
}

export interface Ssh2Utils {
  parseKey(data: string | Buffer, passphrase?: string): ParsedKey | ParsedKey[] | Error;
}

export type AuthMethod =
  | { type: "publickey"; username: string; key: string }
  | { type: "agent"; username: string; agent: string };

export function asSsh2Error(e: unknown): Ssh2Error {
  return e instanceof Error ? e : new Error(String(e));
}
