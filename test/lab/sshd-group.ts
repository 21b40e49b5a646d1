import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type StartSshdOptions, startSshd, type TestSshd } from "../support/sshd.js";

/** OpenSSH's compile-time MAX_LISTEN_SOCKS: one sshd listens on at most 16 addresses. */
export const MAX_LISTEN_SOCKS = 16;

export interface SshdGroup {
  instances: TestSshd[];
  port: number;
  user: string;
  addresses: string[];
  /** the user key every instance accepts (the first instance's) */
  userKeyPath: string;
  userPublicKey: string;
  /** one known_hosts file for every address (instances have different host keys, like distinct hosts) */
  knownHostsPath: string;
  stop(): Promise<void>;
}

/**
 * As many sshd instances as the addresses need (16 each). Later instances read the first one's
 * authorized_keys (sshd keeps the first AuthorizedKeysFile it reads), so one user key logs in everywhere.
 */
export async function startSshdGroup(
  opts: Omit<StartSshdOptions, "addresses"> & { addresses: string[]; dir: string },
): Promise<SshdGroup> {
  const chunks: string[][] = [];
  for (let i = 0; i < opts.addresses.length; i += MAX_LISTEN_SOCKS) {
    chunks.push(opts.addresses.slice(i, i + MAX_LISTEN_SOCKS));
  }
  const instances: TestSshd[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(instances.map((s) => s.stop()));
  };
  try {
    for (const [i, addresses] of chunks.entries()) {
      const first = instances[0];
      const extraConfig =
        i === 0 || first === undefined
          ? (opts.extraConfig ?? [])
          : [`AuthorizedKeysFile ${join(first.dir, "authorized_keys")}`, ...(opts.extraConfig ?? [])];
      const sshOpts: StartSshdOptions = { ...opts, addresses, extraConfig };
      instances.push(await startSshd(sshOpts));
    }
    const first = instances[0];
    if (first === undefined) throw new Error("startSshdGroup: no addresses");
    const knownHostsPath = instances.length === 1 ? first.knownHostsPath : join(opts.dir, "ssh_known_hosts");
    if (instances.length > 1) {
      const lines = instances.flatMap((s) =>
        s.addresses.map((a) => `${opts.port === 22 ? a : `[${a}]:${opts.port}`} ${s.hostPublicKey}\n`),
      );
      await writeFile(knownHostsPath, lines.join(""), { mode: 0o644 });
    }
    return {
      instances,
      port: opts.port,
      user: first.user,
      addresses: [...opts.addresses],
      userKeyPath: first.userKeyPath,
      userPublicKey: first.userPublicKey,
      knownHostsPath,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
