import type { Bundle, CommandOutput } from "../../src/bundle/schema.js";
import type { EvidenceKind } from "../../src/evidence/types.js";

/**
 * A bundle written by hand around real captured outputs (docs/bundle.md): one backend host, app-1 at
 * 127.0.0.11, whose commands are `[id, kind, stdout]`, collected at the window's end.
 */
export function oneBackendBundle(
  commands: [string, EvidenceKind, string][],
  window: { since: string; until: string },
  clock: { bootTime?: string } = {},
): Bundle {
  const outputs: CommandOutput[] = commands.map(([id, kind, stdout]) => ({
    id,
    kind,
    source: id,
    exitCode: 0,
    stdout,
    stderr: "",
    durationMs: 1,
    truncated: false,
  }));
  return {
    version: 1,
    service: "checkout",
    collectedAt: window.until,
    window,
    backends: [],
    hosts: [
      {
        name: "app-1",
        address: "127.0.0.11",
        role: "backend",
        addresses: [],
        clock: { now: window.until, utcOffsetMinutes: 0, ...clock },
        commands: outputs,
      },
    ],
  };
}
