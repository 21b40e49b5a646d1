import { z } from "zod";
import { LifecycleFields } from "../lifecycle.js";
import { RecordBase } from "../types.js";

/** One container's state from `docker inspect` (its `State`, `RestartCount` and `Name`). */
export const DockerRecord = RecordBase.extend({
  ...LifecycleFields,
  running: z.boolean().optional(),
  restarting: z.boolean().optional(),
  dead: z.boolean().optional(),
  /** The daemon's `State.Error` (why it could not start the container), when not empty. */
  error: z.string().optional(),
});
export type DockerRecord = z.infer<typeof DockerRecord>;
