import { execFile } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

export const LAB_USER = "why502";
export const SUDOERS_DROP_IN = "/etc/sudoers.d/why502-lab";
export const DMESG = "/usr/bin/dmesg";

/**
 * The exact `dmesg` invocations the lab user may run with `sudo -n` (kernel.dmesg_restrict=1 here).
 * `dmesg ""` in sudoers means "no arguments"; nothing that clears or changes the ring buffer is allowed.
 */
export const SUDO_DMESG_ARGS: string[][] = [[], ["-T"], ["--time-format", "iso"], ["--time-format=iso"]];

export async function groupId(name: string): Promise<number> {
  const { stdout } = await execFileAsync("getent", ["group", name]);
  const gid = Number(stdout.split(":")[2]);
  if (!Number.isInteger(gid)) throw new Error(`group ${name} has no gid: ${stdout.trim()}`);
  return gid;
}

/**
 * An unprivileged login user in group adm (which reads the lab's logs). Its password field is "*",
 * not "!": sshd without PAM refuses accounts whose password is locked with "!".
 */
export async function ensureLabUser(user: string): Promise<void> {
  const exists = await execFileAsync("id", ["-u", user]).then(
    () => true,
    () => false,
  );
  if (!exists) {
    await execFileAsync("useradd", [
      "--create-home",
      "--shell",
      "/bin/bash",
      "--groups",
      "adm",
      "--password",
      "*",
      user,
    ]);
    return;
  }
  const { stdout: groups } = await execFileAsync("id", ["-nG", user]);
  if (!groups.split(/\s+/).includes("adm")) await execFileAsync("usermod", ["-aG", "adm", user]);
  const { stdout: shadow } = await execFileAsync("getent", ["shadow", user]);
  if ((shadow.split(":")[1] ?? "").startsWith("!")) await execFileAsync("usermod", ["--password", "*", user]);
}

export async function sudoPath(): Promise<string | undefined> {
  for (const p of ["/usr/bin/sudo", "/bin/sudo"]) if (existsSync(p)) return p;
  return undefined;
}

function sudoersCommand(argv: string[]): string {
  const [bin, ...args] = argv;
  if (bin === undefined) throw new Error("empty command");
  // sudoers: a command with no arguments listed allows any; "" allows none.
  return args.length === 0
    ? `${bin} ""`
    : [bin, ...args.map((a) => a.replace(/([,:=\\ ])/g, "\\$1"))].join(" ");
}

/**
 * Writes the sudoers drop-in (validated with visudo before it takes effect) and returns the allowed
 * commands as command lines. Returns [] when sudo is not installed.
 */
export async function installSudoers(user: string, commands: string[][]): Promise<string[]> {
  if ((await sudoPath()) === undefined) return [];
  const body = [
    "# why502 lab: read-only commands the collector may run as root with `sudo -n`; removed when the lab stops.",
    `${user} ALL=(root) NOPASSWD: ${commands.map(sudoersCommand).join(", ")}`,
    "",
  ].join("\n");
  const tmp = `${SUDOERS_DROP_IN}.tmp`;
  // visudo ignores names with a dot, so the temp file is inert until renamed.
  await writeFile(tmp, body, { mode: 0o440 });
  try {
    await execFileAsync("visudo", ["-c", "-q", "-f", tmp]);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new Error(`sudoers drop-in rejected by visudo: ${(err as Error).message}\n${body}`);
  }
  await rename(tmp, SUDOERS_DROP_IN);
  return commands.map((c) => c.join(" "));
}

export function removeSudoers(): void {
  rmSync(SUDOERS_DROP_IN, { force: true });
}
