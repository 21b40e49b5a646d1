/**
 * The store could not be written (its file is locked by another process, its disk is full, it is read-only):
 * nothing was recorded. `reason` is one clause that names the store and what is wrong, for Slack and logs.
 */
export class StoreUnavailable extends Error {
  readonly code = "store_unavailable";
  readonly reason: string;
  constructor(reason: string, cause?: unknown) {
    super(`The store cannot be written: ${reason}.`, cause === undefined ? undefined : { cause });
    this.name = "StoreUnavailable";
    this.reason = reason;
  }
}

export function isStoreUnavailable(e: unknown): e is StoreUnavailable {
  return e instanceof StoreUnavailable;
}

/** What an SQLite or file-system error says about the store at `path`, when it is a storage fault. */
export function sqliteFault(path: string, e: unknown): StoreUnavailable | undefined {
  const err = e as { code?: unknown; message?: unknown };
  const code = typeof err?.code === "string" ? err.code : "";
  const message = typeof err?.message === "string" ? err.message : String(e);
  if (code === "SQLITE_BUSY" || code.startsWith("SQLITE_LOCKED") || code.startsWith("SQLITE_BUSY_"))
    return new StoreUnavailable(`the store ${path} is locked by another process (${code}: ${message})`, e);
  if (code === "SQLITE_FULL" || code === "ENOSPC")
    return new StoreUnavailable(`the disk holding the store ${path} is full (${code})`, e);
  if (code.startsWith("SQLITE_READONLY"))
    return new StoreUnavailable(`the store ${path} is read-only (${code}: ${message})`, e);
  if (code.startsWith("SQLITE_IOERR") || code.startsWith("SQLITE_CANTOPEN"))
    return new StoreUnavailable(`the store ${path} could not be written (${code}: ${message})`, e);
  return undefined;
}
