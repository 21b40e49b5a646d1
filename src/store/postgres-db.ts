import type pg from "pg";

/** A pool or one transaction's connection. */
export type Db = Pick<pg.PoolClient, "query">;

/**
 * Advisory lock classes (the two-key form, so that they cannot meet other single-key locks in a shared
 * database); the second key is hashtext() of the service, coalesce key or a constant.
 */
export const LOCK = { migrate: 502_000, service: 502_001, coalesce: 502_002 } as const;

/** One transaction on one connection; a connection that broke on the way is discarded, not reused. */
export async function transaction<T>(pool: pg.Pool, fn: (c: Db) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  let broken: Error | undefined;
  const onError = (err: Error) => {
    broken = err;
  };
  c.on("error", onError);
  try {
    await c.query("BEGIN");
    const out = await fn(c);
    await c.query("COMMIT");
    return out;
  } catch (e) {
    await c.query("ROLLBACK").catch((err: Error) => {
      broken ??= err;
    });
    throw e;
  } finally {
    c.off("error", onError);
    c.release(broken);
  }
}

/** Holds the service's advisory lock until the transaction ends. */
export async function lockService(c: Db, service: string): Promise<void> {
  await c.query("SELECT pg_advisory_xact_lock($1, hashtext($2))", [LOCK.service, service]);
}
