import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, connect as netConnect, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { fetchHostKey } from "../../src/collect/ssh/fetch-host-key.js";
import { connectSsh, type SshTransport } from "../../src/collect/ssh/ssh-transport.js";
import { type SshTarget, TransportError } from "../../src/collect/transport.js";
import { gone } from "../support/gone.js";
import { startSshd, type TestSshd } from "../support/sshd.js";

/* A real OpenSSH sshd on 127.0.0.21 and 127.0.0.22; the bastion tests hop from one to the other. */
const PORT = 22211;
const GW = "127.0.0.21";
const APP = "127.0.0.22";
const SILENT = { host: "127.0.0.23", port: 22251 };
const NOTHING = { host: "127.0.0.29", port: 22250 };
const NOT_SSH = { host: "127.0.0.25", port: 22252 };

let sshd: TestSshd;
let silent: Server;
const silentSockets = new Set<Socket>();
const open: SshTransport[] = [];

beforeAll(async () => {
  sshd = await startSshd({
    addresses: [GW, APP],
    port: PORT,
    // forwarding is allowed to these two only, which shows the ProxyJump path really goes through sshd
    extraConfig: [`PermitOpen ${APP}:${PORT} ${NOTHING.host}:${NOTHING.port}`],
  });
  silent = createServer((s) => {
    silentSockets.add(s);
    s.on("close", () => silentSockets.delete(s));
  });
  await new Promise<void>((resolve) => silent.listen(SILENT.port, SILENT.host, resolve));
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

afterAll(async () => {
  for (const s of silentSockets) s.destroy();
  await new Promise<void>((resolve) => (silent ? silent.close(() => resolve()) : resolve()));
  await sshd?.stop();
});

function target(over: Partial<SshTarget> = {}): SshTarget {
  return {
    name: "app1",
    host: GW,
    port: PORT,
    user: "root",
    identityFiles: [sshd.userKeyPath],
    useAgent: false,
    knownHostsFiles: [sshd.knownHostsPath],
    connectTimeoutMs: 5000,
    ...over,
  };
}

async function connect(t: SshTarget): Promise<SshTransport> {
  const transport = await connectSsh(t);
  open.push(transport);
  return transport;
}

async function connectError(t: SshTarget): Promise<TransportError> {
  try {
    const transport = await connectSsh(t);
    open.push(transport);
  } catch (e) {
    if (e instanceof TransportError) return e;
    throw e;
  }
  throw new Error("expected the connection to fail");
}

function writeFile(name: string, text: string): string {
  const path = join(sshd.dir, name);
  writeFileSync(path, text);
  return path;
}

function newKey(name: string): { path: string; publicKey: string; fp: string } {
  const path = join(sshd.dir, name);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path]);
  const publicKey = readFileSync(`${path}.pub`, "utf8").trim().split(" ").slice(0, 2).join(" ");
  return { path, publicKey, fp: sshKeygenFingerprint(`${path}.pub`) };
}

function sshKeygenFingerprint(pubPath: string): string {
  return execFileSync("ssh-keygen", ["-lf", pubPath], { encoding: "utf8" }).split(" ")[1] ?? "";
}

function acceptedLogins(): number {
  return readFileSync(sshd.logPath, "utf8")
    .split("\n")
    .filter((l) => l.startsWith("Accepted publickey for root")).length;
}

/** Resolves once a unix socket accepts connections. */
async function waitForSocket(path: string, withinMs = 3000): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = netConnect(path);
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${path} not listening within ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const limits = { timeoutMs: 5000, maxBytes: 1 << 20 };

describe("SSH transport against a real sshd", () => {
  it("logs in with a pinned host key and runs a script", async () => {
    const t = await connect(target());
    expect(t.host).toBe("app1");
    expect(t.hostKeyFingerprint).toBe(sshKeygenFingerprint(`${sshd.hostKeyPath}.pub`));
    expect(t.trustedOnFirstUse).toBe(false);
    const r = await t.exec('id -un\necho "$SSH_CONNECTION"\necho to-stderr >&2\nexit 3', limits);
    const [user, conn] = r.stdout.split("\n");
    expect(user).toBe("root");
    expect(conn).toMatch(new RegExp(`^127\\.0\\.0\\.1 \\d+ ${GW.replaceAll(".", "\\.")} ${PORT}$`));
    expect(r.stderr).toBe("to-stderr\n");
    expect(r.exitCode).toBe(3);
    expect(r.truncated).toBe(false);
    expect(r.signal).toBeUndefined();
    expect(r.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("passes scripts verbatim (quotes, $, UTF-8) and feeds opts.stdin to the script", async () => {
    const t = await connect(target());
    const r = await t.exec(`printf '%s\\n' "it's \\$HOME" 'naïve €'\nwc -l\ncat`, {
      ...limits,
      stdin: "line one\nline two",
    });
    expect(r.stdout).toBe("it's $HOME\nnaïve €\n2\n");
    expect(r.exitCode).toBe(0);
    const noInput = await t.exec("cat; echo done", limits);
    expect(noInput.stdout).toBe("done\n");
  });

  it("reuses one connection for every exec", async () => {
    const before = acceptedLogins();
    const t = await connect(target());
    const a = await t.exec('echo "$SSH_CONNECTION"', limits);
    const b = await t.exec('echo "$SSH_CONNECTION"', limits);
    const parallel = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((i) => t.exec(`echo ${i}`, limits)));
    expect(a.stdout).toBe(b.stdout);
    expect(parallel.map((r) => r.stdout)).toEqual(["1\n", "2\n", "3\n", "4\n", "5\n", "6\n", "7\n", "8\n"]);
    expect(acceptedLogins() - before).toBe(1);
  });

  it("stops at the byte cap, marks the output truncated and kills the command", async () => {
    const t = await connect(target());
    const pidFile = join(sshd.dir, "yes.pid");
    const r = await t.exec(`echo $$ > ${pidFile}\nexec yes why502`, { timeoutMs: 5000, maxBytes: 4096 });
    expect(r.truncated).toBe(true);
    expect(Buffer.byteLength(r.stdout)).toBe(4096);
    expect(r.stdout.startsWith("why502\nwhy502\n")).toBe(true);
    expect(r.exitCode).toBeNull();
    expect(await gone(Number(readFileSync(pidFile, "utf8")))).toBe(true);
    const after = await t.exec("echo still usable", limits);
    expect(after.stdout).toBe("still usable\n");
  });

  it("drops a multi-byte character split by the cap instead of garbling it", async () => {
    const t = await connect(target());
    const r = await t.exec("printf 'ab€cd'", { timeoutMs: 5000, maxBytes: 4 });
    expect(r.truncated).toBe(true);
    expect(r.stdout).toBe("ab");
  });

  it("kills a hanging command at the timeout and keeps what it printed", async () => {
    const t = await connect(target());
    const started = Date.now();
    let err: unknown;
    try {
      await t.exec("echo started $$\nsleep 30 &\necho child $!\nwait", { timeoutMs: 800, maxBytes: 4096 });
    } catch (e) {
      err = e;
    }
    const elapsed = Date.now() - started;
    expect(err).toBeInstanceOf(TransportError);
    const te = err as TransportError;
    expect(te.code).toBe("timeout");
    expect(te.host).toBe("app1");
    expect(te.message).toMatch(/^The command on app1 \(127\.0\.0\.21:22211\) did not finish within 800 ms/);
    expect(elapsed).toBeGreaterThanOrEqual(790);
    // Without the timeout the command would run its 30 s; the margin is for a loaded machine.
    expect(elapsed).toBeLessThan(4000);
    const out = te.partial?.stdout ?? "";
    const shellPid = Number(/started (\d+)/.exec(out)?.[1]);
    const sleepPid = Number(/child (\d+)/.exec(out)?.[1]);
    expect(shellPid).toBeGreaterThan(1);
    expect(sleepPid).toBeGreaterThan(1);
    expect(await gone(shellPid)).toBe(true);
    expect(await gone(sleepPid)).toBe(true);
  });

  it("ends background processes a finished script left behind", async () => {
    const t = await connect(target());
    const r = await t.exec("sleep 30 >/dev/null 2>&1 &\necho $!", limits);
    expect(r.exitCode).toBe(0);
    expect(await gone(Number(r.stdout.trim()))).toBe(true);
  });

  it("reports a connection lost mid-command as unreachable, with the output so far", async () => {
    const doomed = await startSshd({ addresses: ["127.0.0.24"], port: 22212 });
    try {
      const t = await connect(
        target({
          name: "doomed",
          host: "127.0.0.24",
          port: 22212,
          knownHostsFiles: [doomed.knownHostsPath],
          identityFiles: [doomed.userKeyPath],
        }),
      );
      const pending = t.exec("echo before\nsleep 30", limits).catch((e: unknown) => e);
      const first = await t.exec("echo ready", limits);
      expect(first.stdout).toBe("ready\n");
      await doomed.stop();
      const err = await pending;
      expect(err).toMatchObject({
        code: "unreachable",
        host: "doomed",
        message: "The connection to doomed (127.0.0.24:22212) was lost while a command was running.",
      });
      await expect(t.exec("true", limits)).rejects.toMatchObject({
        code: "unreachable",
        message: "The connection to doomed (127.0.0.24:22212) was lost.",
      });
    } finally {
      await doomed.stop();
    }
  });

  it("accepts a host pinned by a hashed known_hosts entry (ssh-keygen -H)", async () => {
    const path = writeFile("known_hosts_hashed", readFileSync(sshd.knownHostsPath, "utf8"));
    execFileSync("ssh-keygen", ["-q", "-H", "-f", path], { stdio: "pipe" });
    const hashed = readFileSync(path, "utf8");
    expect(hashed).not.toContain(GW);
    const t = await connect(target({ knownHostsFiles: [path] }));
    expect((await t.exec("echo ok", limits)).stdout).toBe("ok\n");
  });

  it("refuses a changed host key and names the presented fingerprint", async () => {
    const other = newKey("other_host_key");
    const path = writeFile("known_hosts_changed", `# pinned\n[${GW}]:${PORT} ${other.publicKey}\n`);
    const e = await connectError(target({ knownHostsFiles: [path], insecureAcceptUnknown: true }));
    const fp = sshKeygenFingerprint(`${sshd.hostKeyPath}.pub`);
    expect(e.code).toBe("host_key_mismatch");
    expect(e.fingerprint).toBe(fp);
    expect(e.message).toBe(
      `app1 (${GW}:${PORT}) presented host key ${fp}, which differs from the key pinned in ${path}:2; refusing to connect (the host was rebuilt, or someone is intercepting the connection).`,
    );
  });

  it("refuses an unknown host unless the target opts in to trust on first use", async () => {
    const empty = writeFile("known_hosts_empty", "");
    const missing = join(sshd.dir, "no_such_known_hosts");
    const fp = sshKeygenFingerprint(`${sshd.hostKeyPath}.pub`);
    const e = await connectError(target({ knownHostsFiles: [empty, missing] }));
    expect(e.code).toBe("host_key_unknown");
    expect(e.fingerprint).toBe(fp);
    expect(e.message).toBe(
      `app1 (${GW}:${PORT}) presented host key ${fp}, which is not in known_hosts (${empty}); check it out of band and pin it with "why502 hosts fingerprint app1".`,
    );
    const tofu = await connect(target({ knownHostsFiles: [empty], insecureAcceptUnknown: true }));
    expect(tofu.trustedOnFirstUse).toBe(true);
    expect(tofu.hostKeyFingerprint).toBe(fp);
    expect(tofu.hostKeyLine).toBe(`[${GW}]:${PORT} ${sshd.hostPublicKey}`);
  });

  it("refuses a @revoked host key even when another line pins it", async () => {
    const pinned = readFileSync(sshd.knownHostsPath, "utf8");
    const path = writeFile("known_hosts_revoked", `${pinned}@revoked * ${sshd.hostPublicKey}\n`);
    const e = await connectError(target({ knownHostsFiles: [path], insecureAcceptUnknown: true }));
    const fp = sshKeygenFingerprint(`${sshd.hostKeyPath}.pub`);
    expect(e.code).toBe("host_key_revoked");
    expect(e.message).toBe(
      `app1 (${GW}:${PORT}) presented host key ${fp}, which known_hosts marks @revoked; refusing to connect.`,
    );
  });

  it("logs in with a key held by a real ssh-agent", async () => {
    const socket = join(sshd.dir, "agent.sock");
    const agent = spawn("ssh-agent", ["-D", "-a", socket], { stdio: "ignore" });
    try {
      await waitForSocket(socket);
      execFileSync("ssh-add", ["-q", sshd.userKeyPath], {
        env: { ...process.env, SSH_AUTH_SOCK: socket },
        stdio: "pipe",
      });
      const t = await connect(target({ identityFiles: [], useAgent: true, agentSocket: socket }));
      expect((await t.exec("echo via-agent", limits)).stdout).toBe("via-agent\n");
    } finally {
      agent.kill("SIGTERM");
      await once(agent, "exit");
    }
  });

  it("reports auth_failed when the server accepts none of the keys", async () => {
    const wrong = newKey("wrong_user_key");
    const e = await connectError(target({ identityFiles: [join(sshd.dir, "absent_key"), wrong.path] }));
    expect(e.code).toBe("auth_failed");
    expect(e.message).toBe(
      `app1 (${GW}:${PORT}) refused the login as root: none of ${wrong.path} was accepted.`,
    );
  });

  it("reports auth_failed before connecting when no identity can be used", async () => {
    const pubOnly = `${sshd.userKeyPath}.pub`;
    const locked = join(sshd.dir, "locked_key");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "secret", "-f", locked]);
    const e = await connectError(
      target({ identityFiles: [join(sshd.dir, "absent_key"), pubOnly, locked], useAgent: true }),
    );
    expect(e.code).toBe("auth_failed");
    expect(e.message).toBe(
      `No usable credentials to log in to app1 (${GW}:${PORT}) as root: the agent (no agent socket configured); ${join(sshd.dir, "absent_key")} (missing); ${pubOnly} (a public key, not a private key); ${locked} (passphrase-protected: load it into ssh-agent instead).`,
    );
  });

  it("reports unreachable at once when nothing listens", async () => {
    const started = Date.now();
    const e = await connectError(target({ name: NOTHING.host, ...NOTHING }));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(e.code).toBe("unreachable");
    expect(e.message).toBe(
      `${NOTHING.host}:${NOTHING.port} refused the connection (nothing listens on port ${NOTHING.port}).`,
    );
  });

  it("times out within the connect timeout on a listener that never speaks SSH", async () => {
    const started = Date.now();
    const e = await connectError(target({ name: "mute", ...SILENT, connectTimeoutMs: 1000 }));
    const elapsed = Date.now() - started;
    expect(e.code).toBe("timeout");
    expect(e.message).toBe(
      `mute (${SILENT.host}:${SILENT.port}) accepted the TCP connection but did not complete the SSH handshake within 1000 ms.`,
    );
    expect(elapsed).toBeGreaterThanOrEqual(950);
    // Without it the handshake would wait ssh2's own 20 s; the margin is for a loaded machine.
    expect(elapsed).toBeLessThan(4000);
  });

  it("says so when the port is not an SSH server", async () => {
    const http = createServer((s) => {
      s.resume();
      s.end("HTTP/1.0 400 Bad Request\r\n\r\n");
    });
    await new Promise<void>((resolve) => http.listen(NOT_SSH.port, NOT_SSH.host, resolve));
    try {
      const e = await connectError(target({ name: "web", ...NOT_SSH }));
      expect(e.code).toBe("error");
      expect(e.message).toBe(
        `web (${NOT_SSH.host}:${NOT_SSH.port}) closed the connection before the SSH handshake finished (not an SSH server, or sshd turning connections away).`,
      );
    } finally {
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  });

  it("reaches a host through a bastion (ProxyJump) and closes both connections", async () => {
    const before = acceptedLogins();
    const bastion = target({ name: "bastion", host: GW });
    const t = await connect(target({ name: "app2", host: APP, jump: bastion }));
    const r = await t.exec('echo "$SSH_CONNECTION"', limits);
    expect(r.stdout.split(" ")[2]).toBe(APP);
    expect(acceptedLogins() - before).toBe(2);
    await t.close();
    await expect(t.exec("true", limits)).rejects.toMatchObject({ code: "error" });
  });

  it("says which hop failed behind a bastion", async () => {
    const bastion = target({ name: "bastion", host: GW });
    const refused = await connectError(target({ name: "gone", ...NOTHING, jump: bastion }));
    expect(refused.code).toBe("unreachable");
    expect(refused.message).toBe(
      `Bastion bastion (${GW}:${PORT}) could not connect to ${NOTHING.host}:${NOTHING.port}: Connection refused.`,
    );
    const prohibited = await connectError(target({ name: "app3", host: APP, port: 22299, jump: bastion }));
    expect(prohibited.code).toBe("error");
    expect(prohibited.message).toBe(
      `Bastion bastion (${GW}:${PORT}) refused to forward to ${APP}:22299 (TCP forwarding is prohibited there).`,
    );
    const badBastion = await connectError(
      target({ name: "app2", host: APP, jump: target({ name: "bastion", ...NOTHING }) }),
    );
    expect(badBastion.code).toBe("unreachable");
    expect(badBastion.host).toBe("app2");
    expect(badBastion.message).toBe(
      `Cannot reach app2 through bastion bastion (${NOTHING.host}:${NOTHING.port}): bastion (${NOTHING.host}:${NOTHING.port}) refused the connection (nothing listens on port ${NOTHING.port}).`,
    );
  });
});

describe("fetchHostKey", () => {
  it("reads the host key without logging in and gives a line to pin", async () => {
    const before = acceptedLogins();
    const k = await fetchHostKey(GW, PORT, 3000);
    expect(k.keyType).toBe("ssh-ed25519");
    expect(k.fingerprint).toBe(sshKeygenFingerprint(`${sshd.hostKeyPath}.pub`));
    expect(k.knownHostsLine).toBe(`[${GW}]:${PORT} ${sshd.hostPublicKey}`);
    expect(acceptedLogins()).toBe(before);
    const pinned = writeFile("known_hosts_fetched", `${k.knownHostsLine}\n`);
    const t = await connect(target({ knownHostsFiles: [pinned] }));
    expect((await t.exec("echo pinned", limits)).stdout).toBe("pinned\n");
  });

  it("reports an unreachable or silent host", async () => {
    await expect(fetchHostKey(NOTHING.host, NOTHING.port, 1000)).rejects.toMatchObject({
      code: "unreachable",
    });
    await expect(fetchHostKey(SILENT.host, SILENT.port, 500)).rejects.toMatchObject({
      code: "timeout",
      message: `${SILENT.host}:${SILENT.port} did not complete the SSH key exchange within 500 ms.`,
    });
  });
});
