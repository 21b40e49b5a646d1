import type { ResolvedHost } from "./hosts.js";
import type { Transport } from "./transport.js";

/** What collection reports, needs and is asked. */
export interface Progress {
  host: string;
  state: "connecting" | "collecting" | "done" | "failed";
  done: number;
  total: number;
  detail?: string;
}

export interface CollectDeps {
  resolve(name: string): ResolvedHost;
  connect(host: ResolvedHost, timeoutMs: number): Promise<Transport>;
  now(): number;
  nonce(): string;
  onProgress?: (p: Progress) => void;
  /** IP addresses a backend's host name resolves to; nginx logs IPs, inventories often name hosts. */
  lookup?: (name: string) => Promise<string[]>;
}

export interface CollectOptions {
  service: string;
  sinceMs: number;
  deadlineMs?: number;
}
