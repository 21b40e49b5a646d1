import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import type { Bundle, CommandOutput, HostBundle } from "../../src/bundle/schema.js";

export const root = new URL("../../", import.meta.url).pathname;

/** Captured output as a bundle command: it ran, exit 0, nothing cut. */
export function captured(
  id: string,
  kind: CommandOutput["kind"],
  source: string,
  stdout: string,
  extra: Partial<CommandOutput> = {},
): CommandOutput {
  const command = extra.command === undefined ? {} : { command: extra.command };
  return {
    id,
    kind,
    source,
    ...command,
    exitCode: 0,
    stdout,
    stderr: "",
    durationMs: 0,
    truncated: false,
    ...extra,
  };
}

/** The one gateway of a capture on this machine, as a bundle host. */
export function captureGateway(
  clock: NonNullable<HostBundle["clock"]>,
  commands: CommandOutput[],
): HostBundle {
  return { name: "gw", address: "127.0.0.1", role: "gateway", addresses: ["127.0.0.1"], clock, commands };
}

/** Write playbooks/cases/<name>/{bundle.json,expect.yaml}. */
export function writeCase(
  name: string,
  bundle: Bundle,
  expect: { description: string; verdicts: { target: string; cause: string }[] },
): void {
  const dir = join(root, "playbooks/cases", name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "bundle.json"), `${JSON.stringify(bundle, null, 1)}\n`);
  writeFileSync(join(dir, "expect.yaml"), stringify({ playbook: "why502.yaml", ...expect }));
}
