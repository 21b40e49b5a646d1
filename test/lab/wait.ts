export interface WaitOptions {
  /** what is awaited, for the timeout message */
  what: string;
  timeoutMs?: number;
  intervalMs?: number;
}

/**
 * Polls `probe` until it returns something other than undefined. For state that announces itself by
 * no event (a file's content, the kernel ring buffer, /proc); events are awaited directly elsewhere.
 */
export async function waitUntil<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  opts: WaitOptions,
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  let interval = opts.intervalMs ?? 10;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${opts.what}`);
    await new Promise((resolve) => setTimeout(resolve, interval));
    interval = Math.min(interval * 2, 100);
  }
}
