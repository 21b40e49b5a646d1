import { z } from "zod";

/** Paths and names that end up quoted in shell commands: printable, no newlines, no NUL. */
export const SafeText = z
  .string()
  .min(1)
  .regex(/^[^\n\r\0]+$/, "expected one line of text")
  .max(4096);

/**
 * The only commands `nginx_t` may name: `[sudo -n] nginx [-p DIR] [-c FILE] -T` (the options in any order), nginx
 * by name or by absolute path. Anything else would run more than a read of the config.
 */
export function nginxTProblem(argv: readonly string[]): string | undefined {
  const form = "expected [sudo, -n,] nginx [, -p, DIR] [, -c, FILE], -T with nginx by name or absolute path";
  const rest = [...argv];
  if (rest[0] === "sudo") {
    if (rest[1] !== "-n") return `${form}: sudo must be followed by -n`;
    rest.splice(0, 2);
  }
  const bin = rest.shift() ?? "";
  if (bin !== "nginx" && !/^(\/[A-Za-z0-9_.+-]+)*\/nginx$/.test(bin)) return `${form}: "${bin}" is not nginx`;
  const seen = new Set<string>();
  while (rest.length > 0) {
    const flag = rest.shift() ?? "";
    if (seen.has(flag)) return `${form}: ${flag} appears twice`;
    if (flag !== "-T" && flag !== "-p" && flag !== "-c") return `${form}: "${flag}" is not accepted here`;
    seen.add(flag);
    if (flag === "-T") continue;
    if (!rest.shift()?.startsWith("/")) return `${form}: ${flag} needs an absolute path`;
  }
  return seen.has("-T") ? undefined : `${form}: -T is missing`;
}

export const NginxT = z
  .array(SafeText)
  .min(1)
  .superRefine((argv, ctx) => {
    const problem = nginxTProblem(argv);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

/** One hop `[user@]host[:port]` (host a name, an IPv4 address or a bracketed IPv6 one); hops joined by commas. */
const JUMP_HOP = /^([a-z_][a-z0-9_.-]*@)?([A-Za-z0-9_][A-Za-z0-9_.-]*|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$/i;
const hopPortOk = (hop: string): boolean => {
  const port = /:(\d{1,5})$/.exec(hop)?.[1];
  return port === undefined || (Number(port) >= 1 && Number(port) <= 65535);
};
export const Jump = SafeText.refine((s) => s.split(",").every((hop) => JUMP_HOP.test(hop)), {
  message:
    "expected a jump host as [user@]host[:port] (or several joined by commas), not an option or shell text",
}).refine((s) => s.split(",").every(hopPortOk), { message: "expected a jump host's port to be 1-65535" });
