import { z } from "zod";
import { RecordBase } from "./types.js";

/** Records of one `nginx -T`: one per file, directive of interest, and nginx's own check message. */

const Located = {
  /** The configuration file (`# configuration file X:`) the directive is written in. */
  file: z.string(),
  /** Line within that file (1-based); `line` is the line in the `nginx -T` output. */
  fileLine: z.number().int().nonnegative(),
};

export const UpstreamServer = z.object({
  /** As nginx writes it in logs: `host:port` (port 80 added when absent in http), or `unix:/path`. */
  address: z.string(),
  /** The address as written in the config. */
  raw: z.string(),
  host: z.string().nullable(),
  port: z.number().int().nullable(),
  unix: z.string().optional(),
  /** Effective parameters: nginx's defaults (weight 1, max_fails 1, fail_timeout 10 s) when not written. */
  params: z.object({
    weight: z.number(),
    max_fails: z.number(),
    /** Seconds. */
    fail_timeout: z.number(),
    backup: z.boolean(),
    down: z.boolean(),
    resolve: z.boolean(),
    /** 0 means unlimited. */
    max_conns: z.number(),
    other: z.record(z.string(), z.string()),
  }),
  line: z.number().int().positive(),
  fileLine: z.number().int().nonnegative(),
  text: z.string(),
});
export type UpstreamServer = z.infer<typeof UpstreamServer>;

export const ConfModule = z.enum(["http", "stream", "mail"]);

/** The `*_pass` directives of a location, as written (null when absent). */
export const PassFields = {
  proxyPass: z.string().nullable(),
  fastcgiPass: z.string().nullable(),
  uwsgiPass: z.string().nullable(),
  grpcPass: z.string().nullable(),
  scgiPass: z.string().nullable(),
};

export const NginxConfRecord = z.discriminatedUnion("entity", [
  RecordBase.extend({
    entity: z.literal("check"),
    /** true for `syntax is ok` / `test is successful`, false for `test failed`, null for other messages. */
    ok: z.boolean().nullable(),
    level: z.string().nullable(),
    message: z.string(),
  }),
  RecordBase.extend({ entity: z.literal("file"), ...Located, lines: z.number().int().nonnegative() }),
  RecordBase.extend({
    entity: z.literal("upstream"),
    ...Located,
    name: z.string(),
    module: ConfModule,
    servers: z.array(UpstreamServer),
    /** `keepalive N` (idle connections cached per worker), null when not set. */
    keepalive: z.number().int().nullable(),
    /** Other directives of the block (`zone`, `least_conn`, `hash`, `keepalive_timeout`, `check`...). */
    directives: z.array(z.object({ name: z.string(), args: z.array(z.string()), line: z.number().int() })),
  }),
  RecordBase.extend({
    entity: z.literal("server"),
    ...Located,
    /** `s0`, `s1`... in configuration order. */
    id: z.string(),
    module: ConfModule,
    /** Scope the server inherits from: `http`, `stream`, `mail`, or `orphan` (file included from nowhere). */
    parent: z.string(),
    listen: z.array(z.string()),
    serverName: z.array(z.string()),
    /** stream{} servers proxy without locations. */
    proxyPass: z.string().nullable(),
  }),
  RecordBase.extend({
    entity: z.literal("location"),
    ...Located,
    /** `s0/l1`, nested `s0/l1/l0`. */
    id: z.string(),
    serverId: z.string(),
    /** The enclosing location's id, or the server's. */
    parentId: z.string(),
    /** `=`, `~`, `~*`, `^~`, or "" for a prefix or named (`@x`) location. */
    modifier: z.string(),
    path: z.string(),
    ...PassFields,
  }),
  RecordBase.extend({
    entity: z.literal("log_format"),
    ...Located,
    name: z.string(),
    escape: z.enum(["default", "json", "none"]),
    /** The quoted parts joined, as nginx joins them. */
    format: z.string(),
  }),
  RecordBase.extend({
    entity: z.literal("access_log"),
    ...Located,
    /** A file path, `syslog:...`, or `off`. */
    path: z.string(),
    format: z.string(),
    /** `buffer=`, `flush=`, `gzip`, `if=`... */
    params: z.array(z.string()),
    scope: z.string(),
    /** Written inside an `if` block. */
    conditional: z.boolean(),
  }),
  RecordBase.extend({
    entity: z.literal("error_log"),
    ...Located,
    path: z.string(),
    level: z.string(),
    scope: z.string(),
  }),
  RecordBase.extend({
    entity: z.literal("setting"),
    ...Located,
    name: z.string(),
    args: z.array(z.string()),
    /**
     * `main`, `events`, `http`, `stream`, `mail`, a server id (`s0`), a location id (`s0/l1`),
     * `upstream:NAME` (an include inside an upstream block), or `orphan` (a printed file no include matched).
     */
    scope: z.string(),
  }),
]);
export type NginxConfRecord = z.infer<typeof NginxConfRecord>;
export type NginxConfRecordOf<E extends NginxConfRecord["entity"]> = Extract<NginxConfRecord, { entity: E }>;
