import { readFile as fsReadFile } from "node:fs/promises";
import type { Duplex } from "node:stream";
import { NodeSSH } from "node-ssh";
import { OutputCap } from "../output-cap.js";
import { SHELL_COMMAND, shellInput } from "../shell-input.js";
import {
  type ExecOptions,
  type ExecResult,
  type SshTarget,
  type Transport,
  TransportError,
} from "../transport.js";
import {
  type KeyType,
  type KnownHostEntry,
  knownHostsLine,
  knownKeyTypes,
  parseKnownHosts,
  verifyHostKey,
} from "./known-hosts.js";
import type { Lookup } from "./resolve.js";
import { planAuth } from "./ssh-auth.js";
import { connectError, forwardError, type Seen, viaBastion } from "./ssh-errors.js";
import { asSsh2Error, type Ssh2Channel, type Ssh2Client } from "./ssh2-types.js";
import { openTcp, type Peer, peerLabel } from "./tcp-connect.js";

export interface ConnectDeps {
  /** reads known_hosts and identity files (utf8); defaults to fs */
  readFile?: (path: string) => Promise<string>;
  /** clock for budgets and durations, in ms */
  now?: () => number;
  /** resolves host names; defaults to the system's resolver (resolve.ts) */
  lookup?: Lookup;
}

/** OpenSSH's default order, without SHA-1 `ssh-rsa` signatures (disabled by OpenSSH since 8.8). */
const HOST_KEY_ALGORITHMS = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "rsa-sha2-512",
  "rsa-sha2-256",
];

/** Channels open at once on one connection; OpenSSH's MaxSessions defaults to 10. */
const MAX_CHANNELS = 6;

const CLOSE_GRACE_MS = 2000;

/**
 * Connects, verifies the host key against known_hosts and logs in, all within
 * `target.connectTimeoutMs`. Through `target.jump` (recursively, so chains work) the TCP connection is
 * a direct-tcpip channel on the bastion's own verified connection.
 */
export async function connectSsh(target: SshTarget, deps: ConnectDeps = {}): Promise<SshTransport> {
  const now = deps.now ?? Date.now;
  const readFile = deps.readFile ?? ((p: string) => fsReadFile(p, "utf8"));
  const started = now();
  const remaining = () => Math.max(1, target.connectTimeoutMs - (now() - started));
  const label = peerLabel(target);

  const knownHosts = await loadKnownHosts(target.knownHostsFiles, readFile);
  const auth = await planAuth(target, readFile);

  let jump: SshTransport | undefined;
  let sock: Duplex;
  if (target.jump) {
    try {
      jump = await connectSsh(target.jump, deps);
      sock = await jump.forwardOut(target, remaining());
    } catch (e) {
      await jump?.close();
      throw viaBastion(target, e);
    }
  } else {
    sock = await openTcp(target, remaining(), target.connectTimeoutMs, deps.lookup);
  }

  const seen: Seen = { trustedOnFirstUse: false };
  const hostVerifier = (key: Buffer): boolean => {
    const verdict = verifyHostKey(knownHosts.entries, target.host, target.port, key);
    seen.verdict = verdict;
    seen.line = knownHostsLine(target.host, target.port, key);
    if (verdict.ok) return true;
    if (verdict.code === "host_key_unknown" && target.insecureAcceptUnknown === true) {
      seen.trustedOnFirstUse = true;
      return true;
    }
    return false;
  };

  const ssh = new NodeSSH();
  try {
    await ssh.connect({
      sock,
      username: target.user,
      readyTimeout: remaining(),
      authHandler: auth.methods,
      hostVerifier,
      algorithms: {
        serverHostKey: hostKeyAlgorithms(knownKeyTypes(knownHosts.entries, target.host, target.port)),
      },
      keepaliveInterval: 15_000,
      keepaliveCountMax: 3,
    });
  } catch (e) {
    sock.destroy();
    ssh.dispose();
    await jump?.close();
    throw connectError(target, asSsh2Error(e), {
      label,
      seen,
      knownHostsRead: knownHosts.read,
      offered: auth.offered,
    });
  }
  const hostKey = {
    fingerprint: seen.verdict?.fingerprint ?? "",
    line: seen.line ?? "",
    trustedOnFirstUse: seen.trustedOnFirstUse,
  };
  return new SshTransport(target, ssh, jump, hostKey, now);
}

export class SshTransport implements Transport {
  readonly host: string;
  /** SHA256 fingerprint of the host key the server proved it holds */
  readonly hostKeyFingerprint: string;
  /** the key was not in known_hosts and was accepted only because the target opts in to TOFU */
  readonly trustedOnFirstUse: boolean;
  /** `[host]:port type base64` of the key accepted, for the caller to pin after trust on first use */
  readonly hostKeyLine: string;
  private readonly client: Ssh2Client;
  private readonly label: string;
  private lost = false;
  private closed = false;
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    target: SshTarget,
    private readonly ssh: NodeSSH,
    private readonly jump: SshTransport | undefined,
    hostKey: { fingerprint: string; line: string; trustedOnFirstUse: boolean },
    private readonly now: () => number,
  ) {
    this.host = target.name;
    this.label = peerLabel(target);
    this.hostKeyFingerprint = hostKey.fingerprint;
    this.trustedOnFirstUse = hostKey.trustedOnFirstUse;
    this.hostKeyLine = hostKey.line;
    const client: Ssh2Client | null = ssh.connection;
    if (!client)
      throw new TransportError("error", this.host, `The connection to ${this.label} closed at once.`);
    this.client = client;
    // After `ready` node-ssh no longer listens for errors; an unheard 'error' event would crash.
    client.on("error", () => {});
    client.on("close", () => {
      this.lost = true;
    });
  }

  async exec(script: string, opts: ExecOptions): Promise<ExecResult> {
    this.assertUsable();
    await this.acquire();
    try {
      this.assertUsable();
      return await this.run(script, opts);
    } finally {
      this.release();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.lost) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.client.destroy();
          resolve();
        }, CLOSE_GRACE_MS);
        this.client.once("close", () => {
          clearTimeout(timer);
          resolve();
        });
        this.ssh.dispose();
      });
    }
    await this.jump?.close();
  }

  /** A direct-tcpip channel from this host to `dest` (the ProxyJump / `ssh -W` mechanism). */
  forwardOut(dest: Peer, timeoutMs: number): Promise<Ssh2Channel> {
    const destLabel = `${dest.host}:${dest.port}`;
    return new Promise((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        reject(
          new TransportError(
            "unreachable",
            dest.name,
            `Bastion ${this.label} could not open a connection to ${destLabel} within ${timeoutMs} ms.`,
          ),
        );
      }, timeoutMs);
      const done = (err: Error | undefined, channel: Ssh2Channel | undefined) => {
        clearTimeout(timer);
        if (settled) {
          channel?.close();
          return;
        }
        settled = true;
        if (channel) resolve(channel);
        else reject(forwardError(this.label, dest, asSsh2Error(err)));
      };
      try {
        this.client.forwardOut("127.0.0.1", 0, dest.host, dest.port, done);
      } catch (e) {
        done(asSsh2Error(e), undefined);
      }
    });
  }

  private run(script: string, opts: ExecOptions): Promise<ExecResult> {
    const started = this.now();
    const cap = new OutputCap(opts.maxBytes);
    return new Promise((resolve, reject) => {
      let channel: Ssh2Channel | undefined;
      let settled = false;
      let exitCode: number | null = null;
      let signal: string | undefined;
      const result = (): ExecResult => {
        const r: ExecResult = {
          ...cap.text(),
          exitCode,
          durationMs: this.now() - started,
          truncated: cap.truncated,
        };
        if (signal !== undefined) r.signal = signal;
        return r;
      };
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn();
      };
      // Closing the channel closes the script's stdin on the host, which its watchdog answers by
      // killing the script's process group (see shellInput).
      const kill = () => channel?.close();
      const timer = setTimeout(
        () =>
          settle(() => {
            kill();
            const partial = result();
            const msg = `The command on ${this.label} did not finish within ${opts.timeoutMs} ms and was killed (${cap.byteCount} bytes read).`;
            reject(new TransportError("timeout", this.host, msg, { partial }));
          }),
        opts.timeoutMs,
      );
      const onData = (stream: "stdout" | "stderr") => (chunk: Buffer) => {
        if (settled || cap.add(stream, chunk)) return;
        settle(() => {
          kill();
          resolve(result());
        });
      };
      const opened = (err: Error | undefined, ch: Ssh2Channel | undefined) => {
        if (!ch) {
          const e = asSsh2Error(err);
          const code = this.lost ? "unreachable" : "error";
          const why = this.lost ? "the connection was lost" : e.message;
          settle(() =>
            reject(
              new TransportError(code, this.host, `Could not start a command on ${this.label}: ${why}.`),
            ),
          );
          return;
        }
        if (settled) {
          ch.close();
          return;
        }
        channel = ch;
        ch.on("error", () => {});
        ch.on("data", onData("stdout"));
        ch.stderr.on("data", onData("stderr"));
        ch.on("exit", (code: number | null, sig?: string) => {
          exitCode = typeof code === "number" ? code : null;
          if (typeof sig === "string") signal = sig;
        });
        ch.on("close", () =>
          settle(() => {
            if (this.lost && exitCode === null && signal === undefined) {
              const msg = `The connection to ${this.label} was lost while a command was running.`;
              reject(new TransportError("unreachable", this.host, msg, { partial: result() }));
            } else {
              resolve(result());
            }
          }),
        );
        // stdin stays open: its EOF is what tells the host-side watchdog to kill the script.
        ch.write(shellInput(script, opts.stdin));
      };
      try {
        this.client.exec(SHELL_COMMAND, opened);
      } catch (e) {
        opened(asSsh2Error(e), undefined);
      }
    });
  }

  private assertUsable(): void {
    if (this.closed)
      throw new TransportError("error", this.host, `The connection to ${this.label} is already closed.`);
    if (this.lost)
      throw new TransportError("unreachable", this.host, `The connection to ${this.label} was lost.`);
  }

  private async acquire(): Promise<void> {
    if (this.active < MAX_CHANNELS) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}

interface LoadedKnownHosts {
  entries: KnownHostEntry[];
  read: string[];
  missing: string[];
}

async function loadKnownHosts(
  files: readonly string[],
  readFile: (path: string) => Promise<string>,
): Promise<LoadedKnownHosts> {
  const out: LoadedKnownHosts = { entries: [], read: [], missing: [] };
  for (const path of files) {
    try {
      out.entries.push(...parseKnownHosts(await readFile(path), path).entries);
      out.read.push(path);
    } catch {
      out.missing.push(path);
    }
  }
  return out;
}

/** Known key types first (so a server holding several keys shows the pinned one), then the defaults. */
function hostKeyAlgorithms(known: readonly KeyType[]): string[] {
  const first = known.flatMap((t) => (t === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256"] : [t]));
  return [...new Set([...first, ...HOST_KEY_ALGORITHMS])];
}
