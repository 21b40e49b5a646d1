import { randomBytes } from "node:crypto";

/**
 * The command a transport starts: a plain `sh -s` that reads `shellInput()` from stdin. Scripts are
 * not passed as a `sh -c` argument: nothing goes through the remote login shell's quoting (bash, zsh
 * or fish alike), there is no argument length limit, and the script does not show in `ps` on the host.
 */
export const SHELL_COMMAND = "sh -s";

/**
 * The stdin for `sh -s`: one `{ ... }` group, which the shell reads in full before running any of it.
 *
 * - The script runs in a subshell whose stdin is /dev/null (or `stdin`, through a quoted
 *   here-document, delivered verbatim and newline-terminated), so no command can eat the script.
 * - A watchdog reads the shell's own stdin, which the client never closes. EOF there means the client
 *   closed the channel (timeout, byte cap, lost connection) or sshd saw the shell exit; either way the
 *   watchdog kills the whole process group, so nothing the script started outlives it. This needs no
 *   SSH `signal` request, which OpenSSH refuses for root sessions ("session signalling requires
 *   privilege separation").
 * - The group ends with `exit`, so the shell never reads past it and exits with the script's status.
 */
export function shellInput(script: string, stdin?: string): string {
  const body = script.endsWith("\n") ? script : `${script}\n`;
  let input = "</dev/null";
  let heredoc = "";
  if (stdin !== undefined) {
    const data = stdin.endsWith("\n") ? stdin : `${stdin}\n`;
    let tag: string;
    do tag = `WHY502_STDIN_${randomBytes(8).toString("hex")}`;
    while (data.split("\n").includes(tag));
    input = `<<'${tag}'`;
    heredoc = `${data}${tag}\n`;
  }
  return [
    "{",
    // A background job's stdin is /dev/null by default, so the watchdog gets the real one through fd 3.
    "exec 3<&0",
    "(",
    `${body}) ${input} 3<&- &`,
    `${heredoc}why502_main=$!`,
    "( cat >/dev/null; kill -KILL 0 ) <&3 >/dev/null 2>&1 &",
    "exec 3<&-",
    'wait "$why502_main"',
    "exit $?",
    "}",
    "",
  ].join("\n");
}
