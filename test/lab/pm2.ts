import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/**
 * PM2 comes from npm, not from Debian, and never into the repo: the lab installs it once into this cache
 * (world-readable, so the lab's SSH user can run `pm2 jlist`) and reuses it.
 */
export const PM2_CACHE = "/var/cache/why502-lab/pm2";
export const PM2_VERSION = "7";
export const PM2_BIN = join(PM2_CACHE, "node_modules", ".bin", "pm2");

async function readable(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await readable(p);
    else if (e.isFile()) await chmod(p, (await stat(p)).mode | 0o444);
  }
}

/** npm could not reach its registry: the one reason a PM2 scenario may be skipped rather than fail. */
export class Pm2Unreachable extends Error {}

const NETWORK = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|network|registry/i;

let installing: Promise<string> | undefined;

/** The pm2 binary, installed into PM2_CACHE with npm when it is not there yet. */
export function ensurePm2(): Promise<string> {
  installing ??= (async () => {
    if (existsSync(PM2_BIN)) return PM2_BIN;
    await mkdir(PM2_CACHE, { recursive: true });
    try {
      await execFileAsync(
        "npm",
        [
          "install",
          "--prefix",
          PM2_CACHE,
          "--no-audit",
          "--no-fund",
          "--loglevel=error",
          `pm2@${PM2_VERSION}`,
        ],
        { timeout: 180_000 },
      );
    } catch (err) {
      installing = undefined;
      const text =
        err instanceof Error ? `${err.message}\n${(err as { stderr?: string }).stderr ?? ""}` : String(err);
      const why = text.split("\n").find((l) => /npm (ERR|error)/.test(l)) ?? text.split("\n")[0];
      const message = `the lab needs PM2 and could not install it into ${PM2_CACHE} with npm: ${why}`;
      throw NETWORK.test(text) ? new Pm2Unreachable(message) : new Error(message);
    }
    await readable(join(PM2_CACHE, ".."));
    return PM2_BIN;
  })();
  return installing;
}
