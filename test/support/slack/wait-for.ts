import type { EventEmitter } from "node:events";

/**
 * Resolves with the predicate's first truthy value, checking now and after every "change" the emitter reports;
 * rejects after timeoutMs with `describe()` in the message, or when the emitter reports "closed".
 */
export function waitForChange<T>(
  events: EventEmitter,
  predicate: () => T | undefined | false,
  timeoutMs: number,
  describe: () => string,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const check = (): void => {
      try {
        const value = predicate();
        if (value === undefined || value === false) return;
        done();
        resolve(value);
      } catch (error) {
        done();
        reject(error);
      }
    };
    const onClosed = (): void => {
      done();
      reject(new Error("waitFor: the stand-in closed before the condition held"));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`waitFor: condition not met within ${timeoutMs} ms; ${describe()}`));
    }, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      events.off("change", check);
      events.off("closed", onClosed);
    };
    events.on("change", check);
    events.on("closed", onClosed);
    check();
  });
}
