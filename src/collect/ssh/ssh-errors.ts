import { isTransportError, type SshTarget, TransportError } from "../transport.js";
import type { HostKeyVerdict } from "./known-hosts.js";
import { asSsh2Error, type Ssh2Error } from "./ssh2-types.js";
import { type Peer, peerLabel } from "./tcp-connect.js";

/** What connectSsh saw of the host key during the handshake. */
export interface Seen {
  verdict?: HostKeyVerdict;
  line?: string;
  trustedOnFirstUse: boolean;
}

export interface ConnectContext {
  label: string;
  seen: Seen;
  /** known_hosts files that could be read */
  knownHostsRead: string[];
  offered: string[];
}

export function connectError(target: SshTarget, e: Ssh2Error, ctx: ConnectContext): TransportError {
  const { label, seen } = ctx;
  const v = seen.verdict;
  if (v && !v.ok && !seen.trustedOnFirstUse) return hostKeyError(target, v, ctx);
  if (e.level === "client-authentication") {
    return new TransportError(
      "auth_failed",
      target.name,
      `${label} refused the login as ${target.user}: none of ${ctx.offered.join(", ")} was accepted.`,
      { cause: e },
    );
  }
  if (e.level === "client-timeout") {
    const msg = v
      ? `${label} did not finish the SSH login within ${target.connectTimeoutMs} ms.`
      : `${label} accepted the TCP connection but did not complete the SSH handshake within ${target.connectTimeoutMs} ms.`;
    return new TransportError("timeout", target.name, msg, { cause: e });
  }
  if (/^(Connection lost before handshake|No response from server)$/.test(e.message)) {
    return new TransportError(
      "error",
      target.name,
      `${label} closed the connection before the SSH handshake finished (not an SSH server, or sshd turning connections away).`,
      { cause: e },
    );
  }
  return new TransportError("error", target.name, `SSH to ${label} failed: ${e.message}.`, { cause: e });
}

function hostKeyError(
  target: SshTarget,
  v: Exclude<HostKeyVerdict, { ok: true }>,
  ctx: ConnectContext,
): TransportError {
  const { label } = ctx;
  const files =
    ctx.knownHostsRead.length > 0 ? ctx.knownHostsRead.join(", ") : "no readable known_hosts file";
  const extra = { fingerprint: v.fingerprint };
  if (v.code === "host_key_revoked") {
    return new TransportError(
      "host_key_revoked",
      target.name,
      `${label} presented host key ${v.fingerprint}, which known_hosts marks @revoked; refusing to connect.`,
      extra,
    );
  }
  if (v.code === "host_key_mismatch") {
    const where = v.known.map((k) => `${k.source}:${k.line}`).join(", ");
    return new TransportError(
      "host_key_mismatch",
      target.name,
      `${label} presented host key ${v.fingerprint}, which differs from the key pinned in ${where}; refusing to connect (the host was rebuilt, or someone is intercepting the connection).`,
      extra,
    );
  }
  return new TransportError(
    "host_key_unknown",
    target.name,
    `${label} presented host key ${v.fingerprint}, which is not in known_hosts (${files}); check it out of band and pin it with "why502 hosts fingerprint ${target.name}".`,
    extra,
  );
}

export function forwardError(bastion: string, dest: Peer, e: Ssh2Error): TransportError {
  const destLabel = `${dest.host}:${dest.port}`;
  if (e.reason === 1) {
    return new TransportError(
      "error",
      dest.name,
      `Bastion ${bastion} refused to forward to ${destLabel} (TCP forwarding is prohibited there).`,
      { cause: e },
    );
  }
  const why = e.message.replace(/^\(SSH\) Channel open failure: /, "");
  return new TransportError(
    "unreachable",
    dest.name,
    `Bastion ${bastion} could not connect to ${destLabel}: ${why}.`,
    { cause: e },
  );
}

export function viaBastion(target: SshTarget, e: unknown): TransportError {
  if (isTransportError(e) && e.host === target.name) return e;
  const bastion = target.jump ? peerLabel(target.jump) : "the bastion";
  if (isTransportError(e)) {
    const extra = e.fingerprint === undefined ? { cause: e } : { cause: e, fingerprint: e.fingerprint };
    return new TransportError(
      e.code,
      target.name,
      `Cannot reach ${target.name} through bastion ${bastion}: ${e.message}`,
      extra,
    );
  }
  const msg = `Cannot reach ${target.name} through bastion ${bastion}: ${asSsh2Error(e).message}.`;
  return new TransportError("error", target.name, msg, { cause: e });
}
