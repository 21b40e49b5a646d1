import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { collect } from "../../src/collect/collect.js";
import { resolveHost } from "../../src/collect/hosts.js";
import { parseConfig } from "../../src/config/load.js";
import { connector, hostEnv } from "../../src/investigate/hosts-env.js";
import { parseCommand } from "../../src/slack/command-text.js";
import { assertAllowlisted } from "../fuzz/allowlist.js";
import { sectionLines } from "../fuzz/script-check.js";
import { type Lab, startLab } from "./lab.js";
import { labConfig } from "./lab-config.js";

/**
 * Chat texts against the lab's real sshd: what validation accepts is collected for real, what it refuses never
 * opens a session. OpenSSH logs each session ("Starting session: command for <user>") but not the command, so
 * every program the sessions executed is recorded by strace attached to sshd (execve, following forks).
 */
const ACCEPTED = ["checkout 1m", "CHECKOUT 7d", "checkout 1.5h", "checkout 10080m", "checkout"];
const REFUSED = [
  "checkout;touch /tmp/why502-pwned 5m",
  "checkout $(touch /tmp/why502-pwned)",
  "checkout 5m; touch /tmp/why502-pwned",
  "checkout `touch /tmp/why502-pwned`",
  "../../etc/passwd 5m",
  "\u0441heckout 5m",
  "checkout 59s",
  "checkout 7d1ms",
  "checkout 5",
];
/** The programs the allowlisted templates run (and the shells that run them): all read-only. */
const PROGRAMS = new Set(
  "sh dash bash true date readlink cat ip hostname sudo nginx ps ss awk mawk gawk timeout head tail tr dd ls sort dmesg".split(
    " ",
  ),
);

let lab: Lab | undefined;
let tracers: ChildProcess[] = [];
afterEach(async () => {
  const ts = tracers;
  tracers = [];
  for (const t of ts) if (t.exitCode === null) t.kill("SIGKILL");
  const l = lab;
  lab = undefined;
  await l?.stop();
});

/** strace on one sshd, resolved once the kernel says sshd is traced. */
async function trace(pid: number, out: string): Promise<ChildProcess> {
  const t = spawn("strace", ["-f", "-qq", "-s", "4096", "-e", "trace=execve", "-o", out, "-p", String(pid)], {
    stdio: "ignore",
  });
  tracers.push(t);
  const traced = () => /^TracerPid:\s+[1-9]/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  while (!traced()) {
    if (t.exitCode !== null) throw new Error(`strace exited ${t.exitCode}`);
    await new Promise((r) => setImmediate(r));
  }
  return t;
}

async function untrace(t: ChildProcess): Promise<void> {
  if (t.exitCode !== null) return;
  const exited = new Promise((r) => t.once("exit", r));
  t.kill("SIGINT");
  await exited;
}

/** Successful execve calls in an strace log (one line, or `<unfinished ...>` then `<... execve resumed>`). */
function executed(log: string): { path: string; argv: string[] }[] {
  const out: { path: string; argv: string[] }[] = [];
  const pending = new Map<string, string>();
  for (const line of log.split("\n")) {
    const pid = line.split(" ")[0] ?? "";
    let call = line;
    if (line.endsWith("<unfinished ...>")) {
      pending.set(pid, line);
      continue;
    }
    const resumed = /<\.\.\. execve resumed>\)\s+= (-?\d+)/.exec(line);
    if (resumed) {
      call = `${pending.get(pid) ?? ""}) = ${resumed[1]}`;
      pending.delete(pid);
    }
    const m = /execve\("([^"]*)", \[(.*)\], 0x[0-9a-f]+ .*\) = 0$/.exec(call);
    if (!m) continue;
    const argv = [...(m[2] ?? "").matchAll(/"((?:[^"\\]|\\.)*)"/g)].map(
      (a) => JSON.parse(`"${a[1]}"`) as string,
    );
    out.push({ path: m[1] ?? "", argv });
  }
  return out;
}

describe("hostile chat input against the lab's sshd", () => {
  it("accepted windows run only allowlisted programs over SSH; refused texts open no session", async () => {
    lab = await startLab({ scenario: "healthy", backends: 1 });
    const config = parseConfig(stringify(labConfig(lab.info)), "why502.yaml");
    const sshd = lab.sshd?.instances ?? [];
    expect(sshd.length).toBeGreaterThan(0);
    const traces = await Promise.all(
      sshd.map((s, i) => trace(s.pid, join(lab?.dir ?? "", `exec-${i}.trace`))),
    );
    const env = { HOME: lab.dir, USER: "root" };
    const scripts: string[] = [];
    const connect = connector(env);
    let refused = 0;
    for (const text of [...ACCEPTED, ...REFUSED]) {
      const req = parseCommand(text);
      if (req.kind !== "diagnose" || !Object.hasOwn(config.services, req.service)) {
        refused++;
        continue;
      }
      const now = Date.now();
      const bundle = await collect(
        config,
        { service: req.service, sinceMs: now - (req.windowMs ?? config.defaults.window) },
        {
          resolve: (name) => resolveHost(config, name, hostEnv(env, config)),
          connect: async (host, ms) => {
            const t = await connect(host, ms);
            return {
              host: t.host,
              close: () => t.close(),
              exec: (script, o) => {
                scripts.push(script);
                return t.exec(script, o);
              },
            };
          },
          now: Date.now,
          nonce: () => `N${Math.random().toString(36).slice(2).padEnd(20, "0")}`,
        },
      );
      expect(bundle.hosts.map((h) => h.failure?.message ?? "ok")).toEqual(["ok", "ok"]);
    }
    await Promise.all(traces.map(untrace));
    expect(refused).toBe(REFUSED.length);
    // Each accepted text: one session on the gateway and one on the backend, each an allowlisted script.
    expect(scripts).toHaveLength(ACCEPTED.length * 2);
    for (const s of scripts) assertAllowlisted(s, config);

    const sessions = sshd.flatMap((s) =>
      readFileSync(s.logPath, "utf8")
        .split("\n")
        .filter((l) => l.includes("Starting session:")),
    );
    expect(sessions).toHaveLength(scripts.length);
    for (const l of sessions)
      expect(l).toMatch(/Starting session: command for why502 from 127\.0\.0\.1 port \d+ id \d+/);

    const runs = sshd.flatMap((_, i) =>
      executed(readFileSync(join(lab?.dir ?? "", `exec-${i}.trace`), "utf8")),
    );
    const programs = runs.filter((r) => !r.path.endsWith("/sshd"));
    expect(programs.length).toBeGreaterThan(scripts.length);
    // The login shell is asked for exactly `sh -s`: the script came on stdin, never as a command line.
    const logins = programs.filter((r) => r.argv[1] === "-c" && r.argv[2] === "sh -s");
    expect(logins).toHaveLength(scripts.length);
    // Every other `sh -c` is one of the scripts' own allowlisted command sections, word for word.
    const snippets = new Set(
      scripts.flatMap((s) =>
        sectionLines(s).flatMap((l) =>
          l.fn === "w_cmd" ? [l.args[1] ?? ""] : l.fn === "w_dmesg" ? [l.args[2] ?? ""] : [],
        ),
      ),
    );
    const inline = programs
      .filter((r) => /(^|\/)(ba|da)?sh$/.test(r.path) && r.argv[1] === "-c" && r.argv[2] !== "sh -s")
      .map((r) => r.argv[2] ?? "");
    expect(inline.length).toBeGreaterThan(0);
    // `cat >&4` is the script's own framing (window.sh.ts): stderr through its byte cap.
    expect(inline.filter((c) => !snippets.has(c) && c !== "cat >&4")).toEqual([]);
    const names = [...new Set(programs.map((r) => r.path.split("/").pop() ?? ""))].sort();
    expect(names.filter((n) => !PROGRAMS.has(n))).toEqual([]);
    for (const r of programs) expect(r.argv.join(" ")).not.toMatch(/pwned|passwd|\u0441heckout/);
  });
});
