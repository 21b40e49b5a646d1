import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/**
 * OpenSSH known_hosts, as sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT" describes it:
 * `[@marker] patterns keytype base64-key [comment]`.
 *
 * `@cert-authority` lines are parsed but never used to accept a key: host certificates are not
 * supported, so a host known only through a CA is reported as unknown.
 */

export const KEY_TYPES = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "ssh-rsa",
] as const;
export type KeyType = (typeof KEY_TYPES)[number];

export type HostMatcher =
  | { kind: "patterns"; patterns: { negated: boolean; glob: string }[] }
  | { kind: "hashed"; salt: Buffer; hash: Buffer };

export interface KnownHostEntry {
  marker?: "revoked" | "cert-authority";
  hosts: HostMatcher;
  keyType: KeyType;
  keyBlob: Buffer;
  comment?: string;
  source: string;
  line: number;
}

export interface KnownHostsProblem {
  source: string;
  line: number;
  reason: string;
}

export interface ParsedKnownHosts {
  entries: KnownHostEntry[];
  problems: KnownHostsProblem[];
}

export type HostKeyVerdict =
  | { ok: true; fingerprint: string; entry: KnownHostEntry }
  | {
      ok: false;
      code: "host_key_unknown" | "host_key_mismatch" | "host_key_revoked";
      fingerprint: string;
      /** For a mismatch: the known entries for this host, to name in the message. */
      known: KnownHostEntry[];
    };

export function parseKnownHosts(text: string, source = "known_hosts"): ParsedKnownHosts {
  const entries: KnownHostEntry[] = [];
  const problems: KnownHostsProblem[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]?.trim() ?? "";
    if (raw === "" || raw.startsWith("#")) continue;
    const result = parseLine(raw, source, i + 1);
    if ("reason" in result) problems.push(result);
    else entries.push(result);
  }
  return { entries, problems };
}

function parseLine(raw: string, source: string, line: number): KnownHostEntry | KnownHostsProblem {
  const fields = raw.split(/\s+/);
  let marker: KnownHostEntry["marker"];
  if (fields[0]?.startsWith("@")) {
    const m = fields.shift();
    if (m === "@revoked") marker = "revoked";
    else if (m === "@cert-authority") marker = "cert-authority";
    else return { source, line, reason: `unknown marker ${m}` };
  }
  const [hostField, keyType, keyB64, ...rest] = fields;
  if (!hostField || !keyType || !keyB64) return { source, line, reason: "expected: hosts keytype key" };
  if (!isKeyType(keyType)) return { source, line, reason: `unsupported key type ${keyType}` };
  const keyBlob = decodeBase64Strict(keyB64);
  if (!keyBlob) return { source, line, reason: "key is not valid base64" };
  if (blobKeyType(keyBlob) !== keyType) return { source, line, reason: `key blob is not a ${keyType} key` };
  const hosts = parseHosts(hostField);
  if (!hosts) return { source, line, reason: "malformed hashed host entry" };
  const entry: KnownHostEntry = { hosts, keyType, keyBlob, source, line };
  if (marker) entry.marker = marker;
  if (rest.length > 0) entry.comment = rest.join(" ");
  return entry;
}

function parseHosts(field: string): HostMatcher | undefined {
  if (field.startsWith("|")) {
    // |1|base64(salt)|base64(HMAC-SHA1(salt, host))
    const parts = field.split("|");
    if (parts.length !== 4 || parts[1] !== "1") return undefined;
    const salt = decodeBase64Strict(parts[2] ?? "");
    const hash = decodeBase64Strict(parts[3] ?? "");
    if (!salt || !hash || hash.length !== 20) return undefined;
    return { kind: "hashed", salt, hash };
  }
  const patterns = field
    .split(",")
    .filter((p) => p !== "")
    .map((p) =>
      p.startsWith("!")
        ? { negated: true, glob: p.slice(1).toLowerCase() }
        : { negated: false, glob: p.toLowerCase() },
    );
  return { kind: "patterns", patterns };
}

/** The name known_hosts stores for a host: `host` on port 22, `[host]:port` otherwise. */
export function hostKeyName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

/** Does this entry's host field name `host:port`? A matching negated pattern excludes the line. */
export function entryMatchesHost(entry: KnownHostEntry, host: string, port: number): boolean {
  const name = hostKeyName(host, port);
  const m = entry.hosts;
  if (m.kind === "hashed") {
    const h = createHmac("sha1", m.salt).update(name).digest();
    return timingSafeEqual(h, m.hash);
  }
  let positive = false;
  for (const p of m.patterns) {
    if (!globMatch(name, p.glob)) continue;
    if (p.negated) return false;
    positive = true;
  }
  return positive;
}

/**
 * OpenSSH's order of precedence: a matching `@revoked` line with this key refuses it outright; then a
 * matching plain line with the same key accepts it; a matching plain line with any other key is a
 * mismatch (the key changed, or the host no longer offers the known type); nothing matching is unknown.
 */
export function verifyHostKey(
  entries: readonly KnownHostEntry[],
  host: string,
  port: number,
  keyBlob: Buffer,
): HostKeyVerdict {
  const fp = fingerprint(keyBlob);
  const forHost = entries.filter((e) => entryMatchesHost(e, host, port));
  if (forHost.some((e) => e.marker === "revoked" && e.keyBlob.equals(keyBlob))) {
    return { ok: false, code: "host_key_revoked", fingerprint: fp, known: [] };
  }
  const plain = forHost.filter((e) => e.marker === undefined);
  const same = plain.find((e) => e.keyBlob.equals(keyBlob));
  if (same) return { ok: true, fingerprint: fp, entry: same };
  if (plain.length > 0) return { ok: false, code: "host_key_mismatch", fingerprint: fp, known: plain };
  return { ok: false, code: "host_key_unknown", fingerprint: fp, known: [] };
}

/** Key types known for a host (plain lines only), in file order, to prefer them in negotiation. */
export function knownKeyTypes(entries: readonly KnownHostEntry[], host: string, port: number): KeyType[] {
  const types: KeyType[] = [];
  for (const e of entries) {
    if (e.marker === undefined && !types.includes(e.keyType) && entryMatchesHost(e, host, port)) {
      types.push(e.keyType);
    }
  }
  return types;
}

/** `SHA256:` + unpadded base64 of the SHA-256 of the key blob, as `ssh-keygen -lf` prints it. */
export function fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash("sha256").update(keyBlob).digest("base64").replace(/=+$/, "")}`;
}

/** The key type named inside an SSH wire-format public key blob (its first string). */
export function blobKeyType(keyBlob: Buffer): string | undefined {
  if (keyBlob.length < 4) return undefined;
  const len = keyBlob.readUInt32BE(0);
  if (len === 0 || len > 64 || keyBlob.length < 4 + len) return undefined;
  return keyBlob.subarray(4, 4 + len).toString("latin1");
}

/** A line ready to pin: `[host]:port keytype base64`. */
export function knownHostsLine(host: string, port: number, keyBlob: Buffer): string {
  const type = blobKeyType(keyBlob) ?? "unknown";
  return `${hostKeyName(host, port)} ${type} ${keyBlob.toString("base64")}`;
}

export function isKeyType(s: string): s is KeyType {
  return (KEY_TYPES as readonly string[]).includes(s);
}

/** `*` any run of characters, `?` exactly one; everything else literal. */
export function globMatch(text: string, glob: string): boolean {
  let t = 0;
  let g = 0;
  let starG = -1;
  let starT = 0;
  while (t < text.length) {
    const gc = glob[g];
    if (gc === "?" || (gc !== undefined && gc !== "*" && gc === text[t])) {
      t++;
      g++;
    } else if (gc === "*") {
      starG = g++;
      starT = t;
    } else if (starG !== -1) {
      g = starG + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (glob[g] === "*") g++;
  return g === glob.length;
}

function decodeBase64Strict(s: string): Buffer | undefined {
  if (s === "" || !/^[A-Za-z0-9+/]+={0,2}$/.test(s)) return undefined;
  const b = Buffer.from(s, "base64");
  return b.length > 0 ? b : undefined;
}
