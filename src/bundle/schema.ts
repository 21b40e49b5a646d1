import { z } from "zod";
import { EvidenceKind } from "../evidence/types.js";

/** Why a host or a command could not give its output. */
export const FailureCode = z.enum([
  "unreachable",
  "auth_failed",
  "host_key_unknown",
  "host_key_mismatch",
  "host_key_revoked",
  "timeout",
  "command_missing",
  "permission_denied",
  "output_truncated",
  "error",
]);
export type FailureCode = z.infer<typeof FailureCode>;

export const Failure = z.object({
  code: FailureCode,
  message: z.string(),
});
export type Failure = z.infer<typeof Failure>;

/** A host's clock as read at collection time. */
export const HostClock = z.object({
  /** Host's current time, UTC ISO. */
  now: z.string(),
  /** Offset of host local time from UTC in minutes (east positive). */
  utcOffsetMinutes: z.number().int(),
  /** Boot time, UTC ISO (for dmesg uptime stamps). */
  bootTime: z.string().optional(),
  /** Zone name, informational (`Europe/Berlin`, `UTC`). */
  timezone: z.string().optional(),
  /** Host clock minus collector clock, in ms, measured at collection. */
  skewMs: z.number().optional(),
  /**
   * The window start the host read its logs from, UTC ISO in the host's own clock: the window's start moved
   * by the host's offset when its clock is off. Absent in bundles from before hosts took it in their clock.
   */
  windowSince: z.string().optional(),
});
export type HostClock = z.infer<typeof HostClock>;

/** One command's raw output. */
export const CommandOutput = z.object({
  /** Stable id of the command template, e.g. `nginx-error-log`. */
  id: z.string(),
  /** Which parser reads its stdout. */
  kind: EvidenceKind,
  /** Other parsers that read the same stdout too: a unit's journal also holds the service's own output. */
  alsoParseAs: z.array(EvidenceKind).optional(),
  /** File path or command line the text came from; becomes the record `source`. */
  source: z.string(),
  /** The exact command run (for the audit trail). */
  command: z.string().optional(),
  exitCode: z.number().int().nullable().default(0),
  stdout: z.string().default(""),
  stderr: z.string().default(""),
  durationMs: z.number().nonnegative().default(0),
  /** The output hit its byte cap and was cut. */
  truncated: z.boolean().default(false),
  /**
   * A log read with its rotated files: which file each stretch of stdout came from, oldest first, with its
   * number of lines (the last one takes whatever is left). Absent when all of it came from `source`.
   */
  parts: z.array(z.object({ source: z.string(), lines: z.number().int().nonnegative() })).optional(),
  /** Kind-specific parser options, e.g. `{ "format": "<log_format string>" }` for nginx-access. */
  options: z.record(z.string(), z.string()).optional(),
  failure: Failure.optional(),
});
export type CommandOutput = z.infer<typeof CommandOutput>;

export const HostRole = z.enum(["gateway", "backend"]);
export type HostRole = z.infer<typeof HostRole>;

/** One host asked during collection. */
export const HostBundle = z.object({
  /** Inventory name. */
  name: z.string(),
  /** Address the bot connected to (or would have). */
  address: z.string(),
  role: HostRole,
  /** IP addresses the host owns (from `ip -o addr` or the inventory). */
  addresses: z.array(z.string()).default([]),
  clock: HostClock.optional(),
  /** The host as a whole failed (unreachable, auth, host key...): commands are empty, or what arrived before a lost connection. */
  failure: Failure.optional(),
  commands: z.array(CommandOutput).default([]),
});
export type HostBundle = z.infer<typeof HostBundle>;

/** A backend instance of the service, as the inventory describes it. */
export const BackendSpec = z.object({
  host: z.string(),
  address: z.string(),
  /** Absent for an instance that listens on a unix socket. */
  port: z.number().int().min(1).max(65535).optional(),
  /** The unix socket the instance listens on, when nginx reaches it by path (`server unix:/run/app.sock`). */
  socket: z.string().optional(),
  /** IP addresses `address` resolved to from the collector, when it is a name. */
  addresses: z.array(z.string()).optional(),
  /** systemd unit, process name or pid file used to find the process. */
  unit: z.string().optional(),
  process: z.string().optional(),
});
export type BackendSpec = z.infer<typeof BackendSpec>;

export const Bundle = z.object({
  version: z.literal(1),
  service: z.string().min(1),
  /** nginx upstream{} group name that serves the service, if known. */
  upstream: z.string().optional(),
  collectedAt: z.string(),
  window: z.object({ since: z.string(), until: z.string() }),
  /** Backends the inventory names. Empty when the inventory says "the servers of the nginx upstream". */
  backends: z.array(BackendSpec).default([]),
  hosts: z.array(HostBundle),
  /** Free-form note: how the bundle was made (lab scenario, hand capture). */
  note: z.string().optional(),
});
export type Bundle = z.infer<typeof Bundle>;
