import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  blobKeyType,
  fingerprint,
  globMatch,
  hostKeyName,
  knownHostsLine,
  knownKeyTypes,
  parseKnownHosts,
  verifyHostKey,
} from "./known-hosts.js";

/** Real keys from ssh-keygen, so blobs and fingerprints are checked against OpenSSH itself. */
interface RealKey {
  type: string;
  b64: string;
  blob: Buffer;
  /** fingerprint as printed by `ssh-keygen -lf` */
  sshKeygenFp: string;
}

let dir: string;
const keys: Record<string, RealKey> = {};

function keygen(name: string, args: string[]): RealKey {
  const path = join(dir, name);
  execFileSync("ssh-keygen", ["-q", "-N", "", "-C", name, "-f", path, ...args]);
  const [type = "", b64 = ""] = readFileSync(`${path}.pub`, "utf8").trim().split(/\s+/);
  const lf = execFileSync("ssh-keygen", ["-lf", `${path}.pub`], { encoding: "utf8" });
  const sshKeygenFp = lf.split(/\s+/)[1] ?? "";
  return { type, b64, blob: Buffer.from(b64, "base64"), sshKeygenFp };
}

function key(name: string): RealKey {
  const k = keys[name];
  if (!k) throw new Error(`no key ${name}`);
  return k;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "why502-known-hosts-"));
  keys.ed = keygen("ed", ["-t", "ed25519"]);
  keys.ed2 = keygen("ed2", ["-t", "ed25519"]);
  keys.ec256 = keygen("ec256", ["-t", "ecdsa", "-b", "256"]);
  keys.ec384 = keygen("ec384", ["-t", "ecdsa", "-b", "384"]);
  keys.ec521 = keygen("ec521", ["-t", "ecdsa", "-b", "521"]);
  keys.rsa = keygen("rsa", ["-t", "rsa", "-b", "2048"]);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("fingerprint", () => {
  it.each(["ed", "ec256", "ec384", "ec521", "rsa"])("matches ssh-keygen -lf for %s", (name) => {
    const k = key(name);
    expect(k.sshKeygenFp).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(fingerprint(k.blob)).toBe(k.sshKeygenFp);
  });

  it("reads the key type from the blob", () => {
    expect(blobKeyType(key("ed").blob)).toBe("ssh-ed25519");
    expect(blobKeyType(key("ec384").blob)).toBe("ecdsa-sha2-nistp384");
    expect(blobKeyType(key("rsa").blob)).toBe("ssh-rsa");
    expect(blobKeyType(Buffer.from([0, 0]))).toBeUndefined();
  });
});

describe("parseKnownHosts", () => {
  it("reads plain, bracketed, comma lists, markers and comments; reports bad lines", () => {
    const ed = key("ed");
    const rsa = key("rsa");
    const text = [
      "# a comment",
      "",
      `gw1.example.com,10.0.0.1 ${ed.type} ${ed.b64} ops@laptop`,
      `[10.0.0.2]:2222 ${rsa.type} ${rsa.b64}`,
      `@revoked * ${rsa.type} ${rsa.b64}`,
      `@cert-authority *.example.com ${ed.type} ${ed.b64}`,
      "@bogus host ssh-ed25519 AAAA",
      "onlyhost",
      `host ssh-dss ${ed.b64}`,
      `host ${ed.type} not*base64`,
      `host ecdsa-sha2-nistp256 ${ed.b64}`,
      "|1|bad|entry ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMcgOuP5WWIfg8L9QRyDkJbiEqpYROrRTUyA4Cks0xYo",
    ].join("\n");
    const { entries, problems } = parseKnownHosts(text, "kh");
    expect(entries.map((e) => [e.line, e.marker, e.keyType, e.comment])).toEqual([
      [3, undefined, "ssh-ed25519", "ops@laptop"],
      [4, undefined, "ssh-rsa", undefined],
      [5, "revoked", "ssh-rsa", undefined],
      [6, "cert-authority", "ssh-ed25519", undefined],
    ]);
    expect(entries[0]?.hosts).toEqual({
      kind: "patterns",
      patterns: [
        { negated: false, glob: "gw1.example.com" },
        { negated: false, glob: "10.0.0.1" },
      ],
    });
    expect(problems).toEqual([
      { source: "kh", line: 7, reason: "unknown marker @bogus" },
      { source: "kh", line: 8, reason: "expected: hosts keytype key" },
      { source: "kh", line: 9, reason: "unsupported key type ssh-dss" },
      { source: "kh", line: 10, reason: "key is not valid base64" },
      { source: "kh", line: 11, reason: "key blob is not a ecdsa-sha2-nistp256 key" },
      { source: "kh", line: 12, reason: "malformed hashed host entry" },
    ]);
  });

  it("never throws on garbage", () => {
    const junk = "\u0000\u00ff|1|||\n@revoked\n[\n,,, ssh-ed25519 ====\n\t\t\n";
    const { entries, problems } = parseKnownHosts(junk);
    expect(entries).toEqual([]);
    expect(problems.length).toBe(4);
  });
});

describe("verifyHostKey", () => {
  it("needs [host]:port for a non-22 port and the bare host for 22", () => {
    const ed = key("ed");
    const { entries } = parseKnownHosts(`10.0.0.5 ${ed.type} ${ed.b64}\n`);
    expect(verifyHostKey(entries, "10.0.0.5", 22, ed.blob)).toMatchObject({ ok: true });
    expect(verifyHostKey(entries, "10.0.0.5", 2222, ed.blob)).toMatchObject({
      ok: false,
      code: "host_key_unknown",
      fingerprint: ed.sshKeygenFp,
    });
    const bracketed = parseKnownHosts(`[10.0.0.5]:2222 ${ed.type} ${ed.b64}\n`).entries;
    expect(verifyHostKey(bracketed, "10.0.0.5", 2222, ed.blob)).toMatchObject({ ok: true });
    expect(verifyHostKey(bracketed, "10.0.0.5", 22, ed.blob)).toMatchObject({ code: "host_key_unknown" });
  });

  it("reports a changed key as a mismatch with the presented key's fingerprint", () => {
    const ed = key("ed");
    const ed2 = key("ed2");
    const { entries } = parseKnownHosts(`gw ${ed.type} ${ed.b64}\n`);
    const v = verifyHostKey(entries, "GW", 22, ed2.blob);
    expect(v).toMatchObject({ ok: false, code: "host_key_mismatch", fingerprint: ed2.sshKeygenFp });
    if (!v.ok) expect(v.known.map((e) => e.line)).toEqual([1]);
  });

  it("treats a host known only by another key type as a mismatch", () => {
    const rsa = key("rsa");
    const ed = key("ed");
    const { entries } = parseKnownHosts(`gw ${rsa.type} ${rsa.b64}\n`);
    expect(verifyHostKey(entries, "gw", 22, ed.blob)).toMatchObject({ code: "host_key_mismatch" });
  });

  it("accepts the right key among several types", () => {
    const text = ["ec256", "ec384", "ec521", "rsa", "ed"]
      .map((n) => `[gw]:2200 ${key(n).type} ${key(n).b64}`)
      .join("\n");
    const { entries } = parseKnownHosts(text);
    for (const n of ["ec256", "ec384", "ec521", "rsa", "ed"]) {
      expect(verifyHostKey(entries, "gw", 2200, key(n).blob)).toMatchObject({ ok: true });
    }
    expect(knownKeyTypes(entries, "gw", 2200)).toEqual([
      "ecdsa-sha2-nistp256",
      "ecdsa-sha2-nistp384",
      "ecdsa-sha2-nistp521",
      "ssh-rsa",
      "ssh-ed25519",
    ]);
  });

  it("refuses a @revoked key even when another line accepts it", () => {
    const ed = key("ed");
    const text = `gw ${ed.type} ${ed.b64}\n@revoked gw,other ${ed.type} ${ed.b64}\n`;
    const v = verifyHostKey(parseKnownHosts(text).entries, "gw", 22, ed.blob);
    expect(v).toMatchObject({ ok: false, code: "host_key_revoked", fingerprint: ed.sshKeygenFp });
  });

  it("does not let @revoked of another key block a good one, nor a CA line accept a key", () => {
    const ed = key("ed");
    const rsa = key("rsa");
    const text = `@revoked * ${rsa.type} ${rsa.b64}\ngw ${ed.type} ${ed.b64}\n@cert-authority ca ${ed.type} ${ed.b64}\n`;
    const { entries } = parseKnownHosts(text);
    expect(verifyHostKey(entries, "gw", 22, ed.blob)).toMatchObject({ ok: true });
    expect(verifyHostKey(entries, "ca", 22, ed.blob)).toMatchObject({ code: "host_key_unknown" });
  });

  it("honours wildcards and negation", () => {
    const ed = key("ed");
    const text = `*.prod.example.com,!db?.prod.example.com,[10.1.*]:22* ${ed.type} ${ed.b64}\n`;
    const { entries } = parseKnownHosts(text);
    expect(verifyHostKey(entries, "gw1.prod.example.com", 22, ed.blob).ok).toBe(true);
    expect(verifyHostKey(entries, "db1.prod.example.com", 22, ed.blob)).toMatchObject({
      code: "host_key_unknown",
    });
    expect(verifyHostKey(entries, "db10.prod.example.com", 22, ed.blob).ok).toBe(true);
    expect(verifyHostKey(entries, "10.1.2.3", 2201, ed.blob).ok).toBe(true);
    expect(verifyHostKey(entries, "10.1.2.3", 22, ed.blob).ok).toBe(false);
    expect(verifyHostKey(entries, "10.2.2.3", 2201, ed.blob).ok).toBe(false);
  });

  it("accepts entries hashed by real ssh-keygen -H, agreeing with ssh-keygen -F", () => {
    const ed = key("ed");
    const ec = key("ec256");
    const path = join(dir, "known_hosts_hashed");
    writeFileSync(path, `gw.example.com ${ed.type} ${ed.b64}\n[127.0.0.21]:22201 ${ec.type} ${ec.b64}\n`);
    execFileSync("ssh-keygen", ["-q", "-H", "-f", path], { stdio: "pipe" });
    const text = readFileSync(path, "utf8");
    expect(text).not.toContain("gw.example.com");
    expect(text.split("\n").filter((l) => l.startsWith("|1|")).length).toBe(2);

    const { entries, problems } = parseKnownHosts(text);
    expect(problems).toEqual([]);
    expect(entries.every((e) => e.hosts.kind === "hashed")).toBe(true);
    expect(verifyHostKey(entries, "gw.example.com", 22, ed.blob)).toMatchObject({ ok: true });
    expect(verifyHostKey(entries, "127.0.0.21", 22201, ec.blob)).toMatchObject({ ok: true });
    expect(verifyHostKey(entries, "127.0.0.21", 22201, ed.blob)).toMatchObject({ code: "host_key_mismatch" });
    expect(verifyHostKey(entries, "127.0.0.22", 22201, ec.blob)).toMatchObject({ code: "host_key_unknown" });

    const lookup = (name: string) => {
      try {
        return execFileSync("ssh-keygen", ["-F", name, "-f", path], { encoding: "utf8" }).includes("|1|");
      } catch {
        return false;
      }
    };
    expect(lookup("[127.0.0.21]:22201")).toBe(true);
    expect(lookup("127.0.0.22")).toBe(false);
  });
});

describe("helpers", () => {
  it("builds a pin-ready line OpenSSH accepts", () => {
    const ed = key("ed");
    const line = knownHostsLine("127.0.0.21", 22201, ed.blob);
    expect(line).toBe(`[127.0.0.21]:22201 ssh-ed25519 ${ed.b64}`);
    const path = join(dir, "known_hosts_pinned");
    writeFileSync(path, `${line}\n`);
    const found = execFileSync("ssh-keygen", ["-F", "[127.0.0.21]:22201", "-f", path], { encoding: "utf8" });
    expect(found).toContain(ed.b64);
    expect(hostKeyName("GW", 22)).toBe("gw");
  });

  it("globMatch", () => {
    expect(globMatch("abc", "a*")).toBe(true);
    expect(globMatch("abc", "a?c")).toBe(true);
    expect(globMatch("abc", "a?")).toBe(false);
    expect(globMatch("[h]:22", "*")).toBe(true);
    expect(globMatch("aXbXc", "*b*c")).toBe(true);
    expect(globMatch("", "*")).toBe(true);
    expect(globMatch("a", "")).toBe(false);
  });
});
