import { afterAll, describe, expect, it } from "vitest";
import { gone } from "../../test/support/gone.js";
import { LocalTransport } from "./local-transport.js";
import { OutputCap } from "./output-cap.js";
import { shellInput } from "./shell-input.js";
import { TransportError } from "./transport.js";

const limits = { timeoutMs: 5000, maxBytes: 1 << 20 };
const transports: LocalTransport[] = [];

function local(shell: string): LocalTransport {
  const t = new LocalTransport({ name: "here", shell });
  transports.push(t);
  return t;
}

afterAll(async () => {
  await Promise.all(transports.map((t) => t.close()));
});

describe.each(["/bin/sh", "/bin/bash"])("LocalTransport with %s", (shell) => {
  it("runs a script and reports stdout, stderr and the exit status", async () => {
    const r = await local(shell).exec("echo out\necho err >&2\nexit 7", limits);
    expect(r).toMatchObject({ stdout: "out\n", stderr: "err\n", exitCode: 7, truncated: false });
    expect(r.signal).toBeUndefined();
  });

  it("keeps the script away from commands that read stdin, and feeds opts.stdin verbatim", async () => {
    const t = local(shell);
    const r = await t.exec("cat\necho after-cat", limits);
    expect(r.stdout).toBe("after-cat\n");
    const tricky = "a 'quoted' $line\nWHY502_STDIN\n}\nexit 9";
    const fed = await t.exec("cat; echo status-ok", { ...limits, stdin: tricky });
    expect(fed.stdout).toBe(`${tricky}\nstatus-ok\n`);
    expect(fed.exitCode).toBe(0);
  });

  it("runs scripts with functions, case, here-documents and a trailing comment", async () => {
    const script = [
      "f() { printf '%s|' \"$@\"; }",
      "case x in x) f a 'b c' ;; esac",
      "cat <<EOF",
      "doc $((1 + 2))",
      "EOF",
      "# last line is a comment",
    ].join("\n");
    const r = await local(shell).exec(script, limits);
    expect(r.stdout).toBe("a|b c|doc 3\n");
    expect(r.exitCode).toBe(0);
  });

  it("reports a syntax error as a failed command, not a hang", async () => {
    const r = await local(shell).exec("if then fi (", limits);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/syntax|unexpected/i);
  });

  it("caps output, marks it truncated and kills the writer", async () => {
    const started = Date.now();
    const r = await local(shell).exec("echo $$ >&2; exec yes", { timeoutMs: 5000, maxBytes: 100_000 });
    expect(r.truncated).toBe(true);
    expect(Buffer.byteLength(r.stdout) + Buffer.byteLength(r.stderr)).toBe(100_000);
    expect(r.exitCode).toBeNull();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await gone(Number(r.stderr.trim()))).toBe(true);
  });

  it("times out, keeps the partial output and kills the whole process group", async () => {
    const t = local(shell);
    const err = await t
      .exec("echo main $$; sleep 30 & echo child $!; wait", { timeoutMs: 300, maxBytes: 4096 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    const te = err as TransportError;
    expect(te.code).toBe("timeout");
    expect(te.message).toBe(
      "The command on here did not finish within 300 ms and was killed (" +
        `${Buffer.byteLength(te.partial?.stdout ?? "")} bytes read).`,
    );
    const out = te.partial?.stdout ?? "";
    expect(await gone(Number(/main (\d+)/.exec(out)?.[1]))).toBe(true);
    expect(await gone(Number(/child (\d+)/.exec(out)?.[1]))).toBe(true);
  });

  it("ends background processes a finished script left behind", async () => {
    const r = await local(shell).exec("sleep 30 >/dev/null 2>&1 &\necho $!", limits);
    expect(r.exitCode).toBe(0);
    expect(await gone(Number(r.stdout.trim()))).toBe(true);
  });
});

describe("LocalTransport lifecycle", () => {
  it("refuses to run after close", async () => {
    const t = new LocalTransport();
    await t.close();
    await expect(t.exec("true", limits)).rejects.toMatchObject({ code: "error", host: "local" });
  });

  it("reports a missing shell as an error", async () => {
    const t = local("/nonexistent/sh");
    await expect(t.exec("true", limits)).rejects.toMatchObject({
      code: "error",
      message: "Could not run /nonexistent/sh: spawn /nonexistent/sh ENOENT.",
    });
  });
});

describe("shellInput", () => {
  it("wraps the script in one group that exits with its status", () => {
    const text = shellInput("echo hi");
    expect(text.startsWith("{\nexec 3<&0\n(\necho hi\n) </dev/null 3<&- &\n")).toBe(true);
    expect(text.endsWith('wait "$why502_main"\nexit $?\n}\n')).toBe(true);
  });

  it("picks a here-document tag that does not occur in the data", () => {
    const text = shellInput("cat", "data");
    const tag = /<<'(WHY502_STDIN_[0-9a-f]{16})'/.exec(text)?.[1];
    expect(tag).toBeDefined();
    expect(text).toContain(`\ndata\n${tag}\n`);
  });
});

describe("OutputCap", () => {
  it("shares one cap between stdout and stderr", () => {
    const cap = new OutputCap(5);
    expect(cap.add("stdout", Buffer.from("abc"))).toBe(true);
    expect(cap.add("stderr", Buffer.from("de"))).toBe(true);
    expect(cap.truncated).toBe(false);
    expect(cap.add("stdout", Buffer.from("f"))).toBe(false);
    expect(cap.truncated).toBe(true);
    expect(cap.text()).toEqual({ stdout: "abc", stderr: "de" });
    expect(cap.byteCount).toBe(5);
  });

  it("drops a character split by the cap but keeps invalid bytes of the other stream visible", () => {
    const cap = new OutputCap(4);
    cap.add("stderr", Buffer.from([0xff]));
    cap.add("stdout", Buffer.from("a€", "utf8"));
    expect(cap.text()).toEqual({ stdout: "a", stderr: "\ufffd" });
  });
});
