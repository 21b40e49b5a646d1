/** Time helpers shared by parsers. All results are UTC ISO strings with milliseconds. */

const MONTHS: Record<string, number> = {
  jan: 1,
  feb: 2,
  mar: 3,
  apr: 4,
  may: 5,
  jun: 6,
  jul: 7,
  aug: 8,
  sep: 9,
  oct: 10,
  nov: 11,
  dec: 12,
};

/** `Jan` / `january` / `JAN` -> 1..12, or undefined. */
export function monthNumber(name: string): number | undefined {
  return MONTHS[name.slice(0, 3).toLowerCase()];
}

/**
 * A wall-clock time on a host whose offset from UTC is `utcOffsetMinutes`, as UTC ISO.
 * Returns undefined for impossible dates (month 13, Feb 30...).
 */
export function localToUtc(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  millis: number,
  utcOffsetMinutes: number,
): string | undefined {
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
    return undefined;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  const check = new Date(ms);
  if (check.getUTCDate() !== day) return undefined;
  return new Date(ms - utcOffsetMinutes * 60_000).toISOString();
}

/** Raw dmesg seconds-since-boot plus the boot time -> UTC ISO. */
let lastBootText: string | undefined;
let lastBootMs = Number.NaN;

export function uptimeToUtc(seconds: number, bootTime: string | undefined): string | undefined {
  if (bootTime === undefined) return undefined;
  // Every dmesg line of a host carries the same boot time: parse it once.
  if (bootTime !== lastBootText) {
    lastBootText = bootTime;
    lastBootMs = Date.parse(bootTime);
  }
  const boot = lastBootMs;
  if (Number.isNaN(boot)) return undefined;
  return new Date(boot + Math.round(seconds * 1000)).toISOString();
}

/** Parse `+0100` / `-05:30` / `Z` into minutes east of UTC. */
export function parseOffset(text: string): number | undefined {
  if (text === "Z" || text === "z") return 0;
  const m = /^([+-])(\d\d):?(\d\d)$/.exec(text);
  if (!m) return undefined;
  const mins = Number(m[2]) * 60 + Number(m[3]);
  return m[1] === "-" ? -mins : mins;
}

/** Year to assume for stamps without one (syslog): the host's current year, else the current UTC year. */
export function yearOf(now: string | undefined): number {
  const t = now === undefined ? Number.NaN : Date.parse(now);
  return new Date(Number.isNaN(t) ? Date.now() : t).getUTCFullYear();
}
