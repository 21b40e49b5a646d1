import { z } from "zod";
import { LifecycleFields } from "../lifecycle.js";
import { RecordBase } from "../types.js";

/** One line of PM2's daemon log (`entry: "log"`) or one app of `pm2 jlist` (`entry: "status"`). */
export const Pm2Record = RecordBase.extend({
  entry: z.enum(["log", "status"]),
  ...LifecycleFields,
  /** PM2's id of the app (`[name:0]`, `pm_id`). */
  pmId: z.number().int().nonnegative().optional(),
  /** The script PM2 runs; the give-up line names it instead of the app. */
  execPath: z.string().optional(),
  /** `log` or `error` after `PM2 `. */
  level: z.string().optional(),
});
export type Pm2Record = z.infer<typeof Pm2Record>;
