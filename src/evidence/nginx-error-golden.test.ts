import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { nginxErrorParser } from "./nginx-error.js";
import { parseText } from "./run.js";
import type { ParseContext } from "./types.js";

/**
 * Every record and unreadable line of every nginx-error fixture, as NDJSON: the parser's output byte for
 * byte, so a change to how it reads (for speed, say) cannot change what it reads without showing here.
 */
const dir = new URL("./__fixtures__/nginx-error/", import.meta.url);
const ctx: ParseContext = {
  host: "gw-1",
  source: "/var/log/nginx/error.log",
  utcOffsetMinutes: 60,
  now: "2026-11-25T13:00:00.000Z",
};

describe("nginx-error: golden output of the fixtures", () => {
  it("is unchanged, record for record and byte for byte", async () => {
    let out = "";
    for (const name of readdirSync(dir).sort()) {
      if (name.endsWith(".md")) continue;
      const result = parseText(nginxErrorParser, readFileSync(new URL(name, dir), "utf8"), ctx);
      out += `# ${name}\n`;
      for (const r of result.records) out += `${JSON.stringify(r)}\n`;
      for (const u of result.unreadable) out += `${JSON.stringify({ unreadable: u })}\n`;
    }
    await expect(out).toMatchFileSnapshot("./__snapshots__/nginx-error-golden.ndjson");
  });
});
