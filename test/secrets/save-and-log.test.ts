import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { progressLine } from "../../src/cli/live.js";
import { redactPatterns } from "../../src/diagnosis/mask.js";
import { maskedProgress } from "../../src/investigate/investigate.js";
import { createLogger } from "../../src/server/log.js";
import { capture, runMain } from "../support/run-main.js";
import { CORPUS, CUSTOM_PATTERN, leaks, PLANTED } from "./corpus.js";

const root = new URL("../../", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "why502-secrets-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const extra = redactPatterns({ redact: { patterns: [CUSTOM_PATTERN] } });
/** The corpus without the shape only the config knows: `--bundle` replays take no config. */
const BUILT_IN = CORPUS.filter((p) => !p.what.includes("redact.patterns")).flatMap((p) => p.secrets);

/** The lab's crash bundle with every corpus text in an app log, a command's stderr and failure. */
function plantedBundle(): string {
  const b = JSON.parse(readFileSync(`${root}playbooks/cases/lab-crash/bundle.json`, "utf8"));
  const app = b.hosts[1].commands.find((c: { id: string }) => c.id === "app-log-1");
  app.stdout += `${CORPUS.map((p) => p.text).join("\n")}\n`;
  const kernel = b.hosts[2].commands.find((c: { id: string }) => c.id === "kernel");
  kernel.stderr = CORPUS[0]?.text;
  kernel.failure = { code: "permission_denied", message: CORPUS[18]?.text };
  const path = join(dir, "planted.json");
  writeFileSync(path, JSON.stringify(b));
  return path;
}

describe("diagnose --save", () => {
  const bundle = plantedBundle();

  it("writes the bundle masked, readable by its owner only, even over a world-readable file", async () => {
    const out = join(dir, "saved.json");
    writeFileSync(out, "old");
    chmodSync(out, 0o644);
    const r = await runMain(["diagnose", "checkout", "--bundle", bundle, "--save", out, "--trace"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const saved = readFileSync(out, "utf8");
    expect(leaks(saved, BUILT_IN)).toEqual([]);
    expect(leaks(r.stdout, BUILT_IN)).toEqual([]);
    // The masked bundle is still a bundle that replays.
    const again = await runMain(["diagnose", "checkout", "--bundle", out, "--json"]);
    expect(again.code).toBe(0);
  });

  it("with --raw writes the bundle as collected, still 0600", async () => {
    const out = join(dir, "raw.json");
    const r = await runMain(["diagnose", "checkout", "--bundle", bundle, "--save", out, "--raw", "--json"]);
    expect(r.code).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(leaks(readFileSync(out, "utf8"))).toHaveLength(PLANTED.length);
    expect(leaks(r.stdout, BUILT_IN)).toEqual([]);
  });

  it("says --raw needs --save", async () => {
    const r = await runMain(["diagnose", "checkout", "--bundle", bundle, "--raw"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("why502: --raw says how --save writes the bundle: give --save FILE with it.\n");
  });

  for (const format of ["text", "json", "markdown", "blocks"]) {
    it(`prints no planted secret as ${format}`, async () => {
      const r = await runMain(["diagnose", "checkout", "--bundle", bundle, "--format", format, "--trace"]);
      expect(r.code).toBe(0);
      expect(leaks(r.stdout, BUILT_IN)).toEqual([]);
    });
  }
});

describe("a failed host's detail on the progress line", () => {
  it("is masked before it is printed", () => {
    const err = capture();
    const io = { env: {}, stdin: process.stdin, stdout: err.stream, stderr: err.stream };
    const line = progressLine(io, 2);
    const update = maskedProgress(line.update, extra);
    for (const [i, p] of CORPUS.entries())
      update?.({ host: `h${i}`, state: "failed", done: 0, total: 0, detail: p.text });
    expect(err.text()).toContain("failed: h0 (");
    expect(leaks(err.text())).toEqual([]);
  });
});

describe("the server's log", () => {
  it("masks host text in messages, errors and their causes, and replaces credential fields", () => {
    const sink = capture();
    const log = createLogger("info", sink.stream, extra);
    for (const p of CORPUS) {
      const cause = new Error(p.text);
      const e = Object.assign(new Error(`investigation failed: ${p.text}`, { cause }), {
        config: { headers: { Authorization: "opaque-PlantedHeaderValue01" } },
      });
      log.error({ run_id: "r1", err: e }, `collect failed: ${p.text}`);
      log.error(e);
      log.error({ err: e });
      log.warn({ err: p.text, detail: { nested: [p.text] } }, "store fault");
      log.info(
        { headers: { authorization: "opaque-PlantedHeaderValue02", cookie: "c=PlantedHeaderValue03" } },
        "x",
      );
    }
    expect(sink.text().split("\n").filter(Boolean)).toHaveLength(CORPUS.length * 5);
    for (const line of sink.text().split("\n").filter(Boolean)) expect(() => JSON.parse(line)).not.toThrow();
    expect(
      leaks(sink.text(), [
        ...PLANTED,
        "PlantedHeaderValue01",
        "PlantedHeaderValue02",
        "PlantedHeaderValue03",
      ]),
    ).toEqual([]);
  });
});
