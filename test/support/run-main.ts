import { Readable, Writable } from "node:stream";
import { main } from "../../src/main.js";

export interface MainResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A stream that keeps what is written to it, not a terminal (`isTTY` false), as a redirected output is. */
export function capture(): { stream: Writable & { isTTY: boolean }; text: () => string } {
  let text = "";
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { stream: Object.assign(stream, { isTTY: false }), text: () => text };
}

/** Run the `why502` command in-process, as a user would from a shell without a terminal. */
export async function runMain(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; stdin?: string } = {},
): Promise<MainResult> {
  const out = capture();
  const err = capture();
  const code = await main(args, {
    env: opts.env ?? {},
    stdin: Readable.from([opts.stdin ?? ""]),
    stdout: out.stream,
    stderr: err.stream,
  });
  return { code, stdout: out.text(), stderr: err.text() };
}
