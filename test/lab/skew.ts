import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

/**
 * A lab host whose clock is off: that host's processes (nginx for the gateway; a backend's supervisor and
 * app) and every command its sshd runs (the collection script's `date`, `journalctl`, ...) see the wall
 * clock moved by `seconds`, through libfaketime (Debian package `faketime`). Its logs are stamped in that
 * clock, exactly as a real host with a wrong clock stamps them. The kernel's own clock is not moved: raw
 * dmesg stamps are uptime, and the host's boot time reads `date` minus /proc/uptime, so its dmesg lines
 * land in the host's clock too.
 */
export interface LabSkew {
  /** "gateway", or a backend's name ("checkout-1") */
  host: string;
  /** how far the host's clock is ahead (negative: behind) */
  seconds: number;
}

const LIB_DIRS = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"];

/** The libfaketime preload library, or an error saying which package to install. */
export function faketimeLibrary(): string {
  for (const base of LIB_DIRS) {
    const path = join(base, "faketime", "libfaketime.so.1");
    if (existsSync(path)) return path;
  }
  for (const entry of existsSync("/usr/lib") ? readdirSync("/usr/lib") : []) {
    const path = join("/usr/lib", entry, "faketime", "libfaketime.so.1");
    if (existsSync(path)) return path;
  }
  throw new Error("a skewed lab host needs libfaketime: apt-get install faketime");
}

/** The environment that moves a process's (and its children's) wall clock by `seconds`. */
export function skewEnv(seconds: number): Record<string, string> {
  if (!Number.isInteger(seconds)) throw new Error(`lab skew: ${seconds} is not a whole number of seconds`);
  return { LD_PRELOAD: faketimeLibrary(), FAKETIME: `${seconds >= 0 ? "+" : ""}${seconds}` };
}

/** sshd_config lines that run every session on `address` with the moved clock. */
export function skewSshdConfig(address: string, seconds: number): string[] {
  const env = skewEnv(seconds);
  return [`Match LocalAddress ${address}`, `  SetEnv LD_PRELOAD=${env.LD_PRELOAD} FAKETIME=${env.FAKETIME}`];
}
