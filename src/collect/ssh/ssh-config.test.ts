import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { expandPath, parseProxyJump, resolveSshConfig, sshTargetFromConfig } from "./ssh-config.js";

const dir = mkdtempSync(join(tmpdir(), "why502-ssh-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What real OpenSSH resolves (`ssh -G -F file alias`), for the keys we read. */
function sshG(text: string, alias: string): Record<string, string[]> {
  const path = join(dir, `config-${Math.random().toString(16).slice(2)}`);
  writeFileSync(path, text);
  const out = execFileSync("ssh", ["-G", "-F", path, alias], { encoding: "utf8", stdio: "pipe" });
  const map: Record<string, string[]> = {};
  for (const line of out.split("\n")) {
    const [k, ...v] = line.split(" ");
    if (!k) continue;
    map[k] = [...(map[k] ?? []), v.join(" ")];
  }
  return map;
}

function agreesWithOpenSsh(text: string, alias: string): void {
  const ours = resolveSshConfig(text, alias);
  const real = sshG(text, alias);
  expect(ours.hostName).toBe(real.hostname?.[0]);
  expect(ours.user ?? "root").toBe(real.user?.[0]);
  expect(String(ours.port ?? 22)).toBe(real.port?.[0]);
  if (ours.identityFiles.length > 0) expect(ours.identityFiles).toEqual(real.identityfile);
  expect(ours.proxyJump).toBe(real.proxyjump?.[0]);
}

const CONFIG = `# personal config
ForwardAgent no

Host gw-* !gw-old
  User deploy
  Port 2201
  IdentityFile ~/.ssh/gw_%r_%h
  ProxyJump bastion,admin@[::1]:2222

host "db one" db1
  hostname=%h.internal.example.com
  PORT = 2202
  IdentityFile "/keys/db key"

Host bastion
  HostName 127.0.0.21
  User jump
  Port 22211
  IdentitiesOnly yes
  IdentityFile ~/.ssh/bastion

Host legacy
  ProxyJump none
  ProxyCommand nc %h %p

Host * !bastion
  ProxyJump bastion

Host *
  User nobody
  IdentityFile %d/.ssh/common
`;

describe("resolveSshConfig agrees with ssh -G", () => {
  it.each(["gw-1", "gw-old", "db1", "bastion", "legacy", "other"])("%s", (alias) => {
    agreesWithOpenSsh(CONFIG, alias);
  });

  it("reads the first value obtained and accumulates IdentityFile", () => {
    const r = resolveSshConfig(CONFIG, "gw-1");
    expect(r).toMatchObject({
      alias: "gw-1",
      hostName: "gw-1",
      user: "deploy",
      port: 2201,
      identityFiles: ["~/.ssh/gw_%r_%h", "%d/.ssh/common"],
      proxyJump: "bastion,admin@[::1]:2222",
      jumpHops: [{ host: "bastion" }, { user: "admin", host: "::1", port: 2222 }],
    });
    expect(resolveSshConfig(CONFIG, "db1")).toMatchObject({
      hostName: "db1.internal.example.com",
      port: 2202,
      identityFiles: ["/keys/db key", "%d/.ssh/common"],
    });
  });

  it("honours ProxyJump none and notes what it does not support", () => {
    const r = resolveSshConfig(CONFIG, "legacy");
    expect(r.proxyJump).toBeUndefined();
    expect(r.notes).toEqual(["line 24: ProxyCommand is not supported; use ProxyJump"]);
  });

  it("skips Match blocks with a note, like a Match that does not apply", () => {
    const text = "Match user nobody-here\n  Port 1\nHost *\n  Port 2203\n";
    agreesWithOpenSsh(text, "x");
    const r = resolveSshConfig(text, "x");
    expect(r.port).toBe(2203);
    expect(r.notes).toEqual(["line 1: Match blocks are not supported; ignored up to the next Host or Match"]);
  });

  it("reports malformed lines and values instead of throwing", () => {
    const text =
      'Host *\n  Port 99999\n  User "unbalanced\n  ConnectTimeout soon\n  ProxyJump a@:22\n  = nothing\n  Include ~/.ssh/config.d/*\n  User\n';
    const r = resolveSshConfig(text, "h");
    expect(r.port).toBeUndefined();
    expect(r.user).toBeUndefined();
    expect(r.connectTimeoutSec).toBeUndefined();
    expect(r.proxyJump).toBe("a@:22");
    expect(r.jumpHops).toBeUndefined();
    expect(r.notes).toEqual([
      "line 3: unbalanced quotes; ignored",
      'line 6: not "Keyword value"; ignored',
      "line 7: Include is not supported; ~/.ssh/config.d/* not read",
      "line 8: user has no value",
      "Port 99999 is not a port number; ignored",
      "ConnectTimeout soon is not a number of seconds; ignored",
      "ProxyJump a@:22 is not [user@]host[:port][,...]; ignored",
    ]);
  });
});

describe("parseProxyJump", () => {
  it("reads user@host:port, bare hosts, IPv6 and ssh:// URIs", () => {
    expect(parseProxyJump("ops@bastion.example.com:2222")).toEqual([
      { user: "ops", host: "bastion.example.com", port: 2222 },
    ]);
    expect(parseProxyJump("ssh://me@[fe80::1]:22, b")).toEqual([
      { user: "me", host: "fe80::1", port: 22 },
      { host: "b" },
    ]);
    expect(parseProxyJump("a:b:c")).toBeUndefined();
    expect(parseProxyJump("host:0")).toBeUndefined();
    expect(parseProxyJump("")).toBeUndefined();
  });
});

describe("sshTargetFromConfig", () => {
  const env = { home: "/home/ops", localUser: "ops" };
  const defaults = {
    knownHostsFiles: ["/etc/why502/known_hosts"],
    connectTimeoutMs: 5000,
    agentSocket: "/run/agent.sock",
  };

  it("expands ~ and tokens and resolves each hop through the config, last hop nearest the target", () => {
    const { target, notes } = sshTargetFromConfig(CONFIG, "gw-1", env, defaults);
    expect(notes).toEqual([]);
    expect(target).toMatchObject({
      name: "gw-1",
      host: "gw-1",
      port: 2201,
      user: "deploy",
      identityFiles: ["/home/ops/.ssh/gw_deploy_gw-1", "/home/ops/.ssh/common"],
      useAgent: true,
      agentSocket: "/run/agent.sock",
      knownHostsFiles: ["/etc/why502/known_hosts"],
      connectTimeoutMs: 5000,
    });
    expect(target.jump).toMatchObject({ name: "::1", host: "::1", port: 2222, user: "admin" });
    const first = target.jump?.jump;
    expect(first).toMatchObject({
      name: "bastion",
      host: "127.0.0.21",
      port: 22211,
      user: "jump",
      identityFiles: ["/home/ops/.ssh/bastion", "/home/ops/.ssh/common"],
      useAgent: false,
    });
    expect(first?.jump).toBeUndefined();
  });

  it("follows a lone hop's own ProxyJump", () => {
    const text = "Host app\n  ProxyJump inner\nHost inner\n  ProxyJump ops@outer:2200\n";
    const { target, notes } = sshTargetFromConfig(text, "app", env, defaults);
    expect(notes).toEqual([]);
    expect(target.jump?.name).toBe("inner");
    expect(target.jump?.jump).toMatchObject({ name: "outer", user: "ops", port: 2200 });
    expect(target.jump?.jump?.jump).toBeUndefined();
  });

  it("drops a ProxyJump that loops back, with a note", () => {
    const mutual = sshTargetFromConfig("Host a\n  ProxyJump b\nHost b\n  ProxyJump a\n", "a", env, defaults);
    expect(mutual.target.jump?.name).toBe("b");
    expect(mutual.target.jump?.jump).toBeUndefined();
    expect(mutual.notes).toEqual(["b: ProxyJump loop via a; connecting without it"]);
    const self = sshTargetFromConfig("Host *\n  ProxyJump bastion\n", "bastion", env, defaults);
    expect(self.target.jump).toBeUndefined();
    expect(self.notes).toEqual(["bastion: ProxyJump loop via bastion; connecting without it"]);
  });

  it("uses OpenSSH's default identities, config known_hosts and timeouts, and never inherits TOFU", () => {
    const text =
      "Host h\n  UserKnownHostsFile ~/.ssh/kh1 %d/kh2\n  ConnectTimeout 3\n  StrictHostKeyChecking accept-new\n  IdentityAgent none\n";
    const { target, notes } = sshTargetFromConfig(text, "h", env, defaults);
    expect(target).toMatchObject({
      user: "ops",
      port: 22,
      identityFiles: ["/home/ops/.ssh/id_rsa", "/home/ops/.ssh/id_ecdsa", "/home/ops/.ssh/id_ed25519"],
      knownHostsFiles: ["/home/ops/.ssh/kh1", "/home/ops/kh2"],
      connectTimeoutMs: 3000,
      useAgent: false,
    });
    expect(target.insecureAcceptUnknown).toBeUndefined();
    expect(target.agentSocket).toBeUndefined();
    expect(notes).toEqual(["h: StrictHostKeyChecking accept-new ignored; host keys are always verified"]);
  });

  it("expandPath leaves unknown tokens alone", () => {
    expect(expandPath("~/k_%u_%l_%%", "/h", { u: "me" })).toBe("/h/k_me_%l_%");
    expect(expandPath("~", "/h", {})).toBe("/h");
    expect(expandPath("~other/x", "/h", {})).toBe("~other/x");
  });
});
