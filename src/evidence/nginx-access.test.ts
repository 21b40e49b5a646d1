import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { COMBINED_FORMAT, compileLogFormat, matchLogFormatPart } from "./log-format.js";
import { formatForAccessLog, NginxAccessRecord, nginxAccessParser } from "./nginx-access.js";
import { nginxConfParser, summarizeConf } from "./nginx-conf.js";
import { parseText } from "./run.js";
import type { ParseContext } from "./types.js";

const dir = new URL("./__fixtures__/nginx-access/", import.meta.url);
const read = (name: string) => readFileSync(new URL(name, dir), "utf8");
const ctx = (format?: string): ParseContext => ({
  host: "gw1",
  source: "/var/log/nginx/access.log",
  utcOffsetMinutes: 0,
  ...(format === undefined ? {} : { options: { format } }),
});
const parse = (name: string) =>
  parseText(nginxAccessParser, read(`${name}.txt`), ctx(read(`${name}.format`)));
const VARIANTS = ["combined", "main", "upstream_time", "main_ext", "json", "iso_msec"];

describe("nginx-access fixtures", () => {
  it.each(VARIANTS)("%s: every line is read and valid against the schema", (name) => {
    const { records, unreadable } = parse(name);
    expect(unreadable).toEqual([]);
    expect(records).toHaveLength(19);
    for (const r of records) expect(NginxAccessRecord.safeParse(r).success).toBe(true);
    expect(records.map((r) => r.status)).toEqual([
      200, 200, 404, 504, 502, 502, 502, 200, 200, 502, 200, 200, 200, 499, 200, 400, 400, 200, 200,
    ]);
    expect(records.every((r) => r.cause === undefined)).toBe(true);
  });

  it.each(VARIANTS)("%s.format is the log_format nginx read", (name) => {
    const conf = summarizeConf(parseText(nginxConfParser, read("nginx-T.txt"), ctx()).records);
    expect(conf.logFormats[name]).toBe(read(`${name}.format`));
  });

  it("combined: fields, zone-aware time, the default format", () => {
    const { records } = parseText(nginxAccessParser, read("combined.txt"), ctx());
    const r = records[1];
    expect(r).toMatchObject({
      host: "gw1",
      source: "/var/log/nginx/access.log",
      line: 2,
      time: "2026-11-25T12:21:01.000Z",
      remoteAddr: "127.0.0.1",
      remoteUser: null,
      request: "GET / HTTP/1.1",
      method: "GET",
      path: "/",
      protocol: "HTTP/1.1",
      status: 200,
      bodyBytesSent: 19,
      referer: "http://gw.example.test/start",
      userAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    });
    expect(r?.text).toBe(read("combined.txt").split("\n")[1]);
    expect(r?.upstreams).toBeUndefined();
    expect(records[11]).toMatchObject({ method: "POST", path: "/form", remoteUser: "alice" });
    expect(records[12]?.userAgent).toBe('agent with "quotes" and \\backslash ü');
    expect(records[12]?.vars.http_user_agent).toBe(
      "agent with \\x22quotes\\x22 and \\x5Cbackslash \\xC3\\xBC",
    );
    expect(records[14]).toMatchObject({ method: "GET", path: "/old", protocol: "HTTP/1.0" });
  });

  it("combined: requests that are not HTTP keep the raw request and no method", () => {
    const { records } = parse("combined");
    expect(records[15]?.method).toBeUndefined();
    expect(records[15]?.request?.startsWith("\u0016\u0003\u0001")).toBe(true);
    expect(records[16]).toMatchObject({
      request: "garbage",
      status: 400,
      bodyBytesSent: 157,
      userAgent: null,
    });
    expect(records[16]?.method).toBeUndefined();
  });

  it("main: X-Forwarded-For list", () => {
    const { records } = parse("main");
    expect(records[1]?.forwardedFor).toBe("203.0.113.7, 10.0.0.2");
    expect(records[0]?.forwardedFor).toBeNull();
  });

  it("upstream_time: timings without addresses, no space before rt=", () => {
    const { records } = parse("upstream_time");
    expect(records[3]).toMatchObject({
      status: 504,
      requestTime: 1.001,
      userAgent: expect.stringContaining("Firefox"),
    });
    expect(records[3]?.upstreams).toEqual([
      {
        group: 0,
        addr: null,
        isGroup: false,
        status: null,
        responseTime: 1.002,
        connectTime: 0,
        headerTime: null,
      },
    ]);
    expect(records[9]?.upstreams).toEqual([]);
  });

  it("main_ext: attempts, no live upstreams, redirect groups, resolver failure, 499", () => {
    const { records } = parse("main_ext");
    const [first, second, mixed, redir, resolve] = [5, 6, 7, 8, 9].map((i) => records[i]);
    expect(first?.upstreams).toEqual([
      {
        group: 0,
        addr: "127.0.0.1:18203",
        isGroup: false,
        status: 502,
        responseTime: 0,
        connectTime: null,
        headerTime: null,
      },
      {
        group: 0,
        addr: "127.0.0.1:18204",
        isGroup: false,
        status: 502,
        responseTime: 0,
        connectTime: null,
        headerTime: null,
      },
    ]);
    expect(second?.upstreams).toEqual([
      {
        group: 0,
        addr: "app_pool",
        isGroup: true,
        status: 502,
        responseTime: 0,
        connectTime: null,
        headerTime: null,
      },
    ]);
    expect(mixed?.status).toBe(200);
    expect(mixed?.upstreams?.map((a) => [a.addr, a.status, a.connectTime])).toEqual([
      ["127.0.0.1:18205", 502, null],
      ["127.0.0.1:18201", 200, 0],
    ]);
    expect(redir?.upstreams?.map((a) => [a.group, a.addr, a.status])).toEqual([
      [0, "127.0.0.1:18206", 502],
      [1, "127.0.0.1:18201", 200],
    ]);
    expect(resolve).toMatchObject({ status: 502, requestTime: 1.001, upstreams: [] });
    expect(resolve?.vars).toMatchObject({ upstream_addr: "-", upstream_status: "-" });
    expect(records[13]).toMatchObject({ status: 499, requestTime: 0.301 });
    expect(records[13]?.upstreams).toEqual([
      {
        group: 0,
        addr: "127.0.0.1:18201",
        isGroup: false,
        status: null,
        responseTime: 0.301,
        connectTime: 0,
        headerTime: null,
      },
    ]);
  });

  it("json (escape=json): JSON escapes undone, empty values as null, groups", () => {
    const { records } = parse("json");
    expect(records[12]?.userAgent).toBe('agent with "quotes" and \\backslash ü');
    expect(records[0]).toMatchObject({ remoteUser: null, referer: null, time: "2026-11-25T12:21:01.000Z" });
    expect(records[8]?.upstreams?.map((a) => [a.group, a.addr, a.status])).toEqual([
      [0, "127.0.0.1:18206", 502],
      [1, "127.0.0.1:18201", 200],
    ]);
    expect(records[6]?.upstreams?.[0]).toMatchObject({ addr: "app_pool", isGroup: true });
    expect(records[9]?.upstreams).toEqual([]);
  });

  it("iso_msec: millisecond time from $msec, unquoted lists, connection numbers, custom variables", () => {
    const { records } = parse("iso_msec");
    expect(records[0]?.time).toBe("2026-11-25T12:21:01.770Z");
    expect(records[5]?.upstreams?.map((a) => a.addr)).toEqual(["127.0.0.1:18203", "127.0.0.1:18204"]);
    expect(records[5]?.connection).toBe(11);
    expect(records[17]).toMatchObject({ connection: 36, connectionRequests: 1 });
    expect(records[18]).toMatchObject({
      connection: 36,
      connectionRequests: 2,
      time: "2026-11-25T12:21:04.248Z",
    });
    expect(records[18]?.vars).toMatchObject({
      pipe: ".",
      host: "127.0.0.1",
      request_id: "88812dfa796f3f772de75bdbe3825145",
    });
    expect(records[14]?.vars.host).toBe("gw.example.test");
  });

  it("captured-main-ext.log (the lab's main_ext capture): every line read, unix peers are not groups", () => {
    const text = read("captured-main-ext.log");
    const { records, unreadable } = parseText(nginxAccessParser, text, ctx(read("main_ext.format")));
    expect(unreadable).toEqual([]);
    expect(records).toHaveLength(text.split("\n").filter((l) => l.trim() !== "").length);
    const unix = records.flatMap((r) => r.upstreams ?? []).filter((a) => a.addr?.startsWith("unix:"));
    expect(unix.length).toBeGreaterThan(0);
    expect(unix.every((a) => !a.isGroup)).toBe(true);
    expect(records.find((r) => r.vars.status === "009")?.status).toBe(9);
  });

  it("$time_iso8601 alone gives the time when $msec is absent", () => {
    const line = read("iso_msec.txt").split("\n")[0] ?? "";
    const format = read("iso_msec.format").replace("$msec", "$msec_renamed");
    const { records } = parseText(nginxAccessParser, line, ctx(format));
    expect(records[0]?.time).toBe("2026-11-25T12:21:01.000Z");
    expect(records[0]?.vars.msec_renamed).toBe("1795609261.770");
  });
});

describe("nginx-access malformed input", () => {
  const real = read("main_ext.txt").split("\n")[5] ?? "";

  it("garbage, truncated and binary lines are unreadable; blank lines are skipped", () => {
    const text = ["garbage here", "", real.slice(0, 80), "\u0000\u0001\u00ff\ufffd binary", "   ", real].join(
      "\n",
    );
    const { records, unreadable } = parseText(nginxAccessParser, text, ctx(read("main_ext.format")));
    expect(records.map((r) => r.line)).toEqual([6]);
    expect(unreadable.map((u) => [u.line, u.reason])).toEqual([
      [1, "does not match log_format"],
      [3, "does not match log_format"],
      [4, "does not match log_format"],
    ]);
    expect(unreadable[1]?.text).toBe(real.slice(0, 80));
  });

  it("a line in another format than configured does not match", () => {
    const { records, unreadable } = parseText(nginxAccessParser, read("iso_msec.txt"), ctx(COMBINED_FORMAT));
    expect(records).toEqual([]);
    expect(unreadable).toHaveLength(19);
  });

  it("a docker --timestamps wrapper is stripped when the raw line does not match", () => {
    const line = read("combined.txt").split("\n")[1] ?? "";
    const { records } = parseText(nginxAccessParser, `2026-11-25T12:21:01.123456789Z ${line}`, ctx());
    expect(records[0]).toMatchObject({ status: 200, path: "/", time: "2026-11-25T12:21:01.000Z" });
    expect(records[0]?.text).toBe(`2026-11-25T12:21:01.123456789Z ${line}`);
  });

  it("an invalid log_format makes every line unreadable with the reason", () => {
    const { records, unreadable } = parseText(
      nginxAccessParser,
      `${real}\n\n${real}`,
      ctx("$remote_addr ${oops"),
    );
    expect(records).toEqual([]);
    expect(unreadable.map((u) => u.line)).toEqual([1, 3]);
    expect(unreadable[0]?.reason).toMatch(/^invalid log_format: missing closing bracket/);
  });
});

describe("compileLogFormat", () => {
  it("builds one anchored regex and caches it", () => {
    const a = compileLogFormat(COMBINED_FORMAT);
    expect(a).toBe(compileLogFormat(COMBINED_FORMAT));
    if ("error" in a) throw new Error(a.error);
    expect(a.variables).toEqual([
      "remote_addr",
      "remote_user",
      "time_local",
      "request",
      "status",
      "body_bytes_sent",
      "http_referer",
      "http_user_agent",
    ]);
    expect(a.regex.source.startsWith("^")).toBe(true);
    expect(a.regex.source.endsWith("$")).toBe(true);
    expect(a.escape).toBe("default");
  });

  // biome-ignore lint/suspicious/noTemplateCurlyInString: nginx's ${name} variable syntax
  it("honours a leading escape=json and ${name}", () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: nginx's ${name} variable syntax
    const c = compileLogFormat('escape=json {"a":"${remote_addr}x","s":$status}');
    if ("error" in c) throw new Error(c.error);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: nginx's ${name} variable syntax
    expect(c).toMatchObject({ escape: "json", format: '{"a":"${remote_addr}x","s":$status}' });
    expect(c.regex.exec('{"a":"1.2.3.4x","s":502}')?.slice(1)).toEqual(["1.2.3.4", "502"]);
    expect(c.regex.exec('{"a":"a\\"bx","s":502}')?.slice(1)).toEqual(['a\\"b', "502"]);
  });

  it("reports bad formats", () => {
    expect(compileLogFormat("")).toEqual({ error: "empty log_format" });
    expect(compileLogFormat("just text")).toEqual({ error: "log_format has no variables" });
    expect(compileLogFormat("$ x")).toEqual({ error: "invalid variable name at offset 0" });
  });
});

describe("matchLogFormatPart", () => {
  const iso = compileLogFormat(read("iso_msec.format"));
  const line = read("iso_msec.txt").split("\n")[8] ?? "";

  it("reads the longest run of the format a cut line holds whole, numbers placed as numbers", () => {
    if ("error" in iso) throw new Error(iso.error);
    expect(line).toContain(
      '"GET /redir/x HTTP/1.1" 200 19 0.001 127.0.0.1:18206 : 127.0.0.1:18201 502 : 200',
    );
    // cut inside the address before it and inside $connection after it: `:` is no connection number
    const cut = line.slice(line.indexOf(".0.1 "), line.indexOf("0.000 : 0.000 ") + 14);
    expect(matchLogFormatPart(iso, cut, "status")).toMatchObject({
      request: "GET /redir/x HTTP/1.1",
      status: "200",
      upstream_addr: "127.0.0.1:18206 : 127.0.0.1:18201",
      upstream_status: "502 : 200",
      upstream_response_time: "0.000 : 0.000",
    });
    expect(matchLogFormatPart(iso, cut, "status")?.connection).toBeUndefined();
  });

  it("needs the variable asked for, whole, with the text around it", () => {
    if ("error" in iso) throw new Error(iso.error);
    expect(matchLogFormatPart(iso, line.slice(0, line.indexOf(" 200 ") + 2), "status")).toBeUndefined();
    expect(matchLogFormatPart(iso, "hello world", "status")).toBeUndefined();
  });
});

describe("formatForAccessLog", () => {
  const conf = summarizeConf(
    parseText(
      nginxConfParser,
      readFileSync(new URL("../nginx-conf/main-ext-includes.txt", dir), "utf8"),
      ctx(),
    ).records,
  );

  it("picks the access_log's format by path, combined by default", () => {
    expect(formatForAccessLog(conf, "/tmp/why502-conf/main-ext-includes/logs/shop.access.log")).toBe(
      read("main_ext.format"),
    );
    expect(formatForAccessLog(conf, "/tmp/why502-conf/main-ext-includes/logs/shop.json.log")).toMatch(
      /^escape=json \{"time_local":"\$time_local",/,
    );
    expect(formatForAccessLog(conf, "/var/log/nginx/static.log")).toBe(read("main.format"));
    expect(formatForAccessLog(conf, "/nowhere/else.log")).toBeUndefined();
  });

  it("the access capture's own config gives each file its format", () => {
    const own = summarizeConf(parseText(nginxConfParser, read("nginx-T.txt"), ctx()).records);
    expect(formatForAccessLog(own, "/tmp/why502-access/logs/combined.log")).toBe(COMBINED_FORMAT);
    const format = formatForAccessLog(own, "/tmp/why502-access/logs/json.log");
    const { records, unreadable } = parseText(nginxAccessParser, read("json.txt"), ctx(format));
    expect(unreadable).toEqual([]);
    expect(records[5]?.upstreams).toHaveLength(2);
  });
});
