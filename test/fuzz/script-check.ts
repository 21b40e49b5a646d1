import { collect } from "../../src/collect/collect.js";
import { resolveHost } from "../../src/collect/hosts.js";
import { TEMPLATE_IDS } from "../../src/collect/plan.js";
import type { Transport } from "../../src/collect/transport.js";
import type { Config } from "../../src/config/schema.js";

/** One host's collection script as the transport was handed it. */
export interface SentScript {
  host: string;
  script: string;
}

/** A section line of a collection script, read back: `w_sec <id> <max> <timeout|-> <function> <args...>`. */
export interface SectionLine {
  id: string;
  template: string;
  fn: string;
  /** The arguments after the function, unquoted. */
  args: string[];
  /** Which arguments were single-quoted words (the rest are bare integers or flags). */
  quoted: boolean[];
}

const BARE = /^[A-Za-z0-9_.:=,+@%/-]$/;

/**
 * The words of one script line as `sh` reads them, for the only forms the script writer produces: bare words
 * of safe characters, and shQuote's single-quoted words (`'it'"'"'s'`). Anything else (an unquoted `$`, `;`,
 * backtick, quote left open) is not a word the allowlist allows, and throws.
 */
export function shellWords(line: string): { value: string; quoted: boolean }[] {
  const out: { value: string; quoted: boolean }[] = [];
  let i = 0;
  while (i < line.length) {
    if (line[i] === " ") {
      i++;
      continue;
    }
    let value = "";
    let quoted = false;
    while (i < line.length && line[i] !== " ") {
      const c = line[i] as string;
      if (c === "'") {
        const end = line.indexOf("'", i + 1);
        if (end === -1) throw new Error(`unterminated quote in: ${line.slice(0, 200)}`);
        value += line.slice(i + 1, end);
        quoted = true;
        i = end + 1;
      } else if (line.startsWith(`"'"`, i)) {
        value += "'";
        quoted = true;
        i += 3;
      } else if (BARE.test(c)) {
        value += c;
        i++;
      } else {
        throw new Error(`unquoted ${JSON.stringify(c)} in: ${line.slice(0, 200)}`);
      }
    }
    out.push({ value, quoted });
  }
  return out;
}

/** What each script function takes after its name: q a quoted word, n an integer, b 0 or 1. */
const SIGNATURES: Record<string, string> = {
  w_cmd: "n q",
  w_logwin: "q n b",
  w_dmesg: "n n q",
  w_clock: "",
  w_agg: "q n n n n q",
};

/** Every section line of a script, checked against the functions' signatures and the template ids. */
export function sectionLines(script: string): SectionLine[] {
  const out: SectionLine[] = [];
  const templates = new Set<string>(TEMPLATE_IDS);
  for (const line of script.split("\n")) {
    if (!line.startsWith("w_sec ")) continue;
    const words = shellWords(line);
    const [, id, max, timeout, fn, ...rest] = words;
    if (!id || !max || !timeout || !fn) throw new Error(`short section line: ${line}`);
    const template = id.value.replace(/-\d+$/, "");
    if (!templates.has(template)) throw new Error(`section ${id.value} is no allowlisted template`);
    if (!/^\d+$/.test(max.value) || !/^(\d+|-)$/.test(timeout.value)) throw new Error(`bad limits: ${line}`);
    const sig = SIGNATURES[fn.value];
    if (sig === undefined) throw new Error(`unknown script function ${fn.value}`);
    const kinds = sig === "" ? [] : sig.split(" ");
    if (kinds.length !== rest.length) throw new Error(`${fn.value} takes ${kinds.length} arguments: ${line}`);
    kinds.forEach((k, i) => {
      const w = rest[i] as { value: string; quoted: boolean };
      const ok = k === "q" ? w.quoted : k === "n" ? /^\d+$/.test(w.value) : /^[01]$/.test(w.value);
      if (!ok || (k !== "q" && w.quoted))
        throw new Error(`argument ${i + 1} of ${fn.value} is not ${k}: ${line}`);
    });
    out.push({
      id: id.value,
      template,
      fn: fn.value,
      args: rest.map((w) => w.value),
      quoted: rest.map((w) => w.quoted),
    });
  }
  return out;
}

/**
 * A command snippet (the quoted argument of w_cmd or w_dmesg) with each of its own single-quoted words
 * replaced by `Q`, and those words' values: the template, and what filled its slots.
 */
export function maskSnippet(snippet: string): { shape: string; values: string[] } {
  const values: string[] = [];
  const shape = snippet.replace(/'([^']*)'(?:"'"'([^']*)')*/g, (all) => {
    values.push(all.slice(1, -1).replaceAll(`'"'"'`, "'"));
    return "Q";
  });
  return { shape, values };
}

/** The script with the two integers the window sets masked: what must not change with the input. */
export function masked(script: string): string {
  return script.replace(/^W_SINCE=\d+$/m, "W_SINCE=#").replace(/^W_REF=\d+$/m, "W_REF=#");
}

/** W_SINCE of a script: the window start, epoch seconds. */
export function windowStart(script: string): number {
  const m = /^W_SINCE=(\d+)$/m.exec(script);
  if (!m) throw new Error("script without W_SINCE");
  return Number(m[1]);
}

const EMPTY_ANSWER = { stdout: "", stderr: "", exitCode: 0, durationMs: 1, truncated: false };

/**
 * Collect a service as the bot would, with transports that record each host's script and answer nothing
 * (no host is contacted, nothing runs): the scripts, or the error collect threw.
 */
export async function plannedScripts(
  config: Config,
  service: string,
  sinceMs: number,
  now: number,
): Promise<SentScript[]> {
  const sent: SentScript[] = [];
  await collect(
    config,
    { service, sinceMs },
    {
      resolve: (name) => resolveHost(config, name, { home: "/nonexistent", username: "why502" }),
      connect: async (host): Promise<Transport> => ({
        host: host.name,
        exec: async (script) => {
          sent.push({ host: host.name, script });
          return EMPTY_ANSWER;
        },
        close: async () => undefined,
      }),
      now: () => now,
      nonce: () => "FuzzNonce0000000001",
    },
  );
  return sent.sort((a, b) => a.host.localeCompare(b.host));
}
