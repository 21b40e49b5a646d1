import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type ExplainedLine, explainText } from "./explain.js";

// Real lines from scripts/capture/runtime-limits.sh.
const line = (name: string, n: number): string => {
  const l = readFileSync(new URL(`../evidence/__fixtures__/app/${name}`, import.meta.url), "utf8").split(
    "\n",
  )[n - 1];
  if (l === undefined) throw new Error(`${name} has no line ${n}`);
  return l;
};
const one = (text: string): ExplainedLine => {
  const out = explainText(text, { now: "2026-12-01T12:00:00.000Z" });
  expect(out).toHaveLength(1);
  return out[0] as ExplainedLine;
};

describe("explain: worker timeouts name the server's own setting", () => {
  it("php-fpm: request_terminate_timeout and how long the request had run", () => {
    const r = one(line("php-fpm-limits.txt", 4));
    expect(r.cause).toBe("worker_timeout");
    expect(r.meaning).toContain(
      "php-fpm killed a worker (pid 30582) because a request took longer than its timeout (the pool's `request_terminate_timeout`; the request had run 2.560309 s)",
    );
  });

  it("gunicorn: --timeout, and nginx's durations are not the timeout when requests queue", () => {
    const r = one(line("gunicorn-timeout-queued.txt", 8));
    expect(r.meaning).toContain("(gunicorn `--timeout`)");
    expect(r.next).toContain("A request that waited behind a busy worker fails later than the timeout");
  });
});
