import { type ChildProcess, execFile, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

const SSHD = "/usr/sbin/sshd";
const SSH_KEYGEN = "/usr/bin/ssh-keygen";
const READY_WITHIN_MS = 5000;

export interface TestSshd {
  pid: number;
  port: number;
  addresses: string[];
  dir: string;
  user: string;
  userKeyPath: string;
  userPublicKey: string;
  hostKeyPath: string;
  /** "ssh-ed25519 AAAA..." (type and base64 blob, no comment) */
  hostPublicKey: string;
  /** one `[addr]:port ssh-ed25519 AAAA...` line per address */
  knownHostsPath: string;
  logPath: string;
  stop(): Promise<void>;
}

export interface StartSshdOptions {
  addresses: string[];
  port: number;
  /** default root; another user must already exist on this machine */
  user?: string;
  /**
   * Extra sshd_config lines. sshd keeps the first value it reads for a keyword, so these lines are
   * written before the defaults and override them; a `Match` block (from its first line on) is
   * written at the end, where sshd requires it.
   */
  extraConfig?: string[];
  /** default "100:30:200" so parallel tests are never throttled */
  maxStartups?: string;
}

/**
 * Starts a throwaway OpenSSH sshd (not daemonized, so the pid is ours) on the given loopback
 * addresses, with fresh ed25519 host and user keys in a new temp dir. Resolves once every address
 * accepts TCP connections. stop() kills sshd and every process it forked (each connection's sshd
 * runs in its own session, so this walks the process tree by parent pid), then removes the dir.
 */
export async function startSshd(opts: StartSshdOptions): Promise<TestSshd> {
  if (opts.addresses.length === 0) throw new Error("startSshd: at least one address is required");
  const user = opts.user ?? "root";
  const dir = await mkdtemp(join(tmpdir(), "why502-sshd-"));
  await mkdir(join(dir, "home"), { mode: 0o755 });
  // A non-root user's sshd child reads authorized_keys with that user's rights.
  await chmod(dir, 0o755);
  await mkdir("/run/sshd", { recursive: true, mode: 0o755 });

  const hostKeyPath = join(dir, "ssh_host_ed25519_key");
  const userKeyPath = join(dir, "id_ed25519");
  await keygen(hostKeyPath, "why502-test-host");
  await keygen(userKeyPath, `why502-test-${user}`);
  const hostPublicKey = typeAndBlob(await readFile(`${hostKeyPath}.pub`, "utf8"));
  const userPublicKey = (await readFile(`${userKeyPath}.pub`, "utf8")).trim();

  const authorizedKeysPath = join(dir, "authorized_keys");
  await writeFile(authorizedKeysPath, `${userPublicKey}\n`, { mode: 0o644 });
  await chmod(authorizedKeysPath, 0o644);

  const knownHostsPath = join(dir, "known_hosts");
  const knownHosts = opts.addresses.map((a) => `${hostPattern(a, opts.port)} ${hostPublicKey}\n`).join("");
  await writeFile(knownHostsPath, knownHosts, { mode: 0o644 });

  const logPath = join(dir, "sshd.log");
  const configPath = join(dir, "sshd_config");
  await writeFile(configPath, sshdConfig(opts, dir, hostKeyPath, authorizedKeysPath), { mode: 0o644 });

  const child = spawn(SSHD, ["-D", "-f", configPath, "-E", logPath], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (d: string) => {
    stderr += d;
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const pid = child.pid;
  if (pid === undefined) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`startSshd: could not spawn ${SSHD}`);
  }
  const killOnExit = () => {
    for (const p of [pid, ...descendants(pid)]) killPid(p, "SIGKILL");
  };
  process.once("exit", killOnExit);

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.removeListener("exit", killOnExit);
    await killAndWait(child, pid, exited);
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await Promise.all(opts.addresses.map((a) => waitForPort(a, opts.port, child)));
  } catch (e) {
    const log = await readFile(logPath, "utf8").catch(() => "");
    await stop();
    const detail = (log + stderr).trim().split("\n").slice(-5).join(" | ");
    throw new Error(`startSshd: ${(e as Error).message}${detail ? `; sshd said: ${detail}` : ""}`);
  }

  return {
    pid,
    port: opts.port,
    addresses: [...opts.addresses],
    dir,
    user,
    userKeyPath,
    userPublicKey,
    hostKeyPath,
    hostPublicKey,
    knownHostsPath,
    logPath,
    stop,
  };
}

function sshdConfig(opts: StartSshdOptions, dir: string, hostKey: string, authorizedKeys: string): string {
  const extra = opts.extraConfig ?? [];
  const matchAt = extra.findIndex((l) => /^\s*match\s/i.test(l));
  const before = matchAt === -1 ? extra : extra.slice(0, matchAt);
  const matchBlock = matchAt === -1 ? [] : extra.slice(matchAt);
  const lines = [
    ...before,
    ...opts.addresses.map((a) => `ListenAddress ${hostPattern(a, opts.port)}`),
    `HostKey ${hostKey}`,
    `AuthorizedKeysFile ${authorizedKeys}`,
    "StrictModes no",
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "PermitRootLogin prohibit-password",
    "UsePAM no",
    "AllowTcpForwarding yes",
    `PidFile ${join(dir, "sshd.pid")}`,
    "LogLevel VERBOSE",
    `MaxStartups ${opts.maxStartups ?? "100:30:200"}`,
    "MaxSessions 50",
    "PrintMotd no",
    "AcceptEnv LANG LC_*",
    // Sessions get an empty home of their own: the login shell of the machine's real account (root's
    // ~/.bashrc here runs `pyenv rehash`, whose lock a killed session can leave behind) must not slow or
    // hang the tests. Collection does not read the home directory.
    `SetEnv HOME=${join(dir, "home")}`,
    ...matchBlock,
  ];
  return `${lines.join("\n")}\n`;
}

/** `[addr]:port` (also the ListenAddress form); OpenSSH writes port 22 as the bare address. */
function hostPattern(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

function typeAndBlob(pubLine: string): string {
  const [type, blob] = pubLine.trim().split(/\s+/);
  if (!type || !blob) throw new Error(`startSshd: unexpected public key line: ${pubLine}`);
  return `${type} ${blob}`;
}

async function keygen(path: string, comment: string): Promise<void> {
  await execFileAsync(SSH_KEYGEN, ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path]);
}

async function waitForPort(host: string, port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_WITHIN_MS;
  let delay = 10;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`sshd exited (${child.exitCode ?? child.signalCode}) before ${host}:${port} was ready`);
    }
    const err = await tryConnect(host, port);
    if (err === undefined) return;
    if (err.code !== "ECONNREFUSED") throw new Error(`${host}:${port}: ${err.message}`);
    if (Date.now() >= deadline) throw new Error(`${host}:${port} not accepting within ${READY_WITHIN_MS} ms`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 200);
  }
}

function tryConnect(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once("connect", () => {
      s.destroy();
      resolve(undefined);
    });
    s.once("error", (e: NodeJS.ErrnoException) => {
      s.destroy();
      resolve(e);
    });
  });
}

function killPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Every live process below `root`, from /proc (Linux). */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "utf8");
    } catch {
      continue;
    }
    // pid (comm) state ppid ...; comm may contain spaces and parentheses
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
  }
  const out: number[] = [];
  const queue = [root];
  for (let p = queue.shift(); p !== undefined; p = queue.shift()) {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

async function killAndWait(child: ChildProcess, pid: number, exited: Promise<void>): Promise<void> {
  const forked = descendants(pid);
  if (child.exitCode === null && child.signalCode === null) {
    killPid(pid, "SIGTERM");
    const timer = setTimeout(() => killPid(pid, "SIGKILL"), 3000);
    await exited;
    clearTimeout(timer);
  }
  // Connections still open: their sshd processes and sessions outlive the listener.
  for (const p of forked) killPid(p, "SIGKILL");
}
