import { describe, expect, it } from "vitest";
import { maskSecrets } from "./mask.js";

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

  it("leaves ordinary lines alone", () => {
    const line = "upstream prematurely closed connection while reading response header from upstream";
    expect(maskSecrets(line)).toEqual({ text: line, count: 0 });
  });
});
