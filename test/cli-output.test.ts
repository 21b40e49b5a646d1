import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/main.js";
import { capture, runMain } from "./support/run-main.js";

/**
 * `why502` as a process when its output goes away: the reader of a pipe leaves (`| head -1`), the disk is
 * full (`> /dev/full`), an argument is not UTF-8. bin/why502.js runs dist/: `npm run build` first.
 */

const root = new URL("../", import.meta.url).pathname;
const bin = join(root, "bin/why502.js");
const dir = mkdtempSync(join(tmpdir(), "why502-cli-output-"));
const fixture = readFileSync(
  join(root, "src/evidence/__fixtures__/nginx-error/captured-1.22-http.txt"),
  "utf8",
);
/** About 1.6 MB of real error log: its NDJSON is far more than a pipe holds. */
const bigLog = join(dir, "error.log");
const children: ChildProcess[] = [];

beforeAll(() => {
  if (!existsSync(join(root, "dist/main.js")))
    throw new Error("dist/ is missing: run `npm run build` first.");
  writeFileSync(bigLog, fixture.repeat(100));
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A script for bash, with the why502 process as `$W` and the arguments after it as `$1`... */
function bash(script: string, ...args: string[]) {
  return spawnSync("bash", ["-c", `W="node ${bin}"; ${script}`, "bash", ...args], {
    encoding: "utf8",
    timeout: 60_000,
  });
}

describe("why502 when its output goes away", () => {
  it("`| head -1`: exits 141 as git and ls do (128 + SIGPIPE), printing nothing on stderr", () => {
    const err = join(dir, "epipe.err");
    const r = bash(
      `$W parse nginx-error < "$1" 2>"$2" | head -1; echo "exit=\${PIPESTATUS[0]}"`,
      bigLog,
      err,
    );
    const [first, status] = r.stdout.trimEnd().split("\n");
    expect(JSON.parse(first ?? "")).toMatchObject({ host: "local", line: 1 });
    expect(status).toBe("exit=141");
    expect(readFileSync(err, "utf8")).toBe("");
  });

  it("says 141 at once when the pipe closes mid-way, though stdin is still open", async () => {
    const child = spawn(process.execPath, [bin, "parse", "nginx-error"], { stdio: ["pipe", "pipe", "pipe"] });
    children.push(child);
    let stderr = "";
    child.stderr.on("data", (b: Buffer) => {
      stderr += b.toString();
    });
    child.stdout.once("data", () => child.stdout.destroy());
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    // Never ended: parse then waits for a drain that never comes, and main() must answer without it.
    child.stdin.on("error", () => {});
    child.stdin.write(readFileSync(bigLog));
    expect(await exited).toBe(141);
    expect(stderr).toBe("");
  }, 20_000);

  it("a closed stderr does not turn a usage error (2) into a crash (1)", async () => {
    const child = spawn(process.execPath, [bin, "parse", "nginx-error"], {
      stdio: ["pipe", "ignore", "pipe"],
    });
    children.push(child);
    child.stderr.destroy();
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    child.stdin.end("hello\nworld\n");
    expect(await exited).toBe(2);
  });

  it("`> /dev/full`: one sentence on stderr and exit 74 (EX_IOERR), no stack", () => {
    const r = bash(`$W parse nginx-error < "$1" > /dev/full`, bigLog);
    expect(r.stderr).toBe("why502: cannot write the output: no space left on device (ENOSPC).\n");
    expect(r.status).toBe(74);
  });

  it("a short output to a full disk fails the same way (the error arrives after the command returned)", () => {
    const r = bash("$W --help > /dev/full");
    expect(r.stderr).toBe("why502: cannot write the output: no space left on device (ENOSPC).\n");
    expect(r.status).toBe(74);
  });
});

/** A stdout that fails every write with `code`, as a closed pipe or a full disk does. */
function failing(code: string) {
  const stream = new Writable({
    write(_chunk, _enc, cb) {
      cb(Object.assign(new Error(`${code}: it failed, write`), { code }));
    },
  });
  return Object.assign(stream, { isTTY: false });
}

describe("main() when stdout fails", () => {
  const run = async (code: string) => {
    const err = capture();
    const status = await main(["--help"], {
      env: {},
      stdin: process.stdin,
      stdout: failing(code),
      stderr: err.stream,
    });
    return { status, stderr: err.text() };
  };

  it("EPIPE is quiet and 141", async () => {
    expect(await run("EPIPE")).toEqual({ status: 141, stderr: "" });
  });

  it("EIO is one sentence and 74", async () => {
    expect(await run("EIO")).toEqual({
      status: 74,
      stderr: "why502: cannot write the output: it failed (EIO).\n",
    });
  });

  it("an output that works is untouched", async () => {
    const r = await runMain(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^why502: why is this service answering 502\?/);
  });
});

describe("why502 given an argument that is not UTF-8", () => {
  it("refuses a config path with a 0xff byte instead of reading the file named with U+FFFD", () => {
    const bad = Buffer.concat([Buffer.from(join(dir, "why502-")), Buffer.from([0xff]), Buffer.from(".yaml")]);
    writeFileSync(bad, "not: read\n");
    // What Node would open in its place: the same name with U+FFFD (EF BF BD) where the byte was.
    writeFileSync(join(dir, "why502-\uFFFD.yaml"), "services: {}\n");
    const r = bash(`$W plan checkout --config "$1$(printf '\\377').yaml"`, join(dir, "why502-"));
    expect(r.stderr).toBe(
      `why502: --config "${join(dir, "why502-\uFFFD.yaml")}" is not valid UTF-8 (the bytes shown as \uFFFD): why502 would open another path, so rename the file or give a UTF-8 path.\n`,
    );
    expect(r.status).toBe(2);
  });

  it("names `--opt=value` and positional arguments too", async () => {
    const inline = await runMain(["diagnose", "checkout", "--bundle=/tmp/b\uFFFD.json"]);
    expect(inline.stderr.split("\n")[0]).toMatch(
      /^why502: --bundle "\/tmp\/b\uFFFD\.json" is not valid UTF-8/,
    );
    const positional = await runMain(["playbook", "test", "/tmp/cases\uFFFD"]);
    expect(positional.stderr.split("\n")[0]).toMatch(
      /^why502: Argument "\/tmp\/cases\uFFFD" is not valid UTF-8/,
    );
    expect([inline.code, positional.code]).toEqual([2, 2]);
  });
});
