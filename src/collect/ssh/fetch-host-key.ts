import { NodeSSH } from "node-ssh";
import { TransportError } from "../transport.js";
import { blobKeyType, fingerprint, isKeyType, type KeyType, knownHostsLine } from "./known-hosts.js";
import { asSsh2Error } from "./ssh2-types.js";
import { openTcp, peerLabel } from "./tcp-connect.js";

export interface FetchedHostKey {
  keyType: KeyType;
  keyBlob: Buffer;
  /** `SHA256:...`, as `ssh-keygen -lf` prints it */
  fingerprint: string;
  /** ready to append to known_hosts: `[host]:port ssh-ed25519 AAAA...` (bare host on port 22) */
  knownHostsLine: string;
}

const PREFERRED = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"];

/**
 * Runs the key exchange only far enough to see the host key, then refuses it, so nothing is ever
 * authenticated. The key is what the network path presented: compare its fingerprint with the host's
 * own (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on its console) before pinning it.
 */
export async function fetchHostKey(
  host: string,
  port: number,
  timeoutMs: number,
  opts: { keyTypes?: string[] } = {},
): Promise<FetchedHostKey> {
  const peer = { name: host, host, port };
  const label = peerLabel(peer);
  const started = Date.now();
  const sock = await openTcp(peer, timeoutMs);
  let captured: Buffer | undefined;
  const ssh = new NodeSSH();
  try {
    await ssh.connect({
      sock,
      username: "why502-hostkey-probe",
      readyTimeout: Math.max(1, timeoutMs - (Date.now() - started)),
      hostVerifier: (key: Buffer) => {
        captured = Buffer.from(key);
        return false;
      },
      algorithms: {
        serverHostKey: opts.keyTypes ?? [...PREFERRED, "rsa-sha2-512", "rsa-sha2-256"],
      },
    });
  } catch (e) {
    if (captured === undefined) {
      const err = asSsh2Error(e);
      const code = err.level === "client-timeout" ? "timeout" : "error";
      const why =
        err.level === "client-timeout"
          ? `did not complete the SSH key exchange within ${timeoutMs} ms`
          : `could not complete the SSH key exchange: ${err.message}`;
      throw new TransportError(code, host, `${label} ${why}.`, { cause: err });
    }
  } finally {
    sock.destroy();
    ssh.dispose();
  }
  if (captured === undefined) {
    throw new TransportError("error", host, `${label} completed a login without showing a host key.`);
  }
  const keyType = blobKeyType(captured);
  if (keyType === undefined || !isKeyType(keyType)) {
    throw new TransportError("error", host, `${label} presented a host key of unsupported type ${keyType}.`);
  }
  return {
    keyType,
    keyBlob: captured,
    fingerprint: fingerprint(captured),
    knownHostsLine: knownHostsLine(host, port, captured),
  };
}
