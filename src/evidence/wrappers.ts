/**
 * Wrappers that log shippers put around real lines (docker --timestamps, compose prefixes, journald and
 * syslog prefixes, ANSI colour). `unwrap` strips them and returns the inner line plus any time the wrapper
 * carried (UTC ISO when the wrapper had a zone).
 */
export interface Unwrapped {
  inner: string;
  /** Time from the wrapper, UTC ISO, when it had a full zoned stamp (docker, RFC 3339). */
  wrapperTime?: string;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes are control characters
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;
const DOCKER_TS = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)) /;
const COMPOSE = /^[A-Za-z0-9][\w.-]*(?:[-_.]\d+)?\s*\| ?/;
// `Nov 05 15:28:00 app nginx[30523]: ` or `2026-02-08T00:40:07.136582+00:00 host nginx[1]: `
const SYSLOG =
  /^(?:[A-Za-z\u00C0-\u024F]{3,}\.? +\d{1,2} \d\d:\d\d:\d\d(?:\.\d+)?|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)) \S+ [\w./@-]+(?:\[\d+\])?: /;

export function unwrap(line: string): Unwrapped {
  let inner = line.includes("\u001b") ? line.replace(ANSI, "") : line;
  let wrapperTime: string | undefined;
  for (let i = 0; i < 3; i++) {
    const d = DOCKER_TS.exec(inner);
    if (d?.[1]) {
      const t = Date.parse(d[1]);
      if (!Number.isNaN(t)) wrapperTime = new Date(t).toISOString();
      inner = inner.slice(d[0].length);
      continue;
    }
    const s = SYSLOG.exec(inner);
    if (s) {
      inner = inner.slice(s[0].length);
      continue;
    }
    const c = COMPOSE.exec(inner);
    if (c && !/^\d{4}\/\d\d\/\d\d/.test(inner)) {
      inner = inner.slice(c[0].length);
      continue;
    }
    break;
  }
  return wrapperTime === undefined ? { inner } : { inner, wrapperTime };
}
