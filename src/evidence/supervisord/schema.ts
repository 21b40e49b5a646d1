import { z } from "zod";
import { LifecycleFields } from "../lifecycle.js";
import { RecordBase } from "../types.js";

/**
 * One line of supervisord's main log (`spawned:`, `success:`, `exited:`, `gave up:`, `stopped:`, `spawnerr:`)
 * or of `supervisorctl status` (`entry: "status"`).
 */
export const SupervisordRecord = RecordBase.extend({
  entry: z.enum(["log", "status"]),
  ...LifecycleFields,
  /** The log level word: CRIT, ERRO, WARN, INFO, DEBG, TRAC, BLAT. */
  level: z.string().optional(),
  /** `startsecs` named by a `success:` line: how long a start must last to count as started. */
  startSeconds: z.number().int().nonnegative().optional(),
  /** Uptime of a RUNNING program, seconds, as `supervisorctl status` printed it. */
  uptimeSeconds: z.number().int().nonnegative().optional(),
});
export type SupervisordRecord = z.infer<typeof SupervisordRecord>;
