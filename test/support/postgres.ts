import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { chmod, chown, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gone } from "./gone.js";

const execFileAsync = promisify(execFile);

/** Debian's PostgreSQL 15 (`apt-get install postgresql`; the package does not start a server). */
export const PG_BIN = "/usr/lib/postgresql/15/bin";
/** The server listens on a unix socket only: the port just names the socket file in its own directory. */
const PORT = 5432;
const USER = "why502";

export interface TestPostgres {
  /** A libpq connection string for the `postgres` database over the server's unix socket. */
  url: string;
  /** The postmaster's pid (a new one after restart()). */
  readonly pid: number;
  /** The connection string for another database of the same server. */
  urlFor(database: string): string;
  /** Stops the server (fast shutdown, SIGKILL if it lingers) and removes its directories. Idempotent. */
  stop(): Promise<void>;
  /**
   * Stops the server and starts it again on the same data directory and socket. `whileDown` runs while
   * it is stopped (to watch what clients see then).
   */
  restart(whileDown?: () => Promise<void>): Promise<void>;
}

/** Why no server could be started here, in one sentence with what to do about it. */
export class PostgresUnavailable extends Error {
  override readonly name = "PostgresUnavailable";
}

/**
 * Starts a throwaway PostgreSQL 15 server: `initdb -A trust -U why502` in a fresh temp dir, then
 * `pg_ctl start` on a unix socket in another temp dir, no TCP. As root (CI here), the server runs as the
 * unprivileged `postgres` user that the Debian package creates, since postgres refuses to run as root; as
 * anyone else, as the user running the tests. Durability is off (fsync, synchronous_commit): a test server only.
 */
export async function startPostgres(): Promise<TestPostgres> {
  if (!existsSync(join(PG_BIN, "pg_ctl")))
    throw new PostgresUnavailable(
      `PostgreSQL 15 is not installed (no ${PG_BIN}/pg_ctl): install it with \`apt-get install postgresql\` (.ci/run does), or set WHY502_NO_POSTGRES=1 to leave the PostgreSQL tests out`,
    );
  const asRoot = userInfo().uid === 0;
  const base = await mkdtemp(join(tmpdir(), "why502-pg-"));
  const data = join(base, "data");
  const socketDir = join(base, "socket");
  const log = join(base, "server.log");
  await mkdir(data, { mode: 0o700 });
  await mkdir(socketDir, { mode: 0o700 });
  if (asRoot) {
    const { uid, gid } = postgresUser();
    for (const p of [base, data, socketDir]) await chown(p, uid, gid);
  }
  await chmod(base, 0o700);

  const pgCommand = async (cmd: string, args: string[]) => {
    const [file, argv] = asRoot
      ? ["runuser", ["-u", "postgres", "--", join(PG_BIN, cmd), ...args]]
      : [join(PG_BIN, cmd), args];
    try {
      return await execFileAsync(file, argv, { cwd: base, timeout: 60_000 });
    } catch (e) {
      const err = e as Error & { stderr?: string; stdout?: string };
      const serverLog = existsSync(log) ? readFileSync(log, "utf8").slice(-2000) : "";
      throw new PostgresUnavailable(
        `${cmd} ${args.join(" ")} failed: ${err.stderr || err.message}${serverLog ? `\nserver log:\n${serverLog}` : ""}`,
      );
    }
  };

  const serverOptions = [
    `-k ${socketDir}`,
    "-c listen_addresses=''",
    `-p ${PORT}`,
    "-c fsync=off",
    "-c synchronous_commit=off",
    "-c full_page_writes=off",
    "-c max_connections=200",
  ].join(" ");
  let pid = 0;
  let running = false;
  const start = async () => {
    await pgCommand("pg_ctl", ["-w", "-t", "30", "-D", data, "-l", log, "-o", serverOptions, "start"]);
    running = true;
    pid = Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]);
  };
  const halt = async () => {
    if (!running) return;
    running = false;
    try {
      await pgCommand("pg_ctl", ["-w", "-t", "10", "-D", data, "-m", "fast", "stop"]);
    } catch {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    if (!(await gone(pid, 10_000))) throw new Error(`postgres (pid ${pid}) is still running after SIGKILL`);
  };

  try {
    await pgCommand("initdb", [
      "-A",
      "trust",
      "-U",
      USER,
      "-E",
      "UTF8",
      "--locale=C",
      "--no-sync",
      "-D",
      data,
    ]);
    await start();
  } catch (e) {
    await halt().catch(() => undefined);
    await rm(base, { recursive: true, force: true });
    throw e;
  }

  const urlFor = (database: string) =>
    `postgresql://${USER}@/${encodeURIComponent(database)}?host=${encodeURIComponent(socketDir)}&port=${PORT}`;
  let stopped = false;
  return {
    url: urlFor("postgres"),
    get pid() {
      return pid;
    },
    urlFor,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await halt();
      } finally {
        await rm(base, { recursive: true, force: true });
      }
    },
    async restart(whileDown) {
      if (stopped) throw new Error("restart() after stop()");
      await halt();
      try {
        await whileDown?.();
      } finally {
        await start();
      }
    },
  };
}

function postgresUser(): { uid: number; gid: number } {
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith("postgres:"));
  const [, , uid, gid] = line?.split(":") ?? [];
  if (uid === undefined || gid === undefined)
    throw new PostgresUnavailable(
      "there is no `postgres` user to run the server as (the Debian package creates it): install `postgresql`",
    );
  return { uid: Number(uid), gid: Number(gid) };
}
