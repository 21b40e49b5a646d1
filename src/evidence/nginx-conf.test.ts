import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { COMBINED_FORMAT } from "./log-format.js";
import {
  NginxConf,
  NginxConfRecord,
  nginxConfParser,
  parseDuration,
  parseSize,
  summarizeConf,
} from "./nginx-conf.js";
import { parseText } from "./run.js";
import type { ParseContext } from "./types.js";

const dir = new URL("./__fixtures__/nginx-conf/", import.meta.url);
const read = (name: string) => readFileSync(new URL(`${name}.txt`, dir), "utf8");
const ctx: ParseContext = { host: "gw1", source: "nginx -T", utcOffsetMinutes: 60 };
const parse = (text: string) => parseText(nginxConfParser, text, ctx);
const summary = (name: string) => summarizeConf(parse(read(name)).records);
const VARIANTS = [
  "debian-stock",
  "upstream-group",
  "php-fpm",
  "uwsgi-grpc",
  "main-ext-includes",
  "resolver-variable",
  "syntax-edge",
  "test-failed",
];

const location = (conf: NginxConf, id: string) => {
  const found = conf.servers.flatMap((s) => s.locations).find((l) => l.id === id);
  if (!found) throw new Error(`no location ${id}`);
  return found;
};

describe("nginx-conf fixtures", () => {
  it.each(VARIANTS)("%s: read without unreadable lines, records and summary valid", (name) => {
    const { records, unreadable } = parse(read(name));
    expect(unreadable).toEqual([]);
    for (const r of records) expect(NginxConfRecord.safeParse(r).success).toBe(true);
    const conf = summarizeConf(records);
    expect(NginxConf.safeParse(conf).success).toBe(true);
    expect(conf.logFormats.combined).toBe(COMBINED_FORMAT);
  });

  it("upstream-group: servers with their effective parameters, keepalive, other directives", () => {
    const conf = summary("upstream-group");
    const pool = conf.upstreams.app_pool;
    expect(pool).toMatchObject({
      name: "app_pool",
      module: "http",
      keepalive: 16,
      file: "/tmp/why502-conf/upstream-group/nginx.conf",
      line: 17,
      fileLine: 14,
    });
    expect(pool?.servers.map((s) => [s.address, s.host, s.port, s.params])).toEqual([
      [
        "127.0.0.1:18301",
        "127.0.0.1",
        18301,
        {
          weight: 1,
          max_fails: 3,
          fail_timeout: 30,
          backup: false,
          down: false,
          resolve: false,
          max_conns: 0,
          other: {},
        },
      ],
      [
        "127.0.0.1:18302",
        "127.0.0.1",
        18302,
        {
          weight: 2,
          max_fails: 1,
          fail_timeout: 10,
          backup: false,
          down: false,
          resolve: false,
          max_conns: 100,
          other: {},
        },
      ],
      [
        "localhost:18303",
        "localhost",
        18303,
        {
          weight: 1,
          max_fails: 1,
          fail_timeout: 10,
          backup: true,
          down: false,
          resolve: false,
          max_conns: 0,
          other: {},
        },
      ],
      [
        "127.0.0.1:18304",
        "127.0.0.1",
        18304,
        {
          weight: 1,
          max_fails: 1,
          fail_timeout: 10,
          backup: false,
          down: true,
          resolve: false,
          max_conns: 0,
          other: {},
        },
      ],
    ]);
    expect(pool?.servers[0]?.source).toEqual({
      host: "gw1",
      source: "nginx -T",
      line: 20,
      text: "        server 127.0.0.1:18301 max_fails=3 fail_timeout=30s;",
    });
    expect(pool?.directives).toEqual([
      { name: "zone", args: ["app_pool", "64k"], line: 18 },
      { name: "least_conn", args: [], line: 19 },
      { name: "keepalive_timeout", args: ["30s"], line: 25 },
    ]);
    expect(conf.upstreams.api?.keepalive).toBeNull();
  });

  it("upstream-group: locations resolve to groups and inherit timeouts and buffers", () => {
    const conf = summary("upstream-group");
    expect(conf.servers).toHaveLength(1);
    expect(conf.servers[0]).toMatchObject({
      id: "s0",
      listen: ["127.0.0.1:18300"],
      serverName: ["app.example.test", "www.app.example.test"],
      line: 32,
      fileLine: 29,
    });
    expect(location(conf, "s0/l0")).toMatchObject({
      path: "/",
      proxyPass: "http://app_pool",
      target: "app_pool",
      upstream: "app_pool",
      proxyReadTimeout: 75,
      proxyConnectTimeout: 5,
      proxySendTimeout: 60,
      proxyBufferSize: 8192,
      proxyNextUpstream: ["error", "timeout"],
      fastcgiBufferSize: 4096,
    });
    expect(location(conf, "s0/l1")).toMatchObject({
      path: "/api/",
      target: "api",
      upstream: "api",
      proxyReadTimeout: 90,
      proxyNextUpstream: ["error", "timeout", "http_502"],
    });
    expect(location(conf, "s0/l1/l0")).toMatchObject({
      path: "/api/slow/",
      upstream: "api",
      proxyReadTimeout: 90,
      proxyConnectTimeout: 5,
      proxyBufferSize: 16384,
      proxyNextUpstream: ["error", "timeout", "http_502"],
    });
    expect(location(conf, "s0/l2")).toMatchObject({
      modifier: "=",
      path: "/direct",
      target: "127.0.0.1:18306",
      upstream: null,
      proxySendTimeout: 0.5,
      proxyReadTimeout: 75,
    });
  });

  it("upstream-group: nginx's stderr lines mixed in become check records", () => {
    const { records } = parse(read("upstream-group"));
    const checks = records.filter((r) => r.entity === "check");
    expect(checks.map((c) => [c.line, c.ok, c.level])).toEqual([
      [1, true, null],
      [2, true, null],
    ]);
    const file = records.find((r) => r.entity === "file");
    expect(file).toMatchObject({ line: 3, file: "/tmp/why502-conf/upstream-group/nginx.conf", fileLine: 0 });
    expect(summarizeConf(records).check).toEqual({
      ok: true,
      messages: [
        "the configuration file /tmp/why502-conf/upstream-group/nginx.conf syntax is ok",
        "configuration file /tmp/why502-conf/upstream-group/nginx.conf test is successful",
      ],
    });
  });

  it("php-fpm: unix sockets, upstream of fastcgi, includes expanded in place with their own lines", () => {
    const { records } = parse(read("php-fpm"));
    const conf = summarizeConf(records);
    expect(conf.files).toEqual([
      "/tmp/why502-conf/php-fpm/nginx.conf",
      "/tmp/why502-conf/php-fpm/snippets/fastcgi-php.conf",
      "/tmp/why502-conf/php-fpm/fastcgi.conf",
    ]);
    expect(conf.upstreams.php?.servers[0]).toMatchObject({
      address: "unix:/run/php/php8.2-fpm.sock",
      host: null,
      port: null,
      unix: "/run/php/php8.2-fpm.sock",
      params: { max_fails: 0 },
    });
    expect(conf.upstreams.php?.servers[1]).toMatchObject({
      address: "127.0.0.1:18310",
      params: { backup: true },
    });
    expect(location(conf, "s0/l1")).toMatchObject({
      modifier: "~",
      path: "\\.php$",
      fastcgiPass: "unix:/run/php/php8.2-fpm.sock",
      target: "unix:/run/php/php8.2-fpm.sock",
      upstream: null,
      fastcgiBufferSize: 32768,
      fastcgiReadTimeout: 300,
    });
    expect(location(conf, "s0/l2/l0")).toMatchObject({
      fastcgiPass: "php",
      upstream: "php",
      fastcgiBufferSize: 65536,
      fastcgiReadTimeout: 60,
    });
    const split = records.filter((r) => r.entity === "setting" && r.name === "fastcgi_split_path_info");
    expect(split.map((r) => r.entity === "setting" && [r.scope, r.file, r.line, r.fileLine, r.args])).toEqual(
      [
        ["s0/l1", "/tmp/why502-conf/php-fpm/snippets/fastcgi-php.conf", 48, 2, ["^(.+?\\.php)(/.*)$"]],
        ["s0/l2/l0", "/tmp/why502-conf/php-fpm/snippets/fastcgi-php.conf", 48, 2, ["^(.+?\\.php)(/.*)$"]],
      ],
    );
    const params = records.flatMap((r) => (r.entity === "setting" && r.name === "fastcgi_param" ? [r] : []));
    expect(new Set(params.map((r) => r.file))).toEqual(
      new Set([
        "/tmp/why502-conf/php-fpm/snippets/fastcgi-php.conf",
        "/tmp/why502-conf/php-fpm/fastcgi.conf",
      ]),
    );
    expect(params.filter((r) => r.scope === "s0/l1")).toHaveLength(22);
  });

  it("uwsgi-grpc: uwsgi and grpc passes, stream servers and stream upstreams", () => {
    const conf = summary("uwsgi-grpc");
    expect(location(conf, "s0/l0")).toMatchObject({
      uwsgiPass: "unix:/run/uwsgi/app.sock",
      target: "unix:/run/uwsgi/app.sock",
      uwsgiReadTimeout: 120,
    });
    expect(location(conf, "s0/l1")).toMatchObject({
      uwsgiPass: "127.0.0.1:18323",
      target: "127.0.0.1:18323",
    });
    expect(location(conf, "s1/l0")).toMatchObject({
      grpcPass: "grpc://grpc_backend",
      upstream: "grpc_backend",
      grpcReadTimeout: 3600,
    });
    expect(location(conf, "s1/l1")).toMatchObject({
      grpcPass: "grpcs://127.0.0.1:18325",
      target: "127.0.0.1:18325",
    });
    expect(conf.servers[1]?.listen).toEqual(["127.0.0.1:18324 http2"]);
    expect(conf.servers[2]).toMatchObject({
      module: "stream",
      proxyPass: "db",
      upstream: "db",
      locations: [],
    });
    expect(conf.upstreams.db).toMatchObject({ module: "stream" });
    expect(
      conf.upstreams.db?.servers.map((s) => [s.address, s.params.max_fails, s.params.fail_timeout]),
    ).toEqual([
      ["127.0.0.1:18326", 2, 5],
      ["127.0.0.1:18327", 1, 10],
    ]);
    expect(conf.upstreams.grpc_backend?.keepalive).toBe(8);
  });

  it("main-ext-includes: log formats joined, access logs with format/params/scope, file attribution", () => {
    const conf = summary("main-ext-includes");
    expect(conf.files).toHaveLength(5);
    expect(conf.logFormats.main_ext).toBe(
      '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" ' +
        '"$http_user_agent" "$http_x_forwarded_for" rt=$request_time uct="$upstream_connect_time" ' +
        'uht="$upstream_header_time" urt="$upstream_response_time" ua="$upstream_addr" us="$upstream_status"',
    );
    expect(conf.logFormats.json_combined).toBe(
      'escape=json {"time_local":"$time_local","remote_addr":"$remote_addr","request":"$request",' +
        '"status": "$status","upstream_addr":"$upstream_addr"}',
    );
    const logs = "/tmp/why502-conf/main-ext-includes/logs/";
    expect(
      conf.accessLogs.map((a) => [a.path.replace(logs, ""), a.format, a.params, a.scope, a.conditional]),
    ).toEqual([
      ["access.log", "main_ext", [], "http", false],
      ["shop.access.log", "main_ext", ["buffer=32k", "flush=5s"], "s0", false],
      ["shop.json.log", "json_combined", [], "s0", false],
      ["shop.post.log", "main", [], "s0/l0", true],
      ["off", "", [], "s0/l1", false],
      ["static.log", "main", ["if=$loggable"], "s1", false],
    ]);
    expect(conf.accessLogs[1]).toMatchObject({
      file: "/tmp/why502-conf/main-ext-includes/conf.d/20-shop.conf",
      line: 53,
      fileLine: 4,
    });
    expect(conf.errorLogs.map((e) => [e.path.replace(logs, ""), e.level, e.scope])).toEqual([
      ["error.log", "error", "main"],
      ["http-error.log", "info", "http"],
      ["shop.error.log", "warn", "s0"],
    ]);
    expect(conf.upstreams.shop).toMatchObject({
      file: "/tmp/why502-conf/main-ext-includes/conf.d/10-upstreams.conf",
      line: 44,
      fileLine: 1,
    });
    expect(conf.servers.map((s) => [s.id, s.file.split("/").pop(), s.line, s.fileLine])).toEqual([
      ["s0", "20-shop.conf", 50, 1],
      ["s1", "30-static.conf", 78, 6],
    ]);
    expect(location(conf, "s0/l0").upstream).toBe("shop");
  });

  it("main-ext-includes: map and if bodies are not read as settings", () => {
    const { records } = parse(read("main-ext-includes"));
    const names = records.flatMap((r) => (r.entity === "setting" ? [r.name] : []));
    expect(names).not.toContain("default");
    expect(names).not.toContain("~^[23]");
    expect(names).toContain("proxy_set_header");
  });

  it("resolver-variable: resolver, variable proxy_pass, location-level resolver", () => {
    const conf = summary("resolver-variable");
    expect(conf.resolver).toMatchObject({
      addresses: ["127.0.0.53", "[::1]:5353"],
      valid: 30,
      ipv6: false,
      timeout: 5,
      scope: "http",
      line: 11,
      fileLine: 10,
    });
    expect(location(conf, "s0/l0")).toMatchObject({
      proxyPass: "http://$backend",
      target: "$backend",
      upstream: null,
      resolver: ["127.0.0.53", "[::1]:5353"],
    });
    expect(location(conf, "s0/l1")).toMatchObject({ target: "static_dns", upstream: "static_dns" });
    expect(location(conf, "s0/l2")).toMatchObject({
      target: "$backend$request_uri",
      resolver: ["127.0.0.1:18353"],
    });
    expect(conf.upstreams.static_dns?.servers[0]).toMatchObject({
      address: "localhost:18351",
      host: "localhost",
    });
  });

  it("syntax-edge: quotes, escapes, glued modifiers, multi-line directives, ignored if/limit_except", () => {
    const { records } = parse(read("syntax-edge"));
    const conf = summarizeConf(records);
    expect(conf.upstreams.quoted_pool?.servers.map((s) => [s.address, s.params.weight])).toEqual([
      ["127.0.0.1:18370", 5],
      ["127.0.0.1:18371", 1],
    ]);
    expect(conf.servers[0]?.serverName).toEqual(["edge.example.test", "single.example.test"]);
    const ret = records.find((r) => r.entity === "setting" && r.name === "return");
    expect(ret?.entity === "setting" && ret.args).toEqual(["200", 'a;b{c}"d"']);
    expect(conf.servers[0]?.locations.map((l) => [l.modifier, l.path, l.target, l.upstream])).toEqual([
      ["=", "/exact", null, null],
      ["~*", "\\.(png|jpg)$", "quoted_pool", "quoted_pool"],
      ["^~", "/static/", "127.0.0.1:18373", null],
      // biome-ignore lint/suspicious/noTemplateCurlyInString: nginx's ${name} variable syntax
      ["", "/var/", "${pool}", null],
      ["", "@fallback", "127.0.0.1:18375", null],
    ]);
    const stat = location(conf, "s0/l2");
    expect(stat).toMatchObject({ proxyReadTimeout: 120, line: 17, fileLine: 16 });
    const pass = records.find((r) => r.entity === "location" && r.path === "/static/");
    expect(pass?.text).toBe("\t\tlocation ^~/static/ {");
    const readTimeout = records.find((r) => r.entity === "setting" && r.name === "proxy_read_timeout");
    expect(readTimeout).toMatchObject({ line: 20, text: "\t\t\tproxy_read_timeout\n\t\t\t\t2m;" });
    // biome-ignore lint/suspicious/noTemplateCurlyInString: nginx's ${name} variable syntax
    expect(location(conf, "s0/l3").proxyPass).toBe("http://${pool}/");
    const names = records.flatMap((r) => (r.entity === "setting" ? [r.name] : []));
    expect(names).not.toContain("deny");
    expect(names).toContain("set");
  });

  it("debian-stock: includes by glob, types block ignored, the default server", () => {
    const { records } = parse(read("debian-stock"));
    const conf = summarizeConf(records);
    expect(conf.files).toContain("/etc/nginx/sites-enabled/default");
    expect(conf.upstreams).toEqual({});
    expect(conf.servers).toHaveLength(1);
    expect(conf.servers[0]).toMatchObject({
      listen: ["80 default_server", "[::]:80 default_server"],
      serverName: ["_"],
      file: "/etc/nginx/sites-enabled/default",
    });
    expect(conf.accessLogs.map((a) => [a.path, a.format, a.scope])).toEqual([
      ["/var/log/nginx/access.log", "combined", "http"],
    ]);
    expect(conf.errorLogs.map((e) => [e.path, e.level])).toEqual([["/var/log/nginx/error.log", "error"]]);
    const names = records.flatMap((r) => (r.entity === "setting" ? [r.name] : []));
    expect(names).not.toContain("text/html");
    expect(names).toContain("ssl_protocols");
    expect(location(conf, "s0/l0")).toMatchObject({
      path: "/",
      proxyPass: null,
      proxyReadTimeout: 60,
      proxyBufferSize: 4096,
    });
  });

  it("test-failed: the emerg line and the failed test, timed in UTC", () => {
    const { records } = parse(read("test-failed"));
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({
      entity: "check",
      level: "emerg",
      ok: null,
      time: "2026-11-25T11:20:40.000Z",
    });
    expect(records[1]).toMatchObject({ entity: "check", level: null, ok: false });
    const conf = summarizeConf(records);
    expect(conf.check.ok).toBe(false);
    expect(conf.check.messages[0]).toMatch(/^\[emerg\] "proxy_busy_buffers_size" must be less than/);
    expect(conf.servers).toEqual([]);
  });
});

describe("nginx-conf malformed input", () => {
  const stock = read("upstream-group");

  it("a truncated dump keeps what was read and reports the unclosed blocks", () => {
    const lines = stock.split("\n").slice(0, 39);
    const { records, unreadable } = parse(lines.join("\n"));
    expect(unreadable.map((u) => [u.line, u.reason])).toEqual([
      [37, '/tmp/why502-conf/upstream-group/nginx.conf:34: unexpected end of file, expecting "}"'],
      [32, '/tmp/why502-conf/upstream-group/nginx.conf:29: unexpected end of file, expecting "}"'],
      [12, '/tmp/why502-conf/upstream-group/nginx.conf:9: unexpected end of file, expecting "}"'],
    ]);
    const conf = summarizeConf(records);
    expect(conf.upstreams.app_pool?.servers).toHaveLength(4);
    expect(location(conf, "s0/l0").upstream).toBe("app_pool");
  });

  it("a line cut mid-directive is reported", () => {
    const text = `${stock.split("\n").slice(0, 20).join("\n")}\n        server 127.0.0.1:18`;
    const { unreadable } = parse(text);
    expect(unreadable[0]).toMatchObject({
      line: 21,
      text: "        server 127.0.0.1:18",
      reason: '/tmp/why502-conf/upstream-group/nginx.conf:18: unexpected end of file, expecting ";" or "}"',
    });
  });

  it("stray braces, semicolons and an unterminated quote are reported, never thrown", () => {
    const text = [
      "# configuration file /etc/nginx/nginx.conf:",
      "}",
      "http { ; server { listen 80; } }",
      'log_format x "unterminated',
    ].join("\n");
    const { records, unreadable } = parse(text);
    expect(unreadable.map((u) => [u.line, u.reason.replace("/etc/nginx/nginx.conf:", "")])).toEqual([
      [2, '1: unexpected "}"'],
      [3, '2: unexpected ";"'],
      [4, "3: unexpected end of file in quoted string"],
    ]);
    expect(records.filter((r) => r.entity === "server")).toHaveLength(1);
  });

  it("text outside any configuration file section and binary garbage are unreadable", () => {
    const { records, unreadable } = parse("garbage line\n\n\u0000\u0001\u00ff {{{ ;;;\n");
    expect(records).toEqual([]);
    expect(unreadable.map((u) => u.line)).toEqual([1, 3]);
    expect(unreadable[0]?.reason).toBe("outside any '# configuration file' section");
  });

  it("binary garbage inside a section does not throw", () => {
    const bytes = Array.from({ length: 512 }, (_, i) => String.fromCharCode((i * 37) % 256)).join("");
    const text = `# configuration file /x.conf:\n${bytes}\n`;
    expect(() => parse(text)).not.toThrow();
    expect(() => summarizeConf(parse(text).records)).not.toThrow();
  });
});

describe("durations and sizes", () => {
  it.each([
    ["90s", 90],
    ["1m30s", 90],
    ["500ms", 0.5],
    ["300", 300],
    ["1h", 3600],
    ["2d", 172800],
    ["1m 30s", 90],
  ])("parseDuration(%s) = %s", (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it("rejects what nginx rejects", () => {
    expect(parseDuration("")).toBeUndefined();
    expect(parseDuration("5x")).toBeUndefined();
    expect(parseDuration("s")).toBeUndefined();
    expect(parseSize("4k")).toBe(4096);
    expect(parseSize("8K")).toBe(8192);
    expect(parseSize("1m")).toBe(1048576);
    expect(parseSize("512")).toBe(512);
    expect(parseSize("4kb")).toBeUndefined();
  });
});
