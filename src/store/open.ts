import type { Config } from "../config/schema.js";
import { UserError } from "../errors.js";
import { PostgresStore } from "./postgres.js";
import { SqliteStore } from "./sqlite.js";
import type { Store } from "./types.js";

/** Where the store is, for messages: the SQLite path or the PostgreSQL variable's name. */
export function storeName(config: Config): string {
  return "sqlite" in config.store
    ? config.store.sqlite
    : `the PostgreSQL database in $${config.store.postgres.url_env}`;
}

/**
 * Open the configured store. SQLite is one replica's: a second `serve` on the same file is refused
 * (`exclusive`); PostgreSQL is shared by every replica.
 */
export async function openStore(
  config: Config,
  env: Record<string, string | undefined>,
  opts: { exclusive?: boolean; onError?: (e: Error) => void } = {},
): Promise<Store> {
  if ("sqlite" in config.store) {
    const path = config.store.sqlite;
    let store: SqliteStore;
    try {
      store = SqliteStore.open(path, { owner: opts.exclusive ? { pid: process.pid } : undefined });
    } catch (e) {
      if (isUserErrorLike(e)) throw e;
      throw new UserError(
        "bad_input",
        `Cannot open the store ${path}: ${e instanceof Error ? e.message : String(e)}: check the path and its permissions.`,
      );
    }
    return store;
  }
  const name = config.store.postgres.url_env;
  const url = env[name];
  if (!url)
    throw new UserError(
      "usage",
      `store.postgres.url_env names ${name}, which is not set: export ${name}=postgresql://…`,
    );
  try {
    return await PostgresStore.open(url, { onError: opts.onError });
  } catch (e) {
    throw new UserError(
      "bad_input",
      `Cannot reach PostgreSQL at $${name}: ${e instanceof Error ? e.message : String(e)}: check the URL and that the server is up.`,
    );
  }
}

function isUserErrorLike(e: unknown): e is UserError {
  return e instanceof UserError;
}
