export interface Io {
  env: NodeJS.ProcessEnv;
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export async function main(argv: string[], io: Io): Promise<number> {
  io.stdout.write(`why502 ${argv.join(" ")}\n`);
  return 0;
}
