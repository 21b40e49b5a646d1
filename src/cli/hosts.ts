import { parseArgs } from "node:util";
import { fetchHostKey } from "../collect/ssh/fetch-host-key.js";
import { isTransportError } from "../collect/transport.js";
import { parseDuration } from "../config/duration.js";
import { UserError } from "../errors.js";
import type { Io } from "./io.js";

export const hostsHelp = `Usage: why502 hosts fingerprint HOST[:PORT] [--timeout 5s]

Connects only far enough to see HOST's SSH host key and prints its SHA256 fingerprint and a known_hosts
line. Compare the fingerprint with the host's own (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on its
console) before you add the line to the known_hosts file why502 uses.
`;

export async function runHosts(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { timeout: { type: "string", default: "5s" }, help: { type: "boolean", short: "h" } },
  });
  const [sub, target] = positionals;
  if (values.help || !sub) {
    io.stdout.write(hostsHelp);
    return values.help ? 0 : 2;
  }
  if (sub !== "fingerprint")
    throw new UserError("usage", `Unknown hosts command "${sub}": use \`hosts fingerprint HOST\`.`);
  if (!target)
    throw new UserError(
      "usage",
      "hosts fingerprint needs a host, e.g. `why502 hosts fingerprint gw1.example.com:22`.",
    );
  const timeout = parseDuration(values.timeout);
  if (timeout === undefined)
    throw new UserError("usage", `--timeout "${values.timeout}" is not a duration: write it like 5s.`);
  const { host, port } = parseTarget(target);
  try {
    const key = await fetchHostKey(host, port, timeout);
    io.stdout.write(`${key.fingerprint} (${key.keyType})\n${key.knownHostsLine}\n`);
    return 0;
  } catch (e) {
    if (isTransportError(e)) throw new UserError("bad_input", e.message);
    throw e;
  }
}

/**
 * `[USER@]HOST`, `HOST:PORT`, `[V6ADDR]` or `[V6ADDR]:PORT` (a bare IPv6 address has no port). A port that is not a
 * number from 1 to 65535 is the user's to fix, before any connection is tried.
 */
export function parseTarget(target: string): { host: string; port: number } {
  const bad = (what: string) =>
    new UserError("usage", `hosts fingerprint ${JSON.stringify(target)}: ${what}.`);
  // A `user@` in front (as in a jump spec) does not matter for the host key.
  const rest = target.slice(target.lastIndexOf("@") + 1);
  const v6 = /^\[([^\]]*)\](?::(.*))?$/.exec(rest);
  const colon = rest.indexOf(":");
  const [host, portText] = v6
    ? [v6[1] ?? "", v6[2]]
    : colon >= 0 && colon === rest.lastIndexOf(":")
      ? [rest.slice(0, colon), rest.slice(colon + 1)]
      : [rest, undefined];
  if (host === "" || /\s/.test(host)) throw bad("give a host name or address, like gw1.example.com:22");
  if (portText === undefined) return { host, port: 22 };
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : 0;
  if (port < 1 || port > 65535) throw bad(`port must be 1-65535, not ${JSON.stringify(portText)}`);
  return { host, port };
}
