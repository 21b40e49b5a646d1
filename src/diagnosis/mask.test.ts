import { describe, expect, it } from "vitest";
import { blankPrivateKeyBodies, maskSecrets, redactPatterns } from "./mask.js";

describe("maskSecrets", () => {
  it("masks tokens in query strings inside a real nginx request field", () => {
    const line =
      '2026/11/25 12:00:01 [error] 10#10: *5 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: , request: "GET /pay?order=7&access_token=abc.def-123&x=1 HTTP/1.1", upstream: "http://127.0.0.11:18080/pay?order=7&access_token=abc.def-123&x=1", host: "127.0.0.10:18000"';
    const r = maskSecrets(line);
    expect(r.count).toBe(2);
    expect(r.text).not.toContain("abc.def-123");
    expect(r.text).toContain("order=7&access_token=***&x=1");
  });

  it("masks Authorization headers, bearer tokens, URL passwords and cloud keys", () => {
    expect(maskSecrets("Authorization: Bearer eyJhbGciOi.J9xyzxyzxyz.abcabcabc").text).toBe(
      "Authorization: ***",
    );
    expect(maskSecrets("dial postgres://app:hunter2@db:5432/app failed").text).toBe(
      "dial postgres://app:***@db:5432/app failed",
    );
    expect(maskSecrets("key AKIAABCDEFGHIJKLMNOP used").text).toBe("key AKIA**************** used");
    expect(maskSecrets('cookie="session=1234567890"').count).toBe(1);
  });

  it.each([
    ["a form body's first field", "password=hunter2&user=bob", "password=***&user=bob"],
    [
      "process arguments",
      "app --password=pw1 --token=tk1 --secret=s1 -v",
      "app --password=*** --token=*** --secret=*** -v",
    ],
    [
      "JSON fields",
      '{"password": "p1", "api_key":"k1", "n": 3}',
      '{"password": "***", "api_key":"***", "n": 3}',
    ],
    [
      "an INI setting with spaces",
      "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG",
      "aws_secret_access_key = ***",
    ],
    ["a YAML line", "db_password: hunter2", "db_password: ***"],
    ["a header line", "X-Auth-Token: abc123", "X-Auth-Token: ***"],
    ["Set-Cookie", "Set-Cookie: sid=xyz; Path=/", "Set-Cookie: ***"],
    ["Proxy-Authorization", "Proxy-Authorization: Basic dXNlcjpwYXNz", "Proxy-Authorization: ***"],
    [
      "a Slack webhook URL",
      "POST https://hooks.slack.com/services/T0A/B0B/xyz123 failed",
      "POST https://hooks.slack.com/services/*** failed",
    ],
    ["Stripe keys", "sk_live_51Habcdefghij rk_test_51Habcdefghij", "sk_live_*** rk_test_***"],
    ["a Google API key", "key AIzaSyA1234567890abcdefghijklmnopqrstu", "key AIza***"],
    [
      "an Azure account key",
      "AccountName=a;AccountKey=abc+d/e==;EndpointSuffix=x",
      "AccountName=a;AccountKey=***",
    ],
    ["an Azure SAS signature", "/b?sv=2021-08-06&sp=r&sig=abc%2B%3D", "/b?sv=2021-08-06&sp=r&sig=***"],
    ["Slack tokens", "xoxb-1234-abcdefghij xapp-1-A01-123-abcdef", "xoxb-*** xapp-***"],
    ["GitHub tokens", "ghp_abcdefghijklmnopqrstuvwxyz0123456789", "ghp_***"],
    ["a JWT", "t=x eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_nature-1", "t=x ***jwt***"],
    ["a JWT cut short by a clip", "GET /d/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIx…", "GET /d/***jwt***…"],
    [
      "a git URL with a token as password",
      "https://x-access-token:tok123@github.com/a/b.git",
      "https://x-access-token:***@github.com/a/b.git",
    ],
  ])("masks %s", (_what, text, masked) => {
    const r = maskSecrets(text);
    expect(r.text).toBe(masked);
    expect(r.count).toBeGreaterThan(0);
  });

  it("masks a private key block whole, and to the end when it has no END line", () => {
    const key =
      "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----";
    expect(maskSecrets(`key:\n${key}\nnext`)).toEqual({ text: "key:\n***private key***\nnext", count: 1 });
    expect(maskSecrets("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nMIIEpA").text).toBe("***private key***");
  });

  it("leaves ordinary lines alone: words, exception names, the working directory, PIDs", () => {
    for (const line of [
      "upstream prematurely closed connection while reading response header from upstream",
      "basic authentication failed for user bob",
      "InvalidTokenError: jwt malformed",
      '"PWD": "/tmp/work", PWD=/home/deploy',
      "Out of memory: Killed process 1234 (app) total-vm:1234kB, anon-rss:100kB",
      "cache miss key=user:1",
    ])
      expect(maskSecrets(line)).toEqual({ text: line, count: 0 });
  });

  it("masks a passphrase of several words up to the next field, and keeps that field whole", () => {
    const cases: [string, string][] = [
      ["password: correct horse battery staple user: app", "password: *** user: app"],
      ["db_password = correct horse battery staple", "db_password = ***"],
      ["password: hunter2 from 10.0.0.1:5432", "password: *** 10.0.0.1:5432"],
      ["{password: abc def, user: x}", "{password: ***, user: x}"],
      ["--password=abc --port 8080", "--password=*** --port 8080"],
      ['request: "GET /x?password=abc HTTP/1.1"', 'request: "GET /x?password=*** HTTP/1.1"'],
    ];
    for (const [line, want] of cases) expect(maskSecrets(line).text).toBe(want);
    // A word of a megabyte before a colon is read once, not once per character it could have ended at.
    const word = "x".repeat(1_000_000);
    expect(maskSecrets(`password: a ${word}:`).text).toBe(`password: *** ${word}:`);
  });

  it("masking masked text changes nothing and counts nothing", () => {
    const once = maskSecrets(
      'password=a&token=b "secret": "c" https://u:p@h/ AKIAABCDEFGHIJKLMNOP Authorization: Basic dXNlcjpwYXNz',
    );
    expect(once.count).toBe(6);
    expect(maskSecrets(once.text)).toEqual({ text: once.text, count: 0 });
  });

  it("masks what the config's patterns match, and counts it", () => {
    const extra = redactPatterns({ redact: { patterns: ["ACME-[0-9]{4}", "tenant-\\w+"] } });
    expect(maskSecrets("ticket ACME-1234 for tenant-blue", extra)).toEqual({
      text: "ticket *** for ***",
      count: 2,
    });
    expect(maskSecrets("ticket ACME-1234").count).toBe(0);
  });
});

describe("blankPrivateKeyBodies", () => {
  it("blanks the lines after a BEGIN line up to its END line, and keeps the rest", () => {
    expect(
      blankPrivateKeyBodies(["a", "-----BEGIN PRIVATE KEY-----", "MIIE", "-----END PRIVATE KEY-----", "b"]),
    ).toEqual(["a", "-----BEGIN PRIVATE KEY-----", "", "", "b"]);
    expect(blankPrivateKeyBodies(["-----BEGIN EC PRIVATE KEY-----", "MHc", "x"])).toEqual([
      "-----BEGIN EC PRIVATE KEY-----",
      "",
      "",
    ]);
  });
});
