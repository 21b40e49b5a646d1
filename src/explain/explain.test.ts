import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { isUnreadable, parseNginxErrorLine } from "../evidence/nginx-error.js";
import { ExplainedLine, explainText, renderExplainMrkdwn, renderExplainText } from "./explain.js";
import { MAIN_EXT_FORMAT, MAIN_FORMAT, UPSTREAM_TIME_FORMAT } from "./nginx-access.js";
import { MRKDWN_LIMITS } from "./render.js";

/**
 * Every log line here is a real one from src/evidence/__fixtures__/ (captured, or quoted verbatim from
 * shared/reference/nginx-502-signatures.md), read from disk. Fragments are made by cutting those lines;
 * where a line is put together from two real parts, the test says so.
 */

const fixtures = new URL("../evidence/__fixtures__/", import.meta.url).pathname;
const file = (name: string): string => readFileSync(`${fixtures}${name}`, "utf8");
function line(name: string, n: number): string {
  const l = file(name).split("\n")[n - 1];
  if (l === undefined) throw new Error(`${name} has no line ${n}`);
  return l;
}
const NOW = "2026-11-26T08:00:00.000Z";
const explain = (text: string) => explainText(text, { now: NOW });
const one = (text: string): ExplainedLine => {
  const out = explain(text);
  expect(out).toHaveLength(1);
  return out[0] as ExplainedLine;
};

const HTTP = "nginx-error/captured-1.22-http.txt";
const REFUSED = line(HTTP, 2);
const RESET = line(HTTP, 5);
const PREMATURE = line(HTTP, 7);
const MIDBODY = line(HTTP, 9);
const TIMEOUT = line(HTTP, 10);
const NO_LIVE = line(HTTP, 47);
const OOM_KILL = line("kernel/dmesg-raw-memcg-oom.txt", 81);
const EXIT_1 = line("systemd/journal-exit-statuses.txt", 1);
const KILLED_9 = line("systemd/journal-exit-statuses.txt", 4);
const ACCESS_502 = line("nginx-access/main_ext.txt", 5);
const GO_PANIC = file("app/go-panic.txt");

// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find control characters
const ANY_CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find control characters
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

function expectSafe(lines: ExplainedLine[]): void {
  for (const l of lines) {
    expect(ExplainedLine.safeParse(l).success).toBe(true);
    // Not even a newline or a tab: each field is one line of text.
    for (const s of [l.text, l.meaning, l.next, l.upstream ?? ""]) expect(s).not.toMatch(ANY_CONTROL);
  }
  const text = renderExplainText(lines);
  expect(text).not.toMatch(CONTROL);
  expect(text).not.toContain("<!channel>");
  expect(text).not.toMatch(/<@U/);
  const sections = renderExplainMrkdwn(lines);
  for (const s of sections) {
    expect(s).not.toMatch(CONTROL);
    expect(s).not.toContain("<!channel>");
    expect(s).not.toMatch(/<[@!#]/);
    expect(s.length).toBeLessThanOrEqual(MRKDWN_LIMITS.section);
    // Code fences stay balanced: host text cannot close one early.
    expect((s.match(/```/g) ?? []).length % 2).toBe(0);
  }
  expect(sections.reduce((n, s) => n + s.length, 0)).toBeLessThanOrEqual(MRKDWN_LIMITS.total);
}

describe("a mixed paste", () => {
  // nginx error + kernel OOM kill + systemd exits + Go panic (10 lines, its blank last line included) + access.
  const paste = [REFUSED, OOM_KILL, EXIT_1, KILLED_9, GO_PANIC.trimEnd(), ACCESS_502].join("\n");
  const out = explain(paste);

  it("explains each line by its own kind", () => {
    expect(out.map((l) => [l.line, l.kind, l.cause, l.status])).toEqual([
      [1, "nginx-error", "connection_refused", 502],
      [2, "kernel", "oom_kill", undefined],
      [3, "systemd", "service_exit", undefined],
      [4, "systemd", "service_killed", undefined],
      [5, "app", undefined, undefined],
      [6, "app", "go_panic", undefined],
      [15, "nginx-access", undefined, 502],
    ]);
  });

  it("reports the original text and what to check next, concretely", () => {
    const [refused, oom, exit1, killed, , panic, access] = out;
    expect(refused?.text).toBe(REFUSED);
    expect(refused?.upstream).toBe("127.0.0.1:18190");
    expect(refused?.meaning).toContain("nothing was listening");
    expect(refused?.next).toContain("Is anything listening on `127.0.0.1:18190`");
    expect(refused?.next).toContain("restarted around 2026-11-25 13:26:12 (the host's local time)");
    expect(oom?.meaning).toContain("killed `python3` (pid 10258) because its memory cgroup hit its limit");
    expect(oom?.next).toContain("Is pid 10258 your backend?");
    expect(oom?.next).toContain("495.9 s after boot");
    expect(exit1?.meaning).toContain("`X.service`'s main process exited on its own with status 1");
    expect(exit1?.next).toContain("journalctl -u X.service");
    expect(killed?.meaning).toContain("SIGKILL");
    expect(killed?.next).toContain("killed process");
    expect(panic?.lines).toBe(9);
    expect(panic?.text).toBe("panic: runtime error: index out of range [1] with length 1");
    expect(panic?.meaning).toContain(
      "`main.process(...)` at `/work/main/scripts/capture/crashers/go/panic.go:9`",
    );
    expect(access?.upstream).toBe("127.0.0.1:18206");
    expect(access?.time).toBe("2026-11-25T12:21:02.000Z");
    expect(access?.meaning).toContain("No connection was made");
    expect(access?.next).toContain("Find the error-log line for this request around 2026-11-25 12:21:02 UTC");
    expectSafe(out);
  });

  it("reads CRLF and LF the same, and skips blank lines", () => {
    expect(explain(paste.split("\n").join("\r\n"))).toEqual(out);
    const spaced = explain(`\n${REFUSED}\n\n   \n${OOM_KILL}\n`);
    expect(spaced.map((l) => [l.line, l.kind])).toEqual([
      [2, "nginx-error"],
      [5, "kernel"],
    ]);
  });

  it("renders terminal text: the line clipped, then meaning, status and next, indented", () => {
    const text = renderExplainText(out);
    expect(text).toContain(`1: ${REFUSED.slice(0, 199)}…\n   nginx could not connect to \`127.0.0.1:18190\``);
    expect(text).toContain(
      "   nginx error log · client saw 502 · cause connection_refused · upstream 127.0.0.1:18190",
    );
    expect(text).toContain("   next: Is anything listening on `127.0.0.1:18190`");
    expect(text).toContain("6-14: panic: runtime error: index out of range [1] with length 1");
    expect(text).toContain(
      "15 lines, 7 entries: 1 nginx error log, 1 nginx access log, 1 kernel, 2 systemd, 2 app.",
    );
  });

  it("renders Slack sections: a tally, then each entry with its line in a code block", () => {
    const sections = renderExplainMrkdwn(out);
    expect(sections[0]).toBe(
      "*why502 explain*: 15 lines, 7 entries: 1 nginx error log, 1 nginx access log, 1 kernel, 2 systemd, 2 app.",
    );
    const all = sections.join("\n");
    expect(all).toContain(
      "*1* · nginx error log · client saw 502 · cause `connection_refused` · upstream `127.0.0.1:18190`",
    );
    expect(all).toContain(
      "```2026/11/25 13:26:12 [error] 26804#26804: *3 connect() failed (111: Connection refused)",
    );
    expect(all).toContain("*Next:* Is anything listening on `127.0.0.1:18190`");
    expect(all).toContain("`Killed process &lt;pid&gt;`");
    expect(all).not.toContain("not shown");
  });
});

describe("nginx error lines", () => {
  it("gives every captured upstream failure the parser's cause and status", () => {
    const lines = file(HTTP)
      .split("\n")
      .filter((l) => l.includes("[error]"));
    expect(lines.length).toBeGreaterThan(30);
    const ctx = { host: "paste", source: "paste", utcOffsetMinutes: 0 };
    for (const l of lines) {
      const r = parseNginxErrorLine(l, 1, ctx);
      if (isUnreadable(r)) continue;
      const e = one(l);
      expect(e.kind).toBe("nginx-error");
      expect([e.cause, e.status]).toEqual([r.cause, r.status]);
      expect(e.next).not.toBe("");
    }
  });

  it.each([
    [RESET, "connection_reset", 502, "`127.0.0.1:18100` reset the connection (104", "a kernel OOM kill"],
    [
      PREMATURE,
      "premature_close",
      502,
      "closed the connection before sending a complete response header",
      "`WriteTimeout`",
    ],
    [MIDBODY, "premature_close", undefined, "truncated body", "restart"],
    [TIMEOUT, "read_timeout", 504, "This is a 504 (slow backend), not a 502", "`proxy_read_timeout`"],
    [
      NO_LIVE,
      "no_live_upstreams",
      502,
      "Every server of upstream group `app_pool` was marked down",
      "say why each server was marked down",
    ],
    [line(HTTP, 31), "connection_reset", 502, "(32: broken pipe)", "keepalive"],
    [line(HTTP, 38), "no_route", 502, "found no way to reach `127.0.0.113:18000`", "nginx -T"],
    [line(HTTP, 58), "dns", 502, "could not resolve `app.invalid`", "dig @RESOLVER NAME"],
    [line("nginx-error/captured-1.22-unix.txt", 1), "fastcgi_socket", 502, "does not exist", "`listen` path"],
  ])("%#: %s", (text, cause, status, meaning, next) => {
    const e = one(text);
    expect([e.cause, e.status]).toEqual([cause, status]);
    expect(e.meaning).toContain(meaning);
    expect(e.next).toContain(next);
  });

  it("keeps a zone-less stamp as local time, and a docker stamp's time as UTC", () => {
    const local = one(REFUSED);
    expect(local.localTime).toBe("2026-11-25T13:26:12");
    expect(local.time).toBeUndefined();
    const docker = one(line("nginx-error/docker-timestamps.txt", 1));
    expect(docker.cause).toBe("connection_refused");
    expect(docker.time).toBe("2026-11-25T12:26:29.000Z");
    expect(docker.localTime).toBeUndefined();
  });

  it("reads lines behind compose prefixes, with their escape-sequence remnants", () => {
    const lines = file("nginx-error/compose-prefixed.txt").trimEnd().split("\n");
    const out = explain(lines.join("\n"));
    expect(out.map((l) => l.cause)).toEqual(
      lines.map((l) => {
        const r = parseNginxErrorLine(l, 1, { host: "h", source: "s", utcOffsetMinutes: 0 });
        return isUnreadable(r) ? undefined : r.cause;
      }),
    );
    expect(out.slice(0, 5).map((l) => l.cause)).toEqual([
      "connection_refused",
      "connection_refused",
      "connection_reset",
      "premature_close",
      "premature_close",
    ]);
    expectSafe(out);
  });
});

describe("fragments people paste", () => {
  const at = (s: string) => REFUSED.indexOf(s);

  it.each([
    ["from the level", REFUSED.slice(at("[error]"))],
    ["from pid#tid", REFUSED.slice(at("26804#"))],
    ["from the connection number", REFUSED.slice(at("*3 "))],
    ["from the message", REFUSED.slice(at("connect()"))],
    ["from the error number", REFUSED.slice(at("(111:"))],
    ["cut inside the upstream's URI", REFUSED.slice(at("*3 "), at('orders?id=7", host'))],
    ["behind a compose prefix", `web-1  | ${REFUSED.slice(at("[error]"))}`],
  ])("without its timestamp: %s", (_, text) => {
    const e = one(text);
    expect(e.text).toBe(text);
    expect([e.kind, e.cause, e.status, e.upstream]).toEqual([
      "nginx-error",
      "connection_refused",
      502,
      "127.0.0.1:18190",
    ]);
    // The stamp put in front for the parser is not the line's time.
    expect(e.time).toBeUndefined();
    expect(e.localTime).toBeUndefined();
    expect(e.next).toContain("around the time of this line");
  });

  it.each([
    ["in the error number (real cut, malformed.txt)", line("nginx-error/malformed.txt", 5)],
    ["with a pager's $ (real cut, malformed.txt)", line("nginx-error/malformed.txt", 8)],
    ["in a field name", REFUSED.slice(0, at(", server:") + 5)],
    ["inside the action", REFUSED.slice(0, at(" to upstream"))],
    ["at both ends", REFUSED.slice(at("26804#") + 3, at(", server:") + 5)],
  ])("cut at the end: %s", (_, text) => {
    const e = one(text);
    expect([e.kind, e.cause, e.status]).toEqual(["nginx-error", "connection_refused", 502]);
  });

  it("says when it had to assume the action of a line cut before it", () => {
    const e = one(line("nginx-error/malformed.txt", 5));
    expect(e.meaning).toContain("I assumed it was logged while connecting to upstream");
    expect(e.localTime).toBe("2026-11-25T13:26:12");
  });

  it("keeps a container runtime's time in front of a fragment", () => {
    const docker = line("nginx-error/docker-timestamps.txt", 1);
    const fragment = docker.replace(" 2026/11/25 13:26:29", "");
    const e = one(fragment);
    expect([e.cause, e.time]).toEqual(["connection_refused", "2026-11-25T12:26:29.488Z"]);
    // The CRI log format of containerd and CRI-O (`<stamp> stderr F <line>`) around a real line.
    const cri = one(`2026-11-25T12:26:29.488122190Z stderr F ${docker.slice(docker.indexOf(" ") + 1)}`);
    expect([cri.cause, cri.upstream, cri.time]).toEqual([
      "connection_refused",
      "127.0.0.1:18190",
      "2026-11-25T12:26:29.000Z",
    ]);
  });

  it("undoes stray spaces", () => {
    // Quoted verbatim in the reference (section 9): a machine translation of a unix-socket line.
    const translated = one(
      file("nginx-error/malformed.txt")
        .split("\n")
        .find((l) => l.startsWith("1706 # ")) ?? "",
    );
    expect(translated.kind).toBe("nginx-error");
    expect(translated.meaning).toContain(
      "failed to connect to `unix:/run/...`, but the line is cut before the reason",
    );
    const spaced = one(REFUSED.replace("connect()", "connect ()"));
    expect([spaced.cause, spaced.upstream]).toEqual(["connection_refused", "127.0.0.1:18190"]);
    const unix = line("nginx-error/captured-1.22-unix.txt", 1);
    const e = one(unix.replace("connect() to unix:/", "connect () to unix: /"));
    expect([e.cause, e.upstream]).toEqual(["fastcgi_socket", "unix:/tmp/why502-ngx.uBgA3o/run/missing.sock"]);
  });

  it("reads kernel lines cut inside their carrier or before the memory figures", () => {
    const inside = one(OOM_KILL.slice(9));
    expect([inside.kind, inside.cause]).toEqual(["kernel", "oom_kill"]);
    expect(inside.meaning).toContain("pid 10258");
    const short = one(OOM_KILL.slice(0, OOM_KILL.indexOf("anon-rss") + 4));
    expect([short.kind, short.cause]).toEqual(["kernel", "oom_kill"]);
    expect(short.meaning).toContain("cut before the memory figures");
    expect(short.meaning).not.toContain("MB of RAM");
    const prefixless = one(OOM_KILL.slice(OOM_KILL.indexOf("out of memory")));
    expect(prefixless.meaning).toContain("does not say whether a cgroup limit or the whole machine");
  });

  it("reads systemd lines cut before the unit or at the end", () => {
    const head = one(`${EXIT_1.slice(0, 3)}${KILLED_9}`.replace("X.s", "vice: Main process exited, "));
    expect([head.kind, head.cause]).toEqual(["systemd", "service_killed"]);
    const counter = line("systemd/journal-unit-results.txt", 3);
    const cut = one(counter.slice(0, counter.indexOf(" 3.")));
    expect([cut.kind, cut.cause]).toEqual(["systemd", "restart"]);
    const exit = one(line("systemd/malformed.txt", 1));
    expect(exit.kind).toBe("systemd");
    expect(exit.meaning).toContain("cut before the code and status");
  });

  it("folds indented frames into the exception line above them", () => {
    const node = file("app/node-uncaught.txt").split("\n");
    const out = explain(node.slice(6, 11).join("\n"));
    expect(out).toHaveLength(1);
    expect(out[0]?.lines).toBe(5);
    expect(out[0]?.meaning).toContain("`TypeError: Cannot read properties of undefined (reading 'id')`");
    const frame = one(node[7] ?? "");
    expect(frame.meaning).toContain("A stack frame: `handler`");
  });
});

describe("kernel, systemd and app lines", () => {
  it.each([
    [line("kernel/dmesg-T-memcg-oom.txt", 81), "oom_kill", undefined, "2026-11-25T12:15:37"],
    [line("kernel/journalctl-k-short-iso.txt", 81), "oom_kill", "2026-11-25T12:15:38.000Z", undefined],
    [line("kernel/journalctl-k-short.txt", 81), "oom_kill", undefined, "2026-11-25T12:15:38"],
    [line("kernel/journalctl-k-short-monotonic.txt", 81), "oom_kill", undefined, undefined],
    [line("kernel/reference-4x-5x.txt", 5), "oom_kill", undefined, undefined],
    [line("kernel/dmesg-raw-memcg-oom.txt", 242), "segfault", undefined, undefined],
  ])("kernel %#", (text, cause, time, localTime) => {
    const e = one(text);
    expect([e.kind, e.cause, e.time, e.localTime]).toEqual(["kernel", cause, time, localTime]);
  });

  it("says the invoker of the OOM killer is not the victim", () => {
    // The header starts an OOM kill; the victim is named by the lines after it.
    const e = one(line("kernel/dmesg-raw-memcg-oom.txt", 2));
    expect([e.kind, e.cause]).toEqual(["kernel", "oom_kill"]);
    expect(e.meaning).toContain("It is often not the process that gets killed");
    expect(e.next).toContain("name the victim");
    const segv = one(line("kernel/dmesg-raw-memcg-oom.txt", 242));
    expect(segv.meaning).toContain(
      "user code read an unmapped address (often a NULL pointer), inside `libc.so.6`",
    );
    expect(segv.next).toContain("coredumpctl info 10469");
  });

  it("reads systemd's results, restarts and show properties", () => {
    // journal-unit-results.txt has `Failed with result 'signal'`; the reference (section 6) lists the other
    // results of the same wording: the test swaps in two of them.
    const signal = line("systemd/journal-unit-results.txt", 1);
    expect([
      one(signal).cause,
      one(signal.replace("signal", "oom-kill")).cause,
      one(signal.replace("signal", "core-dump")).cause,
    ]).toEqual(["service_killed", "oom_kill", "service_killed"]);
    expect(one(signal.replace("signal", "oom-kill")).next).toContain("`Killed process`");
    const restart = one(line("systemd/journal-unit-results.txt", 3));
    expect([restart.cause, restart.meaning]).toEqual([
      "restart",
      expect.stringContaining("restart number 3"),
    ]);
    expect(restart.meaning).toContain("crash loop");
    const limit = one(line("systemd/journal-unit-results.txt", 4));
    expect(limit.meaning).toContain("It stays down");
    const active = one(line("systemd/status.txt", 3));
    expect([active.cause, active.time]).toEqual(["oom_kill", "2025-10-04T21:13:58.000Z"]);
    expect(one(line("systemd/show-p-oom-kill.txt", 1)).cause).toBe("oom_kill");
    expect(one(line("systemd/show-p-oom-kill.txt", 2)).meaning).toContain("3 times");
    const oomd = one(line("systemd/journal-prefixed.txt", 4));
    expect([oomd.kind, oomd.cause]).toEqual(["systemd", "oom_kill"]);
    expect(one(line("systemd/journal-exit-statuses.txt", 10)).meaning).toContain(
      "status 9 (a plain exit code, not a signal)",
    );
  });

  it("reads a prefixed systemd line with its zoned time", () => {
    // The rsyslog prefix of journal-prefixed.txt line 1 (whose message the reference elides) in front of the
    // `Main process exited` wording of journal-exit-statuses.txt line 1 with the status of its line 4.
    const prefix = line("systemd/journal-prefixed.txt", 1).replace("...", "");
    const e = one(`${prefix}${EXIT_1.replace("code=exited, status=1/FAILURE", KILLED_9)}`);
    expect([e.kind, e.cause, e.time]).toEqual(["systemd", "service_killed", "2026-02-08T00:40:07.136Z"]);
  });

  it("reads crash reports as one entry each", () => {
    const py = explain(file("app/python-traceback.txt"));
    expect(py.map((l) => [l.line, l.lines, l.cause])).toEqual([
      [1, undefined, undefined],
      [2, 10, "python_traceback"],
    ]);
    expect(py[1]?.meaning).toContain("`IndexError: list index out of range`");
    expect(py[1]?.meaning).toContain(
      "`first_item` at `/work/main/scripts/capture/crashers/python_traceback.py:12`",
    );
    const node = explain(file("app/node-uncaught.txt"));
    expect(node.map((l) => [l.line, l.lines, l.kind])).toEqual([
      [1, undefined, "app"],
      [2, undefined, "app"],
      [3, 12, "app"],
    ]);
    expect(node[2]?.meaning).toContain("An uncaught exception in Node");
    const java = explain(file("app/java-oom.txt"));
    expect(java.map((l) => [l.line, l.lines, l.cause])).toEqual([
      [1, undefined, undefined],
      [2, 3, "java_oom"],
    ]);
    expect(java[1]?.meaning).toContain("The main thread ended, so the JVM exits");
    const journald = explain(file("app/journalctl-short.txt"));
    expect(journald.filter((l) => l.lines !== undefined).map((l) => l.cause)).toEqual([
      "go_panic",
      "python_traceback",
    ]);
  });

  it("reads worker-server lines and last words", () => {
    const timeout = one(line("app/gunicorn.txt", 5));
    expect([timeout.cause, timeout.time]).toEqual(["worker_timeout", "2026-11-25T12:28:59.000Z"]);
    expect(timeout.meaning).toContain("took longer than its timeout");
    const killed = one(line("app/gunicorn.txt", 8));
    expect(killed.cause).toBe("service_killed");
    expect(killed.next).toContain("`Killed process 19512`");
    const fragment = one(line("app/gunicorn.txt", 5).slice(line("app/gunicorn.txt", 5).indexOf("WORKER")));
    expect([fragment.cause, fragment.time]).toEqual(["worker_timeout", undefined]);
    const fatal = one(line("app/go-log-fatal.txt", 2));
    expect([fatal.kind, fatal.localTime]).toEqual(["app", "2026-11-25T07:28:57"]);
    expect(fatal.meaning).toContain("`log.Fatal` and `os.Exit(1)` leave no stack");
    expect(one(line("app/go-logrus-fatal.txt", 2)).cause).toBe("log_fatal");
    expect(one(line("app/php-fpm.txt", 6)).cause).toBe("pool_exhausted");
  });
});

describe("access log lines", () => {
  it("knows the formats of the fixtures", () => {
    const format = (name: string) => file(`nginx-access/${name}.format`).trim();
    expect([MAIN_FORMAT, MAIN_EXT_FORMAT, UPSTREAM_TIME_FORMAT]).toEqual([
      format("main"),
      format("main_ext"),
      format("upstream_time"),
    ]);
  });

  it.each([
    ["combined.txt", 5, 502],
    ["main.txt", 5, 502],
    ["upstream_time.txt", 5, 502],
    ["main_ext.txt", 4, 504],
    ["main_ext.txt", 14, 499],
    ["main_ext.txt", 1, 200],
  ])("%s line %s: %s", (name, n, status) => {
    const e = one(line(`nginx-access/${name}`, n));
    expect([e.kind, e.status, e.time]).toEqual([
      "nginx-access",
      status,
      expect.stringMatching(/^2026-11-25T12:2\d:\d\d\.000Z$/),
    ]);
  });

  it("says what the upstream fields show", () => {
    const group = one(line("nginx-access/main_ext.txt", 7));
    expect([group.upstream, group.meaning]).toEqual([
      "app_pool",
      expect.stringContaining("`no live upstreams`"),
    ]);
    const retried = one(line("nginx-access/main_ext.txt", 8));
    expect([retried.status, retried.upstream]).toEqual([200, "127.0.0.1:18205, 127.0.0.1:18201"]);
    expect(retried.meaning).toContain("nginx retried on the next server");
    const resolver = one(line("nginx-access/main_ext.txt", 10));
    expect(resolver.meaning).toContain("No upstream was even tried");
  });

  it("reads an access line cut at either end", () => {
    const cutEnd = one(ACCESS_502.slice(0, ACCESS_502.indexOf('"Mozilla')));
    expect([cutEnd.kind, cutEnd.status, cutEnd.time]).toEqual([
      "nginx-access",
      502,
      "2026-11-25T12:21:02.000Z",
    ]);
    const cutStart = one(ACCESS_502.slice(ACCESS_502.indexOf('"GET')));
    expect([cutStart.kind, cutStart.status, cutStart.upstream, cutStart.time]).toEqual([
      "nginx-access",
      502,
      "127.0.0.1:18206",
      undefined,
    ]);
  });

  it("masks secrets in the text and in what it says", () => {
    const e = one(line("nginx-access/main_ext.txt", 3));
    expect(e.status).toBe(404);
    expect(e.masked).toBe(1);
    expect(e.text).toContain("token=***");
    expect(`${e.text} ${e.meaning} ${e.next}`).not.toContain("token=abc");
  });
});

describe("garbage", () => {
  /** Deterministic pseudo-random text (a fixed LCG), as in evidence/no-throw.test.ts. */
  function random(seed: number, lines: number): string {
    let x = seed;
    const out: string[] = [];
    for (let i = 0; i < lines; i++) {
      let l = "";
      x = (x * 1103515245 + 12345) % 2 ** 31;
      for (let j = x % 300; j > 0; j--) {
        x = (x * 1103515245 + 12345) % 2 ** 31;
        l += String.fromCharCode(x % 0x2fff);
      }
      out.push(l);
    }
    return out.join("\n");
  }

  it("never throws, and says so for what it does not recognise", () => {
    const out = explain(random(42, 300));
    expect(out.length).toBeGreaterThan(250);
    expect(out.filter((l) => l.kind !== "unknown")).toEqual([]);
    for (const l of out)
      expect([l.meaning, l.cause]).toEqual(["Nothing I recognise in this line.", undefined]);
    expectSafe(out);
  });

  it("reads the malformed fixture's binary lines, invalid UTF-8 and cuts without throwing", () => {
    const text = file("nginx-error/malformed.txt");
    const decoded = new TextDecoder().decode(readFileSync(`${fixtures}nginx-error/malformed.txt`));
    for (const t of [text, decoded]) expectSafe(explain(t));
    const binary = explain(line("nginx-error/malformed.txt", 9));
    expect(binary.map((l) => l.kind)).toEqual(["unknown"]);
    expect(binary[0]?.text).toContain("\\x00\\x01\\x02");
  });

  it("a 10 KB line, NUL bytes, escape sequences and Slack mentions are shown, never obeyed", () => {
    const long = `${REFUSED} ${"x".repeat(10_240)}`;
    const hostile = [
      long,
      `\u001b[31m${REFUSED}\u001b[0m`,
      `\u001b]0;pwned\u0007\u001b]8;;https://evil.example/\u001b\\${OOM_KILL}\u001b]8;;\u001b\\`,
      `${EXIT_1}\u0000\u0000`,
      `<!channel> <@U024BE7LH> ${"`".repeat(3)}*bold* ~strike~\u202e${KILLED_9}`,
      REFUSED.replace("/refused/api/orders?id=7", "/`*x*`<!channel>&<@U024BE7LH>"),
      "\r\u0007\u0008\u007f\u0085\u009b31m",
    ].join("\n");
    const out = explain(hostile);
    expect(out.map((l) => [l.kind, l.cause])).toEqual([
      ["nginx-error", "connection_refused"],
      ["nginx-error", "connection_refused"],
      ["kernel", "oom_kill"],
      ["systemd", "service_exit"],
      // The status part of a `Main process exited` line, after the junk.
      ["systemd", undefined],
      ["nginx-error", "connection_refused"],
      ["unknown", undefined],
    ]);
    expect(out[0]?.text.length).toBeLessThanOrEqual(4000);
    expect(out[1]?.text).toBe(REFUSED);
    expect(out[2]?.text).toContain("\\x1b]0;pwned\\x07");
    expect(out[3]?.text).toBe(`${EXIT_1}\\x00\\x00`);
    expect(out[4]?.text).toContain("\\u{202e}");
    expectSafe(out);
    const text = renderExplainText(out);
    expect(text.split("\n")[0]?.length).toBeLessThan(220);
    expect(text).toContain("‹!channel› ‹@U024BE7LH›");
    const slack = renderExplainMrkdwn(out).join("\n");
    // the pasted backticks are kept, broken by a zero-width space so that they cannot close the block
    expect(slack).toContain(
      "```&lt;!channel&gt; &lt;@U024BE7LH&gt; ``\u200b`*bold* ~strike~\\u{202e}code=killed",
    );
    expect(slack).toContain(
      "for `GET /ˋ*x*ˋ&lt;!channel&gt;&amp;&lt;@U024BE7LH&gt; HTTP/1.1`: the connection",
    );
  });

  it("keeps Slack output within its limits and counts what it left out", () => {
    const lines = file(HTTP).split("\n");
    const out = explain(lines.join("\n"));
    const sections = renderExplainMrkdwn(out);
    expectSafe(out);
    const last = sections[sections.length - 1] ?? "";
    const shown = sections.join("\n").match(/^\*\d+\*/gm)?.length ?? 0;
    expect(shown).toBeGreaterThan(3);
    expect(shown).toBeLessThan(out.length);
    const notShown = out.slice(shown).reduce((n, l) => n + (l.lines ?? 1), 0);
    expect(last).toContain(`${notShown} more lines not shown (from line ${out[shown]?.line})`);
  });
});
