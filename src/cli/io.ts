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

/**
 * Exit status when the reader of stdout went away (`why502 ... | head -1`): 128 + SIGPIPE, what a shell reports
 * for `git log | head -1` or `ls | head -1`, whose writers die of SIGPIPE without a word. Node ignores SIGPIPE,
 * so why502 exits with that status itself, printing nothing.
 */
export const EXIT_OUTPUT_CLOSED = 141;
/** sysexits.h EX_IOERR: stdout could not be written (disk full, I/O error); one sentence on stderr says why. */
export const EXIT_IO_ERROR = 74;

const watched = new WeakMap<object, Promise<number>>();
const quiet = new WeakSet<object>();

/** `ENOSPC: no space left on device, write` -> `no space left on device (ENOSPC)`. */
function reason(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  const message = e instanceof Error ? e.message : String(e);
  const what = message.replace(/^[A-Z0-9_]+: /, "").replace(/, write$/, "");
  return typeof code === "string" && !what.includes(code) ? `${what} (${code})` : what;
}

/**
 * Resolves with the exit status once stdout fails: EXIT_OUTPUT_CLOSED, quietly, when its reader closed the
 * pipe (EPIPE); EXIT_IO_ERROR, with one sentence on stderr, for any other write error (ENOSPC, EIO, EDQUOT).
 * The listeners stay for the life of the streams: a write still in flight when the command returns can fail
 * later, and an `error` event nobody listens to ends the process with a stack. stderr's own failures are
 * ignored: there is nowhere left to report them.
 */
export function outputFailure(io: Io): Promise<number> {
  const known = watched.get(io.stdout);
  if (known) return known;
  const failed = new Promise<number>((resolve) => {
    let done = false;
    io.stdout.on("error", (e: unknown) => {
      if (done) return;
      done = true;
      if ((e as { code?: unknown }).code === "EPIPE") {
        resolve(EXIT_OUTPUT_CLOSED);
        return;
      }
      io.stderr.write(`why502: cannot write the output: ${reason(e)}.\n`);
      resolve(EXIT_IO_ERROR);
    });
  });
  watched.set(io.stdout, failed);
  if (!quiet.has(io.stderr)) {
    quiet.add(io.stderr);
    io.stderr.on("error", () => {});
  }
  return failed;
}

type Flushable = NodeJS.WritableStream & {
  destroyed?: boolean;
  writableEnded?: boolean;
  writableLength?: number;
};

/**
 * Resolves once what was written to `stream` has left the process (or the stream failed), and the error
 * events a failed write queued have been emitted.
 */
export async function drained(stream: NodeJS.WritableStream): Promise<void> {
  const s = stream as Flushable;
  if (!s.destroyed && !s.writableEnded && (s.writableLength ?? 0) > 0) {
    await new Promise<void>((resolve) => s.write("", () => resolve()));
  }
  await new Promise<void>((resolve) => setImmediate(resolve));
}
