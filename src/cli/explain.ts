import { parseArgs } from "node:util";
import { UserError } from "../errors.js";
import { explainText, renderExplainText } from "../explain/explain.js";
import type { Io } from "./io.js";

export const explainHelp = `Usage: why502 explain [--json] < lines

Reads log lines on stdin (pasted from nginx's error or access log, dmesg, the systemd journal,
supervisord's or PM2's log, docker events or inspect, an app's crash output, in any mix) and says what
each one means and what to check next. Lines may be fragments: without their timestamp, cut at either
end, or behind a container runtime's prefix. A crash report (Go panic, Python traceback, Java or Node
stack) and pasted docker inspect output are one entry covering all their lines. Secrets are masked.

Options:
  --json     one JSON object per line read (NDJSON) instead of text
  -h, --help this help
`;

/** More than anyone pastes; a whole log belongs in `why502 parse` or `diagnose`. */
const MAX_INPUT_BYTES = 1 << 20;

async function readInput(stdin: NodeJS.ReadableStream): Promise<{ text: string; cut: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const b = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
    chunks.push(b);
    size += b.length;
    if (size > MAX_INPUT_BYTES) break;
  }
  const cut = size > MAX_INPUT_BYTES;
  const bytes = Buffer.concat(chunks).subarray(0, MAX_INPUT_BYTES);
  // Invalid UTF-8 becomes U+FFFD; nothing is rejected. A cut input loses its last, partial line.
  const text = new TextDecoder("utf-8").decode(bytes);
  return { text: cut ? text.slice(0, text.lastIndexOf("\n") + 1) : text, cut };
}

export async function runExplain(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    io.stdout.write(explainHelp);
    return 0;
  }
  if ((io.stdin as { isTTY?: boolean }).isTTY) {
    io.stderr.write("Paste log lines, then press Ctrl-D.\n");
  }
  const { text, cut } = await readInput(io.stdin);
  if (text.trim() === "") {
    throw new UserError(
      "bad_input",
      "Nothing to explain: stdin is empty. Pipe or paste log lines, e.g. `why502 explain < lines.txt`.",
    );
  }
  const lines = explainText(text, { now: new Date().toISOString() });
  if (values.json) {
    io.stdout.write(lines.map((l) => `${JSON.stringify(l)}\n`).join(""));
  } else {
    io.stdout.write(renderExplainText(lines));
  }
  if (cut) io.stderr.write(`why502 explain: read only the first ${MAX_INPUT_BYTES >> 20} MiB of stdin.\n`);
  return 0;
}
