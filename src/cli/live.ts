import type { Bundle } from "../bundle/schema.js";
import type { Progress } from "../collect/collect.js";
import { loadConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { parseSince } from "../config/since.js";
import { oneLine } from "../diagnosis/render/escape.js";
import { collectService } from "../investigate/investigate.js";
import type { Io } from "./io.js";

export function configPath(flag: string | undefined): string {
  return flag ?? "why502.yaml";
}

/** The window start `--since` asks for (see parseSince): a usage error for a bad, future or too long window. */
export function sinceMs(flag: string | undefined, config: Config, now: number): number {
  return parseSince(flag, { now, defaultMs: config.defaults.window, maxMs: config.defaults.max_window });
}

/** A progress line on stderr while hosts answer: rewritten in place on a terminal, one line per event otherwise. */
export function progressLine(io: Io, total: number): { update: (p: Progress) => void; end: () => void } {
  const finished = new Set<string>();
  const failed: string[] = [];
  const tty = io.stderr.isTTY === true;
  let width = 0;
  return {
    update(p) {
      if (p.state === "done" || p.state === "failed") {
        if (finished.has(p.host)) return;
        finished.add(p.host);
        // the host's name and what it answered: shown, never obeyed by the terminal
        if (p.state === "failed") failed.push(`${oneLine(p.host)} (${oneLine(p.detail ?? "failed")})`);
      } else if (!tty) return;
      const line = `collecting: ${finished.size}/${total} hosts answered${failed.length ? `, failed: ${failed.join(", ")}` : ""}`;
      if (tty) {
        io.stderr.write(`\r${line.padEnd(width)}`);
        width = line.length;
      } else if (p.state === "done" || p.state === "failed") {
        io.stderr.write(`${line}\n`);
      }
    },
    end() {
      if (tty && width > 0) io.stderr.write("\n");
    },
  };
}

export function hostCount(config: Config, service: string): number {
  const s = config.services[service];
  if (!s) return 0;
  return s.gateways.length + (s.backends.instances?.length ?? 0);
}

/** Collect the service's bundle over SSH with a progress line on stderr. */
export async function collectLive(
  io: Io,
  config: Config,
  service: string,
  since: number,
  now: () => number = Date.now,
): Promise<Bundle> {
  const progress = progressLine(io, hostCount(config, service));
  try {
    return await collectService(
      { service, sinceMs: since, requestedBy: `cli:${io.env.USER ?? "unknown"}` },
      { config, env: io.env, now, onProgress: progress.update },
    );
  } finally {
    progress.end();
  }
}

export function loadLiveConfig(flag: string | undefined): Config {
  return loadConfig(configPath(flag));
}
