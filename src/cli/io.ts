import { fileURLToPath } from "node:url";

export interface Io {
  env: NodeJS.ProcessEnv;
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** Resolves with the signal's name when the process is asked to stop (SIGTERM, SIGINT): `serve` waits on it. */
  stopRequested?: Promise<string>;
}

/** Root of the installed package (holds playbooks/), from dist/cli/ or src/cli/. */
export const packageRoot = fileURLToPath(new URL("../../", import.meta.url));

export function defaultPlaybookPath(): string {
  return `${packageRoot}playbooks/why502.yaml`;
}

/** Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function wantsColor(io: Io): boolean {
  return io.stdout.isTTY === true && !io.env.NO_COLOR && io.env.TERM !== "dumb";
}
