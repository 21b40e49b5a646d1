import { randomBytes } from "node:crypto";
import { resolveHost } from "../collect/hosts.js";
import { collectImpact, type Impact } from "../collect/impact.js";
import type { Config } from "../config/schema.js";
import { connector, hostEnv, type InvestigateEnv } from "./hosts-env.js";
import { lookupWithin } from "./lookup.js";

/**
 * An incident's impact: the gateways' access logs counted per minute, status and upstream on the hosts
 * (read-only, bounded; only the counts travel), over [sinceMs, untilMs].
 */
export async function countImpact(
  config: Config,
  env: InvestigateEnv,
  service: string,
  sinceMs: number,
  untilMs: number,
  now: () => number = Date.now,
): Promise<Impact> {
  const hosts = hostEnv(env, config);
  return collectImpact(
    config,
    service,
    { sinceMs, untilMs },
    {
      resolve: (name) => resolveHost(config, name, hosts),
      connect: connector(env),
      now,
      nonce: () => randomBytes(9).toString("hex"),
      lookup: lookupWithin(1500),
    },
  );
}
