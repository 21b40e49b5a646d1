/** The incident window: records with a time outside it are ignored; records without one are kept. */
export interface Window {
  since: number;
  until: number;
}

/**
 * Most log stamps have whole seconds: a line stamped 12:00:05 may have been written at 12:00:05.900, so the
 * window starts at the whole second of `since` and ends at the end of the second of `until`.
 */
export function windowOf(w: { since: string; until: string }): Window {
  const since = Date.parse(w.since);
  const until = Date.parse(w.until);
  return { since: since - (since % 1000), until: until - (until % 1000) + 999 };
}

export function inWindow(time: string | undefined, w: Window): boolean {
  if (time === undefined) return true;
  const t = Date.parse(time);
  return Number.isNaN(t) || (t >= w.since && t <= w.until);
}

export function ms(time: string | undefined): number {
  return time === undefined ? Number.NaN : Date.parse(time);
}
