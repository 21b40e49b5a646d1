import type { AppFrame, AppRecord } from "../evidence/app.js";
import { code, WHEN } from "./phrases.js";
import type { Reading } from "./schema.js";

/** What an app-log record means (reference section 7) and what to look at next. */

function topFrame(frames: AppFrame[] | undefined): string {
  const f = frames?.[0];
  if (!f) return "";
  if (f.raw !== undefined) return ` The innermost frame: ${code(f.raw, 120)}.`;
  const where =
    f.file === undefined ? "" : ` at ${code(`${f.file}${f.line === undefined ? "" : `:${f.line}`}`, 120)}`;
  return ` The innermost frame: ${f.fn === undefined ? "" : code(f.fn, 80)}${where}.`;
}

const CRASHED_NEXT = `Did the process restart ${WHEN}? Its supervisor shows the exit (systemd: \`Main process exited, code=exited, status=...\`, \`Scheduled restart job\`), and nginx shows 104 resets / premature closes for requests in flight, then 111 refused until it was back.`;

function worker(r: AppRecord): { meaning: string; next: string } | undefined {
  const pid = r.workerPid === undefined ? "" : ` (pid ${r.workerPid})`;
  const server = r.signature === "gunicorn" ? "gunicorn" : r.signature === "uwsgi" ? "uWSGI" : "php-fpm";
  switch (r.cause) {
    case "worker_timeout": {
      const setting =
        r.signature === "uwsgi"
          ? "`harakiri`"
          : r.signature === "php_fpm"
            ? "the pool's `request_terminate_timeout`"
            : "gunicorn `--timeout`";
      const ran = r.elapsedSeconds === undefined ? "" : `; the request had run ${r.elapsedSeconds} s`;
      return {
        meaning: `${server} killed a worker${pid} because a request took longer than its timeout (${setting}${ran}). nginx saw that request's connection close: \`upstream prematurely closed connection\` or a 104 reset.`,
        next: "Which request was it (the access log's slow requests)? A request that waited behind a busy worker fails later than the timeout, which counts from when a worker took it: the server's command line or config has the value, nginx's `$request_time` does not. Make the handler faster or raise the timeout, and keep it below nginx's `proxy_read_timeout`.",
      };
    }
    case "service_killed":
      return {
        meaning: `A ${server} worker${pid} was killed with SIGKILL${r.signal === undefined ? "" : ` (signal ${r.signal})`}. Without a timeout message just before, it was most likely the kernel's OOM killer.`,
        next: `Look in the kernel log (\`dmesg -T\`, \`journalctl -k\`) ${WHEN} for \`Killed process${r.workerPid === undefined ? "" : ` ${r.workerPid}`}\`; then see what grows in the workers or raise the memory limit.`,
      };
    case "segfault":
      return {
        meaning: `A ${server} worker${pid} crashed (signal ${r.signal ?? "?"}, a segmentation fault or similar). Its request got a 502 (104 reset or \`prematurely closed\`).`,
        next: "Which request was it? The kernel log has a `segfault at` line for the pid; a core dump or the extension's debug log shows where (a PHP extension, a native module).",
      };
    case "service_exit":
      return {
        meaning: `A ${server} worker${pid} exited with an error${r.exitCode === undefined ? "" : ` (code ${r.exitCode})`}.`,
        next: "The lines just before it in the same log say why it exited.",
      };
    case "pool_exhausted":
      return {
        meaning: `${server}'s pool${r.pool === undefined ? "" : ` ${code(r.pool)}`} is full: every worker is busy, so new requests wait in the socket's backlog. nginx then sees \`(11: Resource temporarily unavailable)\` on the socket, or times out (504).`,
        next: "Raise `pm.max_children` if memory allows, or find the slow requests that hold the workers (php-fpm's slow log, `request_slowlog_timeout`).",
      };
    case "restart":
      return {
        meaning: `${server} started${r.workerPid === undefined ? "" : ` a new worker${pid}`}, replacing one that ended or after a (re)start of the server.`,
        next: "If this is during the incident, the line before it says why the previous worker ended (a timeout, a signal).",
      };
    default:
      return undefined;
  }
}

function crash(r: AppRecord): { meaning: string; next: string } | undefined {
  const summary = r.summary === undefined ? "" : `: ${code(r.summary, 160)}`;
  switch (r.signature) {
    case "go_panic":
      return {
        meaning: `A Go panic${summary}.${r.signal === 11 ? " It was a nil pointer dereference (SIGSEGV)." : ""} Unrecovered, it ends the program with exit status 2.${topFrame(r.frames)}`,
        next: CRASHED_NEXT,
      };
    case "go_fatal":
      return {
        meaning: `A Go runtime fatal error${summary}. It cannot be recovered: the program died with exit status 2.${topFrame(r.frames)}`,
        next: CRASHED_NEXT,
      };
    case "java_oom": {
      const text = r.text;
      if (text.includes("Terminating due to")) {
        return {
          meaning: `The JVM ran out of heap and exited on purpose (\`-XX:+ExitOnOutOfMemoryError\`, exit status 3)${summary}.`,
          next: `Raise \`-Xmx\` (below the container's limit) or find what fills the heap (\`-XX:+HeapDumpOnOutOfMemoryError\`). ${CRASHED_NEXT}`,
        };
      }
      if (text.includes("Aborting due to")) {
        return {
          meaning: `The JVM ran out of heap and aborted (\`-XX:+CrashOnOutOfMemoryError\`)${summary}; it wrote an \`hs_err_pid\` crash report.`,
          next: `Raise \`-Xmx\` or find what fills the heap. ${CRASHED_NEXT}`,
        };
      }
      const main = r.thread === "main";
      return {
        meaning:
          r.thread === undefined
            ? `A Java OutOfMemoryError${summary}. The thread that hit it died; the JVM may still run, slowly or without answering.`
            : `Thread ${code(r.thread)} died of OutOfMemoryError${summary}. ${main ? "The main thread ended, so the JVM exits (status 1)." : "The JVM keeps running without that thread: expect 502/504 bursts without a restart."}${topFrame(r.frames)}`,
        next: `Raise \`-Xmx\` (below the container's limit) or take a heap dump (\`-XX:+HeapDumpOnOutOfMemoryError\`). ${main ? CRASHED_NEXT : "Is the process still up but not answering (timeouts, 504)?"}`,
      };
    }
    case "java_exception":
      return {
        meaning:
          r.thread === undefined
            ? `A Java exception with its stack${summary}: logged, so probably caught.${topFrame(r.frames)}`
            : `An uncaught Java exception in thread ${code(r.thread)}${summary}.${r.causedBy?.[0] === undefined ? "" : ` Caused by ${code(r.causedBy[r.causedBy.length - 1] ?? "", 120)}.`} ${r.thread === "main" ? "The main thread ended, so the JVM exits (status 1)." : "That thread died; the JVM keeps running."}${topFrame(r.frames)}`,
        next:
          r.thread === "main"
            ? CRASHED_NEXT
            : "Did requests fail at this time? Correlate with the nginx error log.",
      };
    case "node_heap_oom":
      return {
        meaning: `Node ran out of JavaScript heap${summary}. V8 aborts: SIGABRT, exit status 134 (systemd: \`code=dumped, status=6/ABRT\`).`,
        next: `Raise \`--max-old-space-size\` (below the container's limit) or find the leak (heap snapshots). ${CRASHED_NEXT}`,
      };
    case "node_uncaught":
      return {
        meaning: `An uncaught exception in Node${summary}. It ends the process with exit status 1.${topFrame(r.frames)}`,
        next: CRASHED_NEXT,
      };
    case "python_traceback":
      return {
        meaning:
          r.summary === undefined
            ? "The start of a Python traceback: an exception nobody caught. The exception itself is on the traceback's last line."
            : `A Python exception${summary}.${r.causedBy?.[0] === undefined ? "" : ` It was raised while handling ${code(r.causedBy[0], 120)}.`} Uncaught, it ends the program (status 1), or the worker under gunicorn/uWSGI.${topFrame(r.frames)}`,
        next:
          r.summary === undefined
            ? "Paste the traceback down to its last line (`SomeError: message`): that line says what went wrong, the `File ...` line above it where."
            : CRASHED_NEXT,
      };
    default:
      return undefined;
  }
}

/** The reading of an app record. `timeless`: its time was inherited from another line, so not its own. */
export function appMeaning(r: AppRecord, timeless: boolean): Reading {
  const base = { kind: "app" as const, cause: r.cause, time: timeless ? undefined : r.time, timeless };
  const report = crash(r);
  if (report) return { ...base, ...report, opensReport: true };
  const known = worker(r);
  if (known) return { ...base, ...known };
  const text = r.summary ?? r.message ?? "";
  if (r.cause === "log_fatal") {
    return {
      ...base,
      meaning: `A fatal-level log line: ${code(text, 160)}. logrus and zap exit with status 1 right after it, so these were the program's last words.`,
      next: "This is an exit on purpose: fix what it says. Under systemd the journal shows `status=1/FAILURE` right after, then a restart.",
    };
  }
  if (r.fatalCandidate) {
    return {
      ...base,
      meaning: `A log line that reports an error${r.level === undefined || r.level === "error" ? "" : ` (level ${r.level})`}: ${code(text, 160)}. If it was the last line before the process exited with status 1, it is the reason: \`log.Fatal\` and \`os.Exit(1)\` leave no stack.`,
      next: `Did the process exit right after (\`status=1/FAILURE\` in the journal, a new start time) ${WHEN}? If so, fix what this line says.`,
    };
  }
  if (r.signature === "gunicorn" || r.signature === "uwsgi" || r.signature === "php_fpm") {
    return {
      ...base,
      meaning: `A ${r.signature === "php_fpm" ? "php-fpm" : r.signature} message: ${code(r.message ?? r.text, 160)}; nothing about a worker dying.`,
      next: "Nothing to chase in this line for a 502: look for timeouts, killed or exited workers, or a full pool.",
    };
  }
  return {
    ...base,
    meaning: `An application log line: ${code(text || r.text, 160)}. Nothing about a failure in it.`,
    next: "Nothing to chase in this line for a 502; the lines just before a restart are the ones that matter.",
  };
}
