import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { gone } from "../support/gone.js";
import type { StandIn, StoredMessage } from "../support/slack/standin.js";
import { startSlackStandIn } from "../support/slack/standin.js";
import { type BotDir, botConfig } from "./bot-config.js";
import { httpRequest, type Serve, slash, startServe, stopServe } from "./serve-process.js";

const CHANNEL = "C0CHECKOUT";

let standin: StandIn | undefined;
let bot: Serve | undefined;
let dir: BotDir | undefined;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await stopServe(bot);
  bot = undefined;
  for (const c of cleanups.splice(0).reverse()) await c();
  await standin?.close();
  standin = undefined;
  if (dir) rmSync(dir.dir, { recursive: true, force: true });
  dir = undefined;
});

/**
 * A second process holding the store's write lock (`BEGIN EXCLUSIVE` on its own better-sqlite3 connection),
 * as a backup tool or an operator's `sqlite3` shell would. Resolves once it holds the lock; `release()`
 * rolls back, and resolves once the process is gone.
 */
async function lockStore(db: string): Promise<{ pid: number; release: () => Promise<void> }> {
  const code = [
    "const Database = require('better-sqlite3');",
    `const db = new Database(${JSON.stringify(db)});`,
    "db.exec('BEGIN EXCLUSIVE');",
    "process.stdout.write('locked\\n');",
    "process.stdin.resume();",
    "process.stdin.on('end', () => { db.exec('ROLLBACK'); db.close(); process.exit(0); });",
  ].join("\n");
  const child: ChildProcess = spawn(process.execPath, ["-e", code], {
    cwd: new URL("../..", import.meta.url).pathname,
    stdio: ["pipe", "pipe", "inherit"],
  });
  const pid = child.pid as number;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const release = async () => {
    child.stdin?.end();
    const t = setTimeout(() => child.kill("SIGKILL"), 3000);
    await exited;
    clearTimeout(t);
    await gone(pid);
  };
  cleanups.push(release);
  await new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.once("line", (l) => (l === "locked" ? resolve() : reject(new Error(`locker said ${l}`))));
    void exited.then(() => reject(new Error("the locking process ended before it held the lock")));
  });
  return { pid, release };
}

/**
 * A fresh tmpfs of `size` on a temp dir, unmounted (and the dir removed) after the test, also when it fails;
 * or why it cannot be had (not root, no mount permission).
 */
function mountTmpfs(size: string): string | { skip: string } {
  const where = mkdtempSync(join(tmpdir(), "why502-full-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size},mode=0700`, "tmpfs", where], { stdio: "pipe" });
  } catch (e) {
    rmSync(where, { recursive: true, force: true });
    return { skip: `a full disk needs a tmpfs mount (root): ${String((e as Error).message).split("\n")[0]}` };
  }
  cleanups.push(() => {
    execFileSync("umount", [where]);
    rmSync(where, { recursive: true, force: true });
  });
  return where;
}

/** Moves the store's write-ahead log into the database file and empties it, from a second connection. */
function checkpoint(db: string): void {
  const d = new Database(db);
  try {
    d.pragma("wal_checkpoint(TRUNCATE)");
  } finally {
    d.close();
  }
}

/** Takes every free block of the file system at `dir` with one file; returns its path. */
function fill(dir: string): string {
  const path = join(dir, "filler");
  const fd = openSync(path, "w");
  const block = Buffer.alloc(4096, 1);
  try {
    for (;;) writeSync(fd, block);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
  } finally {
    closeSync(fd);
  }
  return path;
}

/** The whole diagnosis landed: the parent edited to the verdict, its thread holding the reply. */
function landed(s: StandIn, index: number): StoredMessage | undefined {
  const p = s.messages(CHANNEL)[index];
  if (!p || !/details in the thread/.test(JSON.stringify(p.edits.at(-1) ?? {}))) return undefined;
  return s.replies(CHANNEL, p.ts).length === 1 ? p : undefined;
}

async function start(d: BotDir) {
  bot = await startServe({ config: d.config, mode: "http" });
  return bot;
}

describe("the store cannot be written: the bot keeps answering and says what it could not store", () => {
  it("another process holds the SQLite file's exclusive lock", async () => {
    standin = await startSlackStandIn();
    dir = botConfig({ apiUrl: standin.url });
    const b = await start(dir);
    const s = standin;
    const lock = await lockStore(dir.db);

    // Slack gives a slash command 3 s: the ack comes at once even though nothing can be recorded.
    const ack = await slash(b, s, "checkout");
    expect(ack.status).toBe(200);
    expect(ack.ms).toBeLessThan(3000);
    const told = await s.waitFor(() => s.ephemerals(CHANNEL).find((e) => e.user === "U0ANA"), 10_000);
    expect(told.text).toMatch(
      /^:warning: I could not record this request, so nothing was started: the store .*why502\.db is locked by another process .*Try again/,
    );
    // What needs no store still works, and readiness names the store.
    const help = await slash(b, s, "help");
    expect(JSON.stringify(help.ack)).toContain("checkout");
    expect(help.ms).toBeLessThan(3000);
    expect((await httpRequest(b.port, "/healthz")).status).toBe(200);
    const ready = await httpRequest(b.port, "/readyz");
    expect(ready.status).toBe(503);
    expect(ready.body).toMatch(/locked by another process/);
    expect(s.messages(CHANNEL)).toHaveLength(0);

    await lock.release();
    await slash(b, s, "checkout");
    await s.waitFor(() => landed(s, 0), 20_000);
    expect(s.messages(CHANNEL)).toHaveLength(1);
    expect(s.ephemerals(CHANNEL)).toHaveLength(1);
  }, 60_000);

  it("the disk holding the store is full", async (ctx) => {
    const mnt = mountTmpfs("1m");
    if (typeof mnt !== "string") return ctx.skip(mnt.skip);
    standin = await startSlackStandIn();
    const db = join(mnt, "why502.db");
    dir = botConfig({ apiUrl: standin.url, extra: { store: { sqlite: db } } });
    const b = await start(dir);
    const s = standin;
    // Nothing left to write into: the write-ahead log emptied, then every free block taken.
    checkpoint(db);
    const filler = fill(mnt);

    const ack = await slash(b, s, "checkout");
    expect(ack.status).toBe(200);
    const told = await s.waitFor(() => s.ephemerals(CHANNEL)[0], 10_000);
    expect(told.text).toMatch(
      /^:warning: I could not record this request, so nothing was started: the disk holding the store .*why502\.db is full \(SQLITE_FULL\)\. Try again/,
    );
    expect(told.user).toBe("U0ANA");
    expect((await httpRequest(b.port, "/readyz")).body).toMatch(/is full/);

    rmSync(filler);
    await slash(b, s, "checkout");
    await s.waitFor(() => landed(s, 0), 20_000);
    expect(s.messages(CHANNEL)).toHaveLength(1);
  }, 60_000);
});
