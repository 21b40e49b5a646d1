import dayjs from "dayjs";
import duration from "dayjs/plugin/duration.js";
import relativeTime from "dayjs/plugin/relativeTime.js";
import timezone from "dayjs/plugin/timezone.js";
import utc from "dayjs/plugin/utc.js";

dayjs.extend(utc);
dayjs.extend(timezone);
dayjs.extend(duration);
dayjs.extend(relativeTime);

type When = number | string;

/** UTC ISO with milliseconds. */
export function iso(t: When): string {
  return dayjs.utc(t).toISOString();
}

export function ms(t: When): number {
  return dayjs.utc(t).valueOf();
}

export function startOfMinute(t: When): number {
  return dayjs.utc(t).startOf("minute").valueOf();
}

export function startOfSecond(t: When): number {
  return dayjs.utc(t).startOf("second").valueOf();
}

/** A span in whole minutes (rounded down). */
export function minutesIn(spanMs: number): number {
  return Math.floor(dayjs.duration(spanMs).asMinutes());
}

/** `durationMs(5, "minute")`. */
export function durationMs(n: number, unit: "second" | "minute" | "hour"): number {
  return dayjs.duration(n, unit).asMilliseconds();
}

export function addMinutes(t: When, n: number): number {
  return dayjs.utc(t).add(n, "minute").valueOf();
}

export function between(a: When, b: When): number {
  return dayjs.utc(b).diff(dayjs.utc(a));
}

/** A stamp with digits below the second (whole-second stamps may lie anywhere in their second). */
export function precise(t: When): boolean {
  return dayjs.utc(t).millisecond() !== 0;
}

export function sameSecond(a: When, b: When): boolean {
  return dayjs.utc(a).isSame(dayjs.utc(b), "second");
}

/** `45s`, `2m 35s`, `12m`, `1h 5m`, `2d 3h`: a span as a figure. */
export function formatDuration(spanMs: number): string {
  const d = dayjs.duration(Math.abs(spanMs));
  if (d.asSeconds() < 1) return "<1s";
  const days = Math.floor(d.asDays());
  if (days > 0) return `${days}d${d.hours() ? ` ${d.hours()}h` : ""}`;
  if (d.hours() > 0) return `${d.hours()}h${d.minutes() ? ` ${d.minutes()}m` : ""}`;
  if (d.minutes() > 0) return `${d.minutes()}m${d.minutes() < 10 && d.seconds() ? ` ${d.seconds()}s` : ""}`;
  return `${d.seconds()}s`;
}

/** `a few seconds`, `12 minutes`, `an hour`: a span in prose. */
export function aboutDuration(spanMs: number): string {
  return dayjs.duration(Math.abs(spanMs)).humanize();
}

/** The clock in a zone: `10:15:53`, or `10:15` for a minute. */
export function clock(t: When, zone: string, unit: "second" | "minute" = "second"): string {
  return dayjs
    .utc(t)
    .tz(zone)
    .format(unit === "second" ? "HH:mm:ss" : "HH:mm");
}

export function dateIn(t: When, zone: string): string {
  return dayjs.utc(t).tz(zone).format("YYYY-MM-DD");
}

/** `2026-12-01 10:15:53` in the zone. */
export function dateTime(t: When, zone: string, unit: "second" | "minute" = "second"): string {
  return `${dateIn(t, zone)} ${clock(t, zone, unit)}`;
}

/** The zone's offset from UTC at that moment: `+01:00`. */
export function offset(t: When, zone: string): string {
  return dayjs.utc(t).tz(zone).format("Z");
}

/**
 * The moment as the zone's wall clock written as if it were UTC: what a chart drawn in UTC must be given to
 * show the team's local times (each moment with its own offset, so a change to summer time stays right).
 */
export function wallClock(t: When, zone: string): number {
  const z = dayjs.utc(t).tz(zone);
  return dayjs.utc(t).add(z.utcOffset(), "minute").valueOf();
}
