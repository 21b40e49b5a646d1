/** What one script run on a host gave back. */
export interface ExecResult {
  stdout: string;
  stderr: string;
  /** null when the command was killed (signal set) or cut off at the byte cap */
  exitCode: number | null;
  signal?: string;
  durationMs: number;
  /** stdout + stderr reached maxBytes; reading stopped and the command was killed */
  truncated: boolean;
}

export interface ExecOptions {
  timeoutMs: number;
  /** cap on stdout + stderr together, in bytes */
  maxBytes: number;
  /** extra input sent after the script (the script itself is the shell's stdin) */
  stdin?: string;
}

/**
 * A host that runs read-only scripts. exec() resolves for any exit status; it rejects with a
 * TransportError: `timeout` (the error's `partial` holds what was read so far) or a connection-level
 * code when the host went away.
 */
export interface Transport {
  readonly host: string;
  exec(script: string, opts: ExecOptions): Promise<ExecResult>;
  close(): Promise<void>;
}

export type TransportErrorCode =
  | "unreachable"
  | "auth_failed"
  | "host_key_unknown"
  | "host_key_mismatch"
  | "host_key_revoked"
  | "timeout"
  | "error";

/** One clear sentence naming the host and, for host key problems, the SHA256 fingerprint. */
export class TransportError extends Error {
  readonly code: TransportErrorCode;
  readonly host: string;
  readonly fingerprint: string | undefined;
  /** For an exec timeout: the output read before the deadline. */
  readonly partial: ExecResult | undefined;
  constructor(
    code: TransportErrorCode,
    host: string,
    message: string,
    extra: { fingerprint?: string; partial?: ExecResult; cause?: unknown } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = "TransportError";
    this.code = code;
    this.host = host;
    this.fingerprint = extra.fingerprint;
    this.partial = extra.partial;
  }
}

export function isTransportError(e: unknown): e is TransportError {
  return e instanceof TransportError;
}

export interface SshTarget {
  /** inventory or ssh_config alias; names the host in messages */
  name: string;
  host: string;
  port: number;
  user: string;
  identityFiles: string[];
  useAgent: boolean;
  agentSocket?: string;
  knownHostsFiles: string[];
  /** bastion to reach `host` through (a direct-tcpip channel on the bastion's connection) */
  jump?: SshTarget;
  /** budget for TCP connect + SSH handshake + authentication */
  connectTimeoutMs: number;
  /** explicit trust-on-first-use for this host; a changed or revoked key is still refused */
  insecureAcceptUnknown?: boolean;
}
