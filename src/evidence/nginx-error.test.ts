import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { isUnreadable, NginxErrorRecord, nginxErrorParser, parseNginxErrorLine } from "./nginx-error.js";
import { plainRecord } from "./nginx-error-record.js";
import { parseText } from "./run.js";
import type { ParseContext, ParseResult } from "./types.js";

const fixture = (name: string) =>
  readFileSync(new URL(`./__fixtures__/nginx-error/${name}`, import.meta.url), "utf8");
/** The capture ran nginx with TZ=Europe/Berlin in November: UTC+1. */
const berlin: ParseContext = {
  host: "gw-1",
  source: "/var/log/nginx/error.log",
  utcOffsetMinutes: 60,
  now: "2026-11-25T13:00:00.000Z",
};
const utc: ParseContext = { ...berlin, utcOffsetMinutes: 0 };
const parse = (name: string, ctx: ParseContext = berlin) => parseText(nginxErrorParser, fixture(name), ctx);
const at = (result: ParseResult<NginxErrorRecord>, line: number): NginxErrorRecord => {
  const r = result.records.find((x) => x.line === line);
  if (r === undefined) throw new Error(`no record at line ${line}`);
  return r;
};
/** Temporary prefix directory and pids of the capture run (scripts/capture/nginx-signatures.sh). */
const RUN = "/tmp/why502-ngx.uBgA3o";
const WORKER = 26804;
const MASTER = 26791;

describe("nginx-error: plain 1.22 capture (HTTP server)", () => {
  const result = parse("captured-1.22-http.txt");

  it("reads every line, and every record fits the schema", () => {
    expect(result.unreadable).toEqual([]);
    expect(result.records).toHaveLength(78);
    for (const r of result.records) expect(NginxErrorRecord.safeParse(r).success).toBe(true);
  });

  it("reads every field of a refused connect, local time turned into UTC", () => {
    // Every field, the lazily read ones too (toEqual compares own properties only).
    expect(plainRecord(at(result, 2))).toEqual({
      host: "gw-1",
      source: "/var/log/nginx/error.log",
      line: 2,
      text: fixture("captured-1.22-http.txt").split("\n")[1],
      time: "2026-11-25T12:26:12.000Z",
      cause: "connection_refused",
      level: "error",
      pid: WORKER,
      tid: WORKER,
      conn: 3,
      message: "connect() failed (111: Connection refused)",
      errno: 111,
      errnoText: "Connection refused",
      action: "connecting to upstream",
      client: "127.0.0.1",
      server: "gw.test",
      request: "GET /refused/api/orders?id=7 HTTP/1.1",
      method: "GET",
      path: "/refused/api/orders?id=7",
      upstream: "http://127.0.0.1:18190/refused/api/orders?id=7",
      upstreamScheme: "http",
      target: "127.0.0.1:18190",
      targetIsGroup: false,
      httpHost: "127.0.0.1:18000",
      referrer: "https://shop.test/cart",
      status: 502,
    });
  });

  it("has no host field for HTTP/1.0 without Host", () => {
    const r = at(result, 4);
    expect(r).toMatchObject({
      request: "GET /refused/health HTTP/1.0",
      cause: "connection_refused",
      conn: 5,
    });
    expect(r.httpHost).toBeUndefined();
    expect(r.referrer).toBeUndefined();
  });

  it.each([
    [
      5,
      "connection_reset",
      502,
      104,
      "127.0.0.1:18100",
      "recv() failed (104: Connection reset by peer)",
      "12:26:12",
    ],
    [
      7,
      "premature_close",
      502,
      undefined,
      "127.0.0.1:18101",
      "upstream prematurely closed connection",
      "12:26:12",
    ],
    [
      10,
      "read_timeout",
      504,
      110,
      "127.0.0.1:18103",
      "upstream timed out (110: Connection timed out)",
      "12:26:13",
    ],
    [12, "too_big_header", 502, undefined, "127.0.0.1:18104", "upstream sent too big header", "12:26:13"],
    [
      14,
      "invalid_header",
      502,
      undefined,
      "127.0.0.1:18105",
      'upstream sent invalid header: "X-Bad\\x01..."',
      "12:26:13",
    ],
    [
      18,
      "tls_upstream",
      502,
      undefined,
      "127.0.0.1:18107",
      "SSL_do_handshake() failed (SSL: error:0A00010B:SSL routines::wrong version number)",
      "12:26:18",
    ],
    [
      20,
      "tls_upstream",
      502,
      undefined,
      "127.0.0.1:18108",
      "upstream SSL certificate verify error: (18:self-signed certificate)",
      "12:26:19",
    ],
    [
      22,
      "tls_upstream",
      502,
      undefined,
      "127.0.0.1:18109",
      "upstream SSL certificate verify error: (21:unable to verify the first certificate)",
      "12:26:19",
    ],
    [
      24,
      "tls_upstream",
      502,
      undefined,
      "127.0.0.1:18117",
      'upstream SSL certificate does not match "app.internal"',
      "12:26:19",
    ],
    [
      26,
      "tls_upstream",
      502,
      104,
      "127.0.0.1:18113",
      "peer closed connection in SSL handshake (104: Connection reset by peer)",
      "12:26:19",
    ],
    [
      28,
      "tls_upstream",
      502,
      undefined,
      "127.0.0.1:18115",
      "peer closed connection in SSL handshake",
      "12:26:19",
    ],
    [31, "connection_reset", 502, 32, "127.0.0.1:18110", "writev() failed (32: Broken pipe)", "12:26:19"],
    [
      34,
      "connect_timeout",
      502,
      110,
      "127.0.0.1:18111",
      "connect() failed (110: Connection timed out)",
      "12:26:22",
    ],
    [
      36,
      "connect_timeout",
      504,
      110,
      "127.0.0.1:18111",
      "upstream timed out (110: Connection timed out)",
      "12:26:23",
    ],
    [
      38,
      "no_route",
      502,
      113,
      "127.0.0.113:18000",
      "connect() to 127.0.0.113:18000 failed (113: No route to host)",
      "12:26:23",
    ],
    [
      40,
      "no_route",
      502,
      101,
      "127.0.0.101:18000",
      "connect() to 127.0.0.101:18000 failed (101: Network is unreachable)",
      "12:26:23",
    ],
    [47, "no_live_upstreams", 502, undefined, "app_pool", "no live upstreams", "12:26:23"],
  ] as const)(
    "line %i: %s, status %s, errno %s, target %s",
    (line, cause, status, errno, target, message, utcTime) => {
      const r = at(result, line);
      expect(r).toMatchObject({
        cause,
        target,
        message,
        level: "error",
        pid: WORKER,
        time: `2026-11-25T${utcTime}.000Z`,
      });
      expect(r.status).toBe(status);
      expect(r.errno).toBe(errno);
    },
  );

  it("keeps the action the cause depends on", () => {
    expect(at(result, 31).action).toBe("sending request to upstream");
    expect(at(result, 34).action).toBe("connecting to upstream");
    expect(at(result, 36).action).toBe("connecting to upstream");
    expect(at(result, 10).action).toBe("reading response header from upstream");
    expect(at(result, 26).action).toBe("SSL handshaking to upstream");
  });

  it("gives no status when the body phase failed (the client got 200 and a short body)", () => {
    expect(at(result, 9)).toMatchObject({ cause: "premature_close", action: "reading upstream" });
    expect(at(result, 9).status).toBeUndefined();
  });

  it("gives no status for a response without status line: nginx passed it on as HTTP/0.9", () => {
    expect(at(result, 16)).toMatchObject({
      cause: "invalid_header",
      message: "upstream sent no valid HTTP/1.0 header",
    });
    expect(at(result, 16).status).toBeUndefined();
  });

  it("reads a group name as the target of no live upstreams", () => {
    expect(at(result, 47)).toMatchObject({
      upstream: "http://app_pool/pool/refused?id=43",
      target: "app_pool",
      targetIsGroup: true,
      conn: 48,
    });
  });

  it("keeps the target of `upstream server temporarily disabled` but gives it no cause", () => {
    const r = at(result, 43);
    expect(r).toMatchObject({
      level: "warn",
      target: "127.0.0.1:18191",
      message: "upstream server temporarily disabled",
    });
    expect(r.cause).toBeUndefined();
    expect(r.status).toBeUndefined();
  });

  it("shows both tries of one request with the same conn", () => {
    expect([at(result, 51), at(result, 52)].map((r) => [r.conn, r.target, r.cause])).toEqual([
      [50, "127.0.0.1:18190", "connection_refused"],
      [50, "127.0.0.1:18100", "connection_reset"],
    ]);
  });

  it("reads the subrequest and leaves the status to the parent request", () => {
    const r = at(result, 56);
    expect(r).toMatchObject({
      subrequest: "/_auth",
      upstream: "http://127.0.0.1:18190/check",
      cause: "connection_refused",
    });
    expect(r.status).toBeUndefined();
    expect(at(result, 57).cause).toBeUndefined();
  });

  it.each([
    [58, "app.invalid", 3, "Host not found", "12:26:23"],
    [60, "api.internal", 2, "Server failure", "12:26:23"],
    [62, "db.internal", 110, "Operation timed out", "12:26:25"],
    [64, "cache.internal", 110, "Operation timed out", "12:26:27"],
  ] as const)(
    "line %i: resolver failure for %s is dns, 502, without upstream",
    (line, target, errno, text, utcTime) => {
      const r = at(result, line);
      expect(r).toMatchObject({
        cause: "dns",
        status: 502,
        target,
        errno,
        errnoText: text,
        time: `2026-11-25T${utcTime}.000Z`,
      });
      expect(r.upstream).toBeUndefined();
      expect(r.action).toBeUndefined();
    },
  );

  it("reads `no resolver defined` as dns", () => {
    expect(at(result, 66)).toMatchObject({
      cause: "dns",
      status: 502,
      target: "app.internal",
      message: "no resolver defined to resolve app.internal",
    });
  });

  it.each([
    [68, "uwsgi"],
    [70, "scgi"],
    [72, "grpc"],
  ] as const)("line %i: upstream scheme %s", (line, scheme) => {
    expect(at(result, line)).toMatchObject({
      upstreamScheme: scheme,
      target: "127.0.0.1:18190",
      cause: "connection_refused",
    });
  });

  it("reads non-upstream lines as records without a cause", () => {
    expect(at(result, 1)).toMatchObject({
      level: "info",
      conn: 1,
      message: "client 127.0.0.1 closed keepalive connection",
    });
    expect(at(result, 1).cause).toBeUndefined();
    const open = at(result, 75);
    expect(open).toMatchObject({
      errno: 2,
      message: `open() "${RUN}/html/missing/50x.html" failed (2: No such file or directory)`,
    });
    expect(open.cause).toBeUndefined();
    expect(at(result, 30)).toMatchObject({ level: "warn", request: "POST /upload HTTP/1.1" });
    expect(at(result, 30).cause).toBeUndefined();
  });

  it("reads a line nginx cut at its 2048-byte limit, and marks it", () => {
    const r = at(result, 77);
    expect(r.text.length).toBe(2047);
    expect(r).toMatchObject({ truncated: true, cause: "connection_refused", conn: 75, status: 502 });
    expect(r.upstream).toBeUndefined();
    expect(r.request?.startsWith("GET /refused/long?q=xxx")).toBe(true);
  });
});

describe("nginx-error: IPv6", () => {
  const result = parse("captured-1.22-ipv6.txt");

  it("reads bracketed peers and a v6 client", () => {
    expect(result.unreadable).toEqual([]);
    expect(at(result, 1)).toMatchObject({
      client: "::1",
      server: "v6.test",
      upstream: "http://[::1]:18194/refused/",
      target: "[::1]:18194",
      targetIsGroup: false,
      httpHost: "[::1]:18001",
      cause: "connection_refused",
      time: "2026-11-25T12:26:27.000Z",
    });
    expect(at(result, 3)).toMatchObject({ target: "[::1]:18114", cause: "connection_reset", errno: 104 });
    expect(at(result, 5)).toMatchObject({ target: "[::1]:18116", cause: "read_timeout", status: 504 });
  });
});

describe("nginx-error: unix sockets and FastCGI", () => {
  const result = parse("captured-1.22-unix.txt");

  it("reads 21 lines into 18 records: the four-line FastCGI stderr message is one", () => {
    expect(result.unreadable).toEqual([]);
    expect(result.records).toHaveLength(18);
  });

  it.each([
    [
      1,
      "crit",
      2,
      "fastcgi_socket",
      "missing.sock",
      `http://unix:${RUN}/run/missing.sock://`,
      "http",
      "12:26:28",
    ],
    [
      3,
      "crit",
      13,
      "fastcgi_socket",
      "denied.sock",
      `http://unix:${RUN}/run/denied.sock:/denied/`,
      "http",
      "12:26:28",
    ],
    [
      5,
      "error",
      11,
      "pool_exhausted",
      "busy.sock",
      `http://unix:${RUN}/run/busy.sock:/busy/`,
      "http",
      "12:26:28",
    ],
    [
      7,
      "error",
      111,
      "connection_refused",
      "stale.sock",
      `http://unix:${RUN}/run/stale.sock:/stale/`,
      "http",
      "12:26:28",
    ],
    [
      11,
      "crit",
      2,
      "fastcgi_socket",
      "php-fpm.sock",
      `fastcgi://unix:${RUN}/run/php-fpm.sock:`,
      "fastcgi",
      "12:26:29",
    ],
  ] as const)(
    "line %i: [%s] errno %i is %s for %s",
    (line, level, errno, cause, sock, upstream, scheme, utcTime) => {
      expect(at(result, line)).toMatchObject({
        time: `2026-11-25T${utcTime}.000Z`,
        level,
        errno,
        cause,
        status: 502,
        target: `unix:${RUN}/run/${sock}`,
        targetIsGroup: false,
        upstream,
        upstreamScheme: scheme,
        message: expect.stringMatching(
          new RegExp(`^connect\\(\\) to unix:${RUN}/run/${sock} failed \\(${errno}: `),
        ),
      });
    },
  );

  it("reads the socket from an upstream field without the trailing colon (after a timeout)", () => {
    expect(at(result, 9)).toMatchObject({
      upstream: `uwsgi://unix:${RUN}/run/uwsgi-hang.sock`,
      target: `unix:${RUN}/run/uwsgi-hang.sock`,
      cause: "read_timeout",
      status: 504,
    });
  });

  it("gives `Primary script unknown` status 404 and no cause", () => {
    const r = at(result, 13);
    expect(r).toMatchObject({ status: 404, message: 'FastCGI sent in stderr: "Primary script unknown"' });
    expect(r.cause).toBeUndefined();
    expect(r.errno).toBeUndefined();
  });

  it("joins a FastCGI stderr message that spans lines into one record with its fields", () => {
    const r = at(result, 15);
    expect(r.text.split("\n")).toHaveLength(4);
    expect(r).toMatchObject({
      conn: 97,
      action: "reading response header from upstream",
      request: "GET /fatal.php HTTP/1.1",
      target: `unix:${RUN}/run/fcgi-fatal.sock`,
    });
    expect(r.message).toBe(
      'FastCGI sent in stderr: "PHP message: PHP Fatal error:  Uncaught Exception: boom in /var/www/html/index.php:3\n' +
        'Stack trace:\n#0 {main}\n  thrown in /var/www/html/index.php on line 3"',
    );
    expect(r.errno).toBeUndefined();
    expect(at(result, 19).conn).toBe(97);
  });

  it("reads `prematurely closed FastCGI stdout` as premature_close", () => {
    expect(at(result, 20)).toMatchObject({
      cause: "premature_close",
      status: 502,
      message: "upstream prematurely closed FastCGI stdout",
      upstreamScheme: "fastcgi",
    });
  });
});

describe("nginx-error: stream module", () => {
  const result = parse("captured-1.22-stream.txt");

  it("reads byte counts, the listen address as server, and gives no HTTP status", () => {
    expect(result.unreadable).toEqual([]);
    const refused = at(result, 2);
    expect(refused).toMatchObject({
      cause: "connection_refused",
      server: "127.0.0.1:18060",
      upstream: "127.0.0.1:18190",
      target: "127.0.0.1:18190",
      targetIsGroup: false,
      bytes: { fromClient: 0, toClient: 0, fromUpstream: 0, toUpstream: 0 },
    });
    expect(refused.status).toBeUndefined();
    expect(refused.upstreamScheme).toBeUndefined();
    expect(refused.request).toBeUndefined();
    expect(at(result, 5)).toMatchObject({
      cause: "connection_reset",
      action: "proxying and reading from upstream",
      bytes: { fromClient: 79, toClient: 0, fromUpstream: 0, toUpstream: 79 },
    });
    expect(at(result, 11)).toMatchObject({ cause: "no_route", target: "127.0.0.113:18000", errno: 113 });
  });

  it("reads the informational lines without a cause", () => {
    expect(at(result, 6)).toMatchObject({
      message: "upstream disconnected",
      bytes: { fromClient: 79, toUpstream: 79 },
    });
    expect(at(result, 9)).toMatchObject({ level: "info", errno: 110, action: "proxying connection" });
    for (const line of [1, 4, 6, 9]) expect(at(result, line).cause).toBeUndefined();
  });
});

describe("nginx-error: main log, resolver and startup lines", () => {
  const result = parse("captured-1.22-startup.txt");

  it("reads lines without *conn", () => {
    expect(result.unreadable).toEqual([]);
    expect(at(result, 1)).toMatchObject({
      level: "notice",
      pid: MASTER,
      message: 'using the "epoll" event method',
    });
    expect(at(result, 1).conn).toBeUndefined();
    const resolver = at(result, 7);
    expect(resolver).toMatchObject({
      cause: "dns",
      errno: 111,
      action: "resolving",
      resolver: "127.0.0.1:18182",
      message: "send() failed (111: Connection refused)",
    });
    expect(resolver.conn).toBeUndefined();
    expect(resolver.status).toBeUndefined();
  });

  it("reads `host not found in upstream` as dns without status", () => {
    const r = at(result, 16);
    expect(r).toMatchObject({
      level: "emerg",
      cause: "dns",
      target: "app:8080",
      time: "2026-11-25T12:26:32.000Z",
    });
    expect(r.status).toBeUndefined();
  });

  it("reads nginx's stderr form without pid or time, and reports the line that is not a log line", () => {
    const stderr = parse("nginx-t-stderr.txt");
    expect(stderr.records).toHaveLength(1);
    const r = stderr.records[0];
    expect(r).toMatchObject({ level: "emerg", cause: "dns", target: "app:8080" });
    expect(r?.pid).toBeUndefined();
    expect(r?.time).toBeUndefined();
    expect(stderr.unreadable).toEqual([
      expect.objectContaining({ line: 2, reason: "nginx command output, not a log line" }),
    ]);
  });
});

describe("nginx-error: lines from the reference", () => {
  const result = parse("reference-verbatim.txt", utc);

  it("reads an empty server name", () => {
    expect(at(result, 1)).toMatchObject({
      time: "2020-05-07T03:15:12.000Z",
      pid: 6,
      tid: 6,
      conn: 1,
      server: "",
      client: "172.21.0.1",
      target: "172.21.0.19:9000",
      httpHost: "0.0.0.0:9000",
      cause: "connection_refused",
    });
  });

  it("reads a group-less host in the emerg line", () => {
    expect(at(result, 2)).toMatchObject({ level: "emerg", target: "app", cause: "dns" });
  });

  it("reads the #0 thread id of builds without threads (derived: a captured line with its tid set to 0)", () => {
    const real = fixture("captured-1.22-http.txt").split("\n")[4] ?? "";
    const derived = real.replace(`${WORKER}#${WORKER}:`, `${WORKER}#0:`);
    expect(derived).not.toBe(real);
    expect(parseNginxErrorLine(derived, 5, berlin)).toMatchObject({
      pid: WORKER,
      tid: 0,
      conn: 7,
      cause: "connection_reset",
      target: "127.0.0.1:18100",
    });
  });
});

describe("nginx-error: wrappers", () => {
  it("docker --timestamps: the wrapper's zone corrects a wrong host offset", () => {
    const result = parse("docker-timestamps.txt", utc);
    expect(result.unreadable).toEqual([]);
    expect(result.records).toHaveLength(6);
    // nginx wrote 13:26:29 (Berlin); the host offset given is 0; docker stamped 12:26:29.488Z.
    expect(at(result, 1)).toMatchObject({
      time: "2026-11-25T12:26:29.000Z",
      cause: "connection_refused",
      conn: 101,
    });
    expect(at(result, 1).text.startsWith("2026-11-25T12:26:29.488122190Z 2026/11/25")).toBe(true);
    expect(at(result, 5)).toMatchObject({ cause: "premature_close", target: "127.0.0.1:18101" });
  });

  it("compose prefixes, with the ANSI colours and their remnants", () => {
    const result = parse("compose-prefixed.txt");
    const plain = parse("captured-1.22-http.txt").records.filter((r) => /\[(error|crit|warn)\]/.test(r.text));
    expect(result.unreadable).toEqual([]);
    expect(result.records).toHaveLength(12);
    result.records.forEach((r, i) => {
      const { line, text, ...rest } = plain[i] as NginxErrorRecord;
      expect(r).toMatchObject(rest);
      expect(r.text).not.toBe(text);
    });
  });

  it("nginx's own syslog output, on the wire and as rsyslog writes it", () => {
    for (const name of ["syslog-wire.txt", "syslog-rsyslog-traditional.txt"]) {
      const result = parse(name);
      expect(at(result, 1)).toMatchObject({
        time: "2026-11-25T12:26:29.000Z",
        cause: "connection_refused",
        conn: 107,
        server: "syslog.test",
      });
      expect(at(result, 5)).toMatchObject({ cause: "read_timeout", status: 504 });
    }
  });

  it("journald-style `nginx[pid]:` lines replayed later keep nginx's own time", () => {
    for (const [name, ctx] of [
      ["syslog-rsyslog-traditional.txt", berlin],
      ["syslog-rsyslog-rfc3339.txt", utc],
    ] as const) {
      const result = parse(name, ctx);
      expect(result.records).toHaveLength(83);
      // Written at 13:26:32.093+01:00 by logger; nginx logged it at 13:26:12 Berlin.
      expect(at(result, 8)).toMatchObject({
        time: "2026-11-25T12:26:12.000Z",
        conn: 3,
        cause: "connection_refused",
      });
      // logger split the 2047-byte line in two messages.
      expect(result.unreadable.map((u) => [u.line, u.reason])).toEqual([
        [83, "truncated line"],
        [84, "not an nginx error-log line"],
      ]);
    }
  });
});

describe("nginx-error: malformed input", () => {
  const result = parse("malformed.txt");

  it("reports cut, pager-truncated, binary and foreign lines, and skips blank ones", () => {
    expect(result.unreadable.map((u) => [u.line, u.reason])).toEqual([
      [1, "not an nginx error-log line"],
      [2, "not an nginx error-log line"],
      [3, "truncated line"],
      [4, "truncated line"],
      [5, "truncated line"],
      [7, "truncated line"],
      [8, "truncated line (pager $)"],
      [9, "binary data"],
      [10, "binary data"],
      [13, "not an nginx error-log line"],
      [14, "not an nginx error-log line"],
    ]);
  });

  it("cannot tell a cut inside an unquoted field: that line is a record with what it has", () => {
    expect(result.records.map((r) => r.line)).toEqual([6, 15]);
    expect(at(result, 6)).toMatchObject({ server: "gw.tes", cause: "connection_refused" });
    expect(at(result, 15)).toMatchObject({ cause: "no_live_upstreams", target: "app_pool" });
  });

  it("never throws, and gives exactly one answer for any prefix of any real line", () => {
    const lines = [
      "captured-1.22-http.txt",
      "captured-1.22-stream.txt",
      "docker-timestamps.txt",
      "syslog-wire.txt",
    ]
      .flatMap((name) => fixture(name).split("\n"))
      .filter((l) => l !== "");
    for (const line of lines) {
      for (let n = 0; n <= line.length; n += 7) {
        const r = parseNginxErrorLine(line.slice(0, n), 1, berlin);
        if (!isUnreadable(r)) expect(NginxErrorRecord.safeParse(r).success).toBe(true);
      }
    }
    const bytes = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join("");
    for (const line of [
      bytes,
      "\ufffd".repeat(9),
      "[error]",
      "2026/99/99 99:99:99 [error] 1#1: x",
      "nginx: [",
    ]) {
      expect(isUnreadable(parseNginxErrorLine(line, 1, berlin))).toBe(true);
    }
  });

  it("knows only nginx's eight levels, not the names every object has", () => {
    for (const level of ["toString", "constructor", "valueOf", "__proto__"]) {
      const r = parseNginxErrorLine(`nginx: [${level}] something`, 1, berlin);
      expect(r).toMatchObject({ reason: "nginx command output, not a log line" });
      const stamped = parseNginxErrorLine(`2026/11/25 13:19:16 [${level}] 1#1: something`, 1, berlin);
      expect(stamped).toMatchObject({ reason: "unknown level" });
    }
  });

  it("flushes an unfinished multi-line FastCGI message at end() and at the next record", () => {
    const lines = fixture("captured-1.22-unix.txt").split("\n");
    const opening = lines[14] ?? "";
    const next = lines[19] ?? "";
    const cut = parseText(nginxErrorParser, [opening, "Stack trace:"].join("\n"), berlin);
    expect(cut.records).toHaveLength(1);
    expect(cut.records[0]?.text).toBe(`${opening}\nStack trace:`);
    expect(cut.records[0]?.client).toBeUndefined();
    const interrupted = parseText(nginxErrorParser, [opening, "Stack trace:", next].join("\n"), berlin);
    expect(interrupted.records.map((r) => [r.line, r.conn])).toEqual([
      [1, 97],
      [3, 99],
    ]);
  });
});
