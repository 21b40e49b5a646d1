import { runCheck } from "./cli/check.js";
import { runDiagnose } from "./cli/diagnose.js";
import { runExplain } from "./cli/explain.js";
import { runHosts } from "./cli/hosts.js";
import { runIncidents, runSummary } from "./cli/incidents.js";
import { drained, type Io, outputFailure } from "./cli/io.js";
import { runParse } from "./cli/parse.js";
import { runPlan } from "./cli/plan.js";
import { runPlaybookCommand } from "./cli/playbook.js";
import { runServe } from "./cli/serve.js";
import { forTerminal } from "./diagnosis/render/escape.js";
import { isUserError, UserError } from "./errors.js";

export type { Io } from "./cli/io.js";

const HELP = `why502: why is this service answering 502?

Usage: why502 <command> [options]

Commands:
  diagnose <service>          collect evidence over SSH and explain the 502s (--bundle FILE replays)
  plan <service>              print exactly which read-only commands would run on which hosts
  check                       validate the config and try every host: SSH, host keys, commands, clocks
  hosts fingerprint HOST      print a host's SSH key fingerprint and a known_hosts line to pin it
  parse <kind>                read logs on stdin, print what why502 sees as NDJSON
  explain                     say what each pasted log line means and what to check next (stdin)
  playbook test [DIR]         run a playbook's cases; playbook check [FILE] validates one
  serve                       run the Slack app (Socket Mode or HTTP) with /healthz, /readyz, /metrics
  incidents                   list recent incidents from the store; summary <id> shows one's summary

Run \`why502 <command> --help\` for a command's options.
`;

type Command = (args: string[], io: Io) => Promise<number>;

/**
 * A message for stderr: it can quote a host (the key type it offered, what it answered), a file or an argument,
 * so its control characters are shown (`\x1b`), never obeyed; its own line breaks are kept.
 */
function shown(message: string): string {
  return message.split("\n").map(forTerminal).join("\n");
}

const commands: Record<string, Command> = {
  diagnose: runDiagnose,
  plan: runPlan,
  check: runCheck,
  hosts: runHosts,
  parse: runParse,
  explain: runExplain,
  playbook: runPlaybookCommand,
  serve: runServe,
  incidents: runIncidents,
  summary: runSummary,
};

/**
 * An argument that holds U+FFFD: how Node shows bytes of argv that are not UTF-8. Taken as it is, a path would
 * name another file (one with U+FFFD in its name), so it is refused; an option's value is named by the option.
 */
function notUtf8(args: string[]): UserError | undefined {
  const i = args.findIndex((a) => a.includes("\uFFFD"));
  const arg = args[i];
  if (arg === undefined) return undefined;
  const inline = /^(--[\w-]+)=(.*)$/s.exec(arg);
  const before = args[i - 1];
  const [what, value] = inline
    ? [inline[1], inline[2] ?? ""]
    : before?.startsWith("--") && !before.includes("=")
      ? [before, arg]
      : ["Argument", arg];
  return new UserError(
    "bad_input",
    `${what} ${JSON.stringify(value)} is not valid UTF-8 (the bytes shown as \uFFFD): why502 would open another path, so rename the file or give a UTF-8 path.`,
  );
}

async function dispatch(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    io.stdout.write(HELP);
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    io.stderr.write(`why502: unknown command "${shown(name)}": run \`why502 --help\` for the list.\n`);
    return 2;
  }
  try {
    const refused = notUtf8(rest);
    if (refused) throw refused;
    return await command(rest, io);
  } catch (e) {
    if (isUserError(e)) {
      io.stderr.write(`why502: ${shown(e.message)}\n`);
      if (e.hint) io.stderr.write(`hint: ${shown(e.hint)}\n`);
      return 2;
    }
    if (e instanceof TypeError && (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      io.stderr.write(
        `why502 ${name}: ${shown(e.message)}: run \`why502 ${name} --help\` for the options.\n`,
      );
      return 2;
    }
    io.stderr.write(
      `why502: unexpected error, please report it: ${shown(e instanceof Error ? (e.stack ?? e.message) : String(e))}\n`,
    );
    return 70;
  }
}

/**
 * The `why502` command. The only entry point that touches process state is bin/why502.js. When stdout fails
 * (its reader closed the pipe, the disk is full) the status says so at once (`outputFailure`), even if the
 * command is still waiting to write.
 */
export async function main(argv: string[], io: Io): Promise<number> {
  let failure: number | undefined;
  const failed = outputFailure(io).then((code) => {
    failure = code;
    return code;
  });
  const code = await Promise.race([dispatch(argv, io), failed]);
  // A write still in flight (a pipe's reader that leaves mid-way) can fail after the command returned.
  await Promise.race([drained(io.stdout), failed]);
  return failure ?? code;
}
