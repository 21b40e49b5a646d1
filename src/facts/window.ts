/** The incident window: records with a time outside it are ignored; records without one are kept. */
export interface Window {
  since: number;
  until: number;
}

export function windowOf(w: { since: string; until: string }): Window {
  return { since: Date.parse(w.since), until: Date.parse(w.until) };
}

export function inWindow(time: string | undefined, w: Window): boolean {
  if (time === undefined) return true;
  const t = Date.parse(time);
  return Number.isNaN(t) || (t >= w.since && t <= w.until);
}

export function ms(time: string | undefined): number {
  return time === undefined ? Number.NaN : Date.parse(time);
}
