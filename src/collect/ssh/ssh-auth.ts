import { createRequire } from "node:module";
import type { SshTarget } from "../transport.js";
import { TransportError } from "../transport.js";
import type { AuthMethod, ParsedKey, Ssh2Utils } from "./ssh2-types.js";
import { peerLabel } from "./tcp-connect.js";

const ssh2Utils = (createRequire(import.meta.url)("ssh2") as { utils: Ssh2Utils }).utils;

export interface AuthPlan {
  /** ssh2 authHandler list, tried in order: the agent first, then identity files, as OpenSSH does */
  methods: AuthMethod[];
  /** what was offered, for the auth_failed message */
  offered: string[];
}

/** Reads the identity files; a missing, unreadable or passphrase-protected one is skipped with a reason. */
export async function planAuth(
  target: SshTarget,
  readFile: (path: string) => Promise<string>,
): Promise<AuthPlan> {
  const methods: AuthMethod[] = [];
  const offered: string[] = [];
  const skipped: string[] = [];
  if (target.useAgent) {
    if (target.agentSocket) {
      methods.push({ type: "agent", username: target.user, agent: target.agentSocket });
      offered.push(`the agent at ${target.agentSocket}`);
    } else {
      skipped.push("the agent (no agent socket configured)");
    }
  }
  for (const path of target.identityFiles) {
    let text: string;
    try {
      text = await readFile(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      skipped.push(`${path} (${code === "ENOENT" ? "missing" : `unreadable: ${code ?? String(e)}`})`);
      continue;
    }
    const problem = keyProblem(text);
    if (problem) {
      skipped.push(`${path} (${problem})`);
      continue;
    }
    methods.push({ type: "publickey", username: target.user, key: text });
    offered.push(path);
  }
  if (methods.length === 0) {
    const why = skipped.length > 0 ? skipped.join("; ") : "no identity file and no agent configured";
    throw new TransportError(
      "auth_failed",
      target.name,
      `No usable credentials to log in to ${peerLabel(target)} as ${target.user}: ${why}.`,
    );
  }
  return { methods, offered };
}

function keyProblem(text: string): string | undefined {
  const parsed = ssh2Utils.parseKey(text);
  if (parsed instanceof Error) {
    return /encrypted|passphrase/i.test(parsed.message)
      ? "passphrase-protected: load it into ssh-agent instead"
      : `not a private key ssh2 can read: ${parsed.message}`;
  }
  const key: ParsedKey | undefined = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key?.isPrivateKey()) return "a public key, not a private key";
  return undefined;
}
