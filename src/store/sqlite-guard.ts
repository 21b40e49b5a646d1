import type Database from "better-sqlite3";
import { isStoreUnavailable, type StoreUnavailable, sqliteFault } from "./store-errors.js";

/**
 * Writes to one SQLite file, without blocking the event loop while the file cannot be written. better-sqlite3 is
 * synchronous: every write to a file another process has locked waits out the busy timeout on the event loop,
 * so the bot's pollers (runner, outbox) would keep the loop blocked and no Slack request would be answered.
 * After a storage fault (locked, disk full, read-only, I/O error) the busy timeout is 0: each write is still
 * tried, and fails at once while the fault lasts; the first write that succeeds restores the timeout. The fault
 * becomes a StoreUnavailable naming the file and what is wrong.
 */
export class WriteGuard {
  private last: StoreUnavailable | undefined;
  private db: Database.Database | undefined;

  constructor(
    private readonly path: string,
    private readonly busyTimeoutMs: number,
  ) {}

  /** The storage fault of the last write, until a write succeeds. */
  get failing(): StoreUnavailable | undefined {
    return this.last;
  }

  /** Runs a write; `statement` is true for one writing statement, whose success ends a fault. */
  run<T>(f: () => T, statement = false): T {
    try {
      const r = f();
      if (statement && this.last) {
        this.last = undefined;
        this.db?.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
      }
      return r;
    } catch (e) {
      if (isStoreUnavailable(e)) throw e;
      const fault = sqliteFault(this.path, e);
      if (!fault) throw e;
      if (!this.last) this.db?.pragma("busy_timeout = 0");
      this.last = fault;
      throw fault;
    }
  }

  /** Routes the connection's writing statements, transactions and exec() through run(). */
  wrap(db: Database.Database): Database.Database {
    const prepare = db.prepare.bind(db);
    const transaction = db.transaction.bind(db);
    const exec = db.exec.bind(db);
    this.db = db;
    db.prepare = ((sql: string) => {
      const st = prepare(sql);
      if (st.readonly) return st;
      const run = st.run.bind(st);
      const get = st.get.bind(st);
      const all = st.all.bind(st);
      st.run = ((...a: unknown[]) => this.run(() => run(...a), true)) as typeof st.run;
      st.get = ((...a: unknown[]) => this.run(() => get(...a), true)) as typeof st.get;
      st.all = ((...a: unknown[]) => this.run(() => all(...a), true)) as typeof st.all;
      return st;
    }) as typeof db.prepare;
    db.transaction = ((fn: (...a: unknown[]) => unknown) => {
      const tx = transaction(fn);
      const wrapped = ((...a: unknown[]) => this.run(() => tx(...a))) as unknown as typeof tx;
      for (const mode of ["deferred", "immediate", "exclusive"] as const) {
        const variant = tx[mode];
        wrapped[mode] = ((...a: unknown[]) => this.run(() => variant(...a))) as typeof variant;
      }
      wrapped.default = wrapped;
      return wrapped;
    }) as typeof db.transaction;
    db.exec = ((sql: string) => this.run(() => exec(sql), true)) as typeof db.exec;
    return db;
  }
}
