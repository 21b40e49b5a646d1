/** gunicorn, uWSGI and php-fpm lines about their workers: timeouts, kills, crashes, respawns, pool exhaustion. */
import { millis, normaliseLevel, signalCause, signalNumber } from "./app-lines.js";
import type { AppFields } from "./app-schema.js";
import { localToUtc, monthNumber, parseOffset } from "./time.js";

// gunicorn: `[2024-01-09 13:24:39 +0000] [1637] [CRITICAL] WORKER TIMEOUT (pid:7214)`.
const GUNICORN =
  /^\[(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d) ([+-]\d\d:?\d\d)\] \[(\d+)\] \[([A-Z]+)\] (.*)$/;
const GUNICORN_FRAGMENT = /^\[(DEBUG|INFO|WARNING|ERROR|CRITICAL)\] (.*)$/;

function gunicornMessage(msg: string): AppFields | undefined {
  let m = /^WORKER TIMEOUT \(pid:(\d+)\)/.exec(msg);
  if (m) return { signature: "gunicorn", cause: "worker_timeout", workerPid: Number(m[1]) };
  m = /^Worker with pid (\d+) was terminated due to signal (\d+)/.exec(msg);
  if (m) {
    const signal = Number(m[2]);
    // gunicorn aborts (SIGABRT) a worker that missed its timeout.
    const cause = signal === 6 ? "worker_timeout" : (signalCause(signal) ?? "service_killed");
    return { signature: "gunicorn", cause, workerPid: Number(m[1]), signal };
  }
  m = /^Worker \(pid:(\d+)\) was sent (SIG[A-Z]+)!/.exec(msg);
  if (m) {
    const signal = signalNumber(m[2] ?? "");
    return {
      signature: "gunicorn",
      cause: signalCause(signal) ?? "service_killed",
      workerPid: Number(m[1]),
      signal,
    };
  }
  m = /^Booting worker with pid: (\d+)/.exec(msg);
  if (m) return { signature: "gunicorn", cause: "restart", workerPid: Number(m[1]) };
  m = /^Worker exiting \(pid: (\d+)\)/.exec(msg);
  if (m) return { signature: "gunicorn", workerPid: Number(m[1]) };
  if (/^Starting gunicorn /.test(msg)) return { signature: "gunicorn", cause: "restart" };
  return undefined;
}

export function gunicorn(line: string): AppFields | undefined {
  const m = GUNICORN.exec(line);
  if (m) {
    const offset = parseOffset(m[7] ?? "");
    const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as number[];
    const time =
      offset === undefined
        ? undefined
        : localToUtc(y ?? 0, mo ?? 0, d ?? 0, h ?? 0, mi ?? 0, s ?? 0, 0, offset);
    const msg = m[10] ?? "";
    const known = gunicornMessage(msg) ?? { signature: "gunicorn" };
    return { ...known, time, pid: Number(m[8]), level: normaliseLevel(m[9] ?? ""), message: msg };
  }
  const f = GUNICORN_FRAGMENT.exec(line);
  const known = f ? gunicornMessage(f[2] ?? "") : undefined;
  return known && f ? { ...known, level: normaliseLevel(f[1] ?? ""), message: f[2] } : undefined;
}

function uwsgiMessage(msg: string): AppFields | undefined {
  let m = /^DAMN ! worker (\d+) \(pid: (\d+)\) died, killed by signal (\d+)/.exec(msg);
  if (m) {
    const signal = Number(m[3]);
    const f = { workerId: Number(m[1]), workerPid: Number(m[2]), signal };
    return { signature: "uwsgi", cause: signalCause(signal) ?? "service_killed", ...f };
  }
  m = /^DAMN ! worker (\d+) \(pid: (\d+)\) died/.exec(msg);
  if (m)
    return { signature: "uwsgi", cause: "service_exit", workerId: Number(m[1]), workerPid: Number(m[2]) };
  m = /^Respawned uWSGI worker (\d+) \(new pid: (\d+)\)/.exec(msg);
  if (m) return { signature: "uwsgi", cause: "restart", workerId: Number(m[1]), workerPid: Number(m[2]) };
  m = /^\*\*\* HARAKIRI ON WORKER (\d+) \(pid: (\d+)/.exec(msg);
  if (m)
    return { signature: "uwsgi", cause: "worker_timeout", workerId: Number(m[1]), workerPid: Number(m[2]) };
  m = /^spawned uWSGI worker (\d+) \(pid: (\d+)/.exec(msg);
  if (m) return { signature: "uwsgi", workerId: Number(m[1]), workerPid: Number(m[2]) };
  m = /^spawned uWSGI master process \(pid: (\d+)\)/.exec(msg);
  if (m) return { signature: "uwsgi", pid: Number(m[1]) };
  m = /^worker (\d+) (?:lifetime reached|buried after)/.exec(msg);
  if (m) return { signature: "uwsgi", workerId: Number(m[1]) };
  if (/^(?:SIGINT\/SIGTERM received|goodbye to uWSGI|HARAKIRI )/.test(msg)) return { signature: "uwsgi" };
  return undefined;
}

// `*** Starting uWSGI 2.0.21-debian (64bit) on [Wed Nov 25 12:21:29 2026] ***`
const UWSGI_START =
  /^\*\*\* Starting uWSGI \S+ .*on \[(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([A-Z][a-z]{2}) +(\d{1,2}) (\d\d):(\d\d):(\d\d) (\d{4})\] \*\*\*/;

export function uwsgi(line: string, utcOffsetMinutes: number): AppFields | undefined {
  const m = UWSGI_START.exec(line);
  if (m) {
    const month = monthNumber(m[1] ?? "") ?? 0;
    const [d, h, mi, s, y] = [m[2], m[3], m[4], m[5], m[6]].map(Number) as number[];
    const time = localToUtc(y ?? 0, month, d ?? 0, h ?? 0, mi ?? 0, s ?? 0, 0, utcOffsetMinutes);
    return { signature: "uwsgi", cause: "restart", time, message: line };
  }
  const known = uwsgiMessage(line);
  return known && { ...known, message: line };
}

// php-fpm: `[30-Dec-2018 15:09:04] WARNING: [pool www] child 22612 exited on signal 11 (SIGSEGV) after ...`
const FPM = /^\[(\d\d)-([A-Z][a-z]{2})-(\d{4}) (\d\d):(\d\d):(\d\d)(?:\.(\d+))?\] ([A-Z]+): (.*)$/;
const FPM_FRAGMENT = /^(DEBUG|NOTICE|WARNING|ERROR|ALERT): (.*)$/;
const MAX_CHILDREN = /^server reached (?:pm\.)?max_children setting \((\d+)\)/;

function fpmMessage(msg: string): AppFields | undefined {
  const pooled = /^\[pool ([^\]]+)\] (.*)$/.exec(msg);
  const pool = pooled?.[1];
  const body = pooled?.[2] ?? msg;
  // request_terminate_timeout: `child 27656, script '/srv/slow.php' (request: "GET /slow.php") execution timed
  // out (2.581576 sec), terminating`; the child then exits on SIGTERM.
  let m = /^child (\d+), script .* execution timed out \((\d+(?:\.\d+)?) sec\), terminating/.exec(body);
  if (m) {
    const elapsedSeconds = Number(m[2]);
    return { signature: "php_fpm", cause: "worker_timeout", pool, workerPid: Number(m[1]), elapsedSeconds };
  }
  m = /^child (\d+) exited on signal (\d+)/.exec(body);
  if (m) {
    const signal = Number(m[2]);
    return { signature: "php_fpm", cause: signalCause(signal), pool, workerPid: Number(m[1]), signal };
  }
  m = /^child (\d+) exited with code (\d+)/.exec(body);
  if (m) {
    const exitCode = Number(m[2]);
    const cause = exitCode === 0 ? undefined : "service_exit";
    return { signature: "php_fpm", cause, pool, workerPid: Number(m[1]), exitCode };
  }
  if (MAX_CHILDREN.test(body)) return { signature: "php_fpm", cause: "pool_exhausted", pool };
  m = /^child (\d+) started/.exec(body);
  if (m) return { signature: "php_fpm", pool, workerPid: Number(m[1]) };
  m = /^fpm is running, pid (\d+)/.exec(body);
  if (m) return { signature: "php_fpm", cause: "restart", pid: Number(m[1]) };
  return undefined;
}

export function phpFpm(line: string, utcOffsetMinutes: number): AppFields | undefined {
  const m = FPM.exec(line);
  if (m) {
    const month = monthNumber(m[2] ?? "") ?? 0;
    const [d, y, h, mi, s] = [m[1], m[3], m[4], m[5], m[6]].map(Number) as number[];
    const time = localToUtc(y ?? 0, month, d ?? 0, h ?? 0, mi ?? 0, s ?? 0, millis(m[7]), utcOffsetMinutes);
    const msg = m[9] ?? "";
    const known = fpmMessage(msg) ?? { signature: "php_fpm" };
    return { ...known, time, level: normaliseLevel(m[8] ?? ""), message: msg };
  }
  const f = FPM_FRAGMENT.exec(line);
  const known = f ? fpmMessage(f[2] ?? "") : undefined;
  if (known && f) return { ...known, level: normaliseLevel(f[1] ?? ""), message: f[2] };
  if (MAX_CHILDREN.test(line)) return { signature: "php_fpm", cause: "pool_exhausted", message: line };
  return undefined;
}

/** A line of uWSGI's own `date - message` shape; the message may be a known uWSGI line. */
export function uwsgiDated(rest: string): AppFields {
  return { ...(uwsgiMessage(rest) ?? { signature: "uwsgi" }), message: rest };
}
