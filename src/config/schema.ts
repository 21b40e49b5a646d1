import { z } from "zod";
import { parseDuration } from "./duration.js";
import { Jump, NginxT, SafeText } from "./host-commands.js";
import { RedactSettings } from "./redact.js";
import { withoutPrototype } from "./without-prototype.js";

export { nginxTProblem } from "./host-commands.js";
export { RedactSettings };

/** A duration written as `30m`, `20s`, `500ms`; parsed to milliseconds. */
export const Duration = z
  .string()
  .refine((s) => parseDuration(s) !== undefined, {
    message: "expected a duration like 500ms, 20s, 30m or 1h",
  })
  .transform((s) => parseDuration(s) ?? 0);

const AbsPath = SafeText.refine((s) => s.startsWith("/") || s.startsWith("~/"), {
  message: "expected an absolute path",
});
/** An absolute path without `~`: it is read by the collection script, which expands nothing. */
const RootedPath = SafeText.refine((s) => s.startsWith("/"), { message: "expected an absolute path (/...)" });
const HostName = z
  .string()
  .regex(/^[A-Za-z0-9_.:[\]-]+$/, "expected a host name or address (letters, digits, . - _ :)");
const Port = z.number().int().min(1).max(65535);
const ServiceName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, "expected a service name (lower case letters, digits, . _ -)");

export const SshSettings = z
  .object({
    user: z
      .string()
      .regex(/^[a-z_][a-z0-9_.-]*$/i, "expected a user name")
      .optional(),
    port: Port.default(22),
    identity_file: z.union([AbsPath, z.array(AbsPath)]).optional(),
    /** Use the ssh-agent at SSH_AUTH_SOCK. */
    agent: z.boolean().default(true),
    known_hosts: z.union([AbsPath, z.array(AbsPath)]).default(["~/.ssh/known_hosts"]),
    /** Bastion: `user@host:port` or a host from `hosts:`. */
    jump: Jump.optional(),
    /** Read HostName, User, Port, IdentityFile, ProxyJump from this OpenSSH client config. */
    ssh_config: z.union([AbsPath, z.literal(false)]).default("~/.ssh/config"),
    connect_timeout: Duration.prefault("5s"),
    command_timeout: Duration.prefault("10s"),
  })
  .strict();
export type SshSettings = z.infer<typeof SshSettings>;

export const HostSettings = z
  .object({
    address: HostName.optional(),
    port: Port.optional(),
    user: z
      .string()
      .regex(/^[a-z_][a-z0-9_.-]*$/i, "expected a user name")
      .optional(),
    identity_file: z.union([AbsPath, z.array(AbsPath)]).optional(),
    known_hosts: z.union([AbsPath, z.array(AbsPath)]).optional(),
    jump: z.union([z.literal(false), Jump]).optional(),
    /** Trust an unknown host key on first use. Off by default: say so per host, knowingly. */
    insecure_accept_unknown_host_key: z.boolean().default(false),
    /** IANA zone of the host's logs, when not the system zone (`Europe/Berlin`). */
    timezone: z
      .string()
      .regex(/^[A-Za-z_+-]+(\/[A-Za-z0-9_+-]+)*$/, "expected an IANA zone like Europe/Berlin")
      .optional(),
    /** Run collection without SSH on this machine (tests, or the bot running on the gateway itself). */
    local: z.boolean().default(false),
  })
  .strict();
export type HostSettings = z.infer<typeof HostSettings>;

export const KernelLog = z.union([
  z.enum(["auto", "dmesg", "sudo-dmesg", "journal"]),
  z.object({ file: AbsPath }).strict(),
]);
export type KernelLog = z.infer<typeof KernelLog>;

/** How to find the backend process. Exactly one way. */
export const ProcessSpec = z.union([
  z
    .object({
      systemd_unit: z.string().regex(/^[A-Za-z0-9@_.:-]+$/, "expected a unit name like checkout.service"),
    })
    .strict(),
  z
    .object({
      name: z
        .string()
        .regex(/^[A-Za-z0-9_.:-]{1,15}$/, "expected a process name (comm, at most 15 characters)"),
    })
    .strict(),
  z.object({ pid_file: AbsPath }).strict(),
  /** A program of supervisord: `supervisorctl status`/`pid` and supervisord's main log. */
  z
    .object({
      supervisord: z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, "expected a supervisord program name"),
      /** supervisord.conf for supervisorctl -c (default: supervisorctl's own search). */
      config: RootedPath.optional(),
      /** supervisord's main log (`logfile=`). */
      log: RootedPath.default("/var/log/supervisor/supervisord.log"),
    })
    .strict(),
  /** An app of PM2: `pm2 jlist` (only when its daemon runs) and the daemon's log. */
  z
    .object({
      pm2: z.string().regex(/^[A-Za-z0-9_.@:-]{1,128}$/, "expected a PM2 app name"),
      /** PM2_HOME of the daemon that runs the app, e.g. /home/deploy/.pm2. */
      home: RootedPath,
      /** The pm2 command, when it is not on the PATH of a non-interactive login. */
      bin: RootedPath.optional(),
    })
    .strict(),
  /** A Docker container: `docker inspect` (State, RestartCount) and `docker logs` as the app's log. */
  z
    .object({
      docker: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, "expected a container name"),
    })
    .strict(),
]);
export type ProcessSpec = z.infer<typeof ProcessSpec>;

const BackendCommon = {
  port: Port.optional(),
  /** The unix socket the instance listens on (`/run/app.sock`), when nginx reaches it by path, not by port. */
  socket: RootedPath.optional(),
  process: ProcessSpec.optional(),
  app_logs: z.array(AbsPath).optional(),
  /** A file holding systemd-style journal lines for the unit, when there is no journald to ask. */
  journal_file: AbsPath.optional(),
  kernel_log: KernelLog.optional(),
};

export const BackendInstance = z.object({ host: HostName, ...BackendCommon }).strict();
export type BackendInstance = z.infer<typeof BackendInstance>;

export const Backends = z
  .object({
    ...BackendCommon,
    /** The backend hosts, or... */
    instances: z.array(BackendInstance).optional(),
    /** ...the servers of the nginx upstream, as `nginx -T` lists them. */
    from_upstream: z.boolean().default(false),
  })
  .strict()
  .refine((b) => (b.instances?.length ?? 0) > 0 || b.from_upstream, {
    message: "expected either instances (a list of hosts) or from_upstream: true",
  });
export type Backends = z.infer<typeof Backends>;

export const Gateway = z
  .object({
    host: HostName,
    /** The command that prints the full config, as argv (default: nginx -T). */
    nginx_t: NginxT.default(["nginx", "-T"]),
    /** Error log path, or `discover` to take it from `nginx -T`. */
    error_log: z.union([AbsPath, z.literal("discover")]).default("discover"),
    access_log: z.union([AbsPath, z.literal("discover")]).default("discover"),
    /** The access log's log_format string, when `nginx -T` cannot tell. */
    log_format: SafeText.optional(),
  })
  .strict();
export type Gateway = z.infer<typeof Gateway>;

export const Service = z
  .object({
    gateways: z.array(Gateway).min(1),
    /** The upstream{} group serving the service. */
    upstream: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+$/, "expected an upstream name")
      .optional(),
    backends: Backends,
    /** The Slack channel this service's alerts and incidents post to (default: slack.channel). */
    slack_channel: z
      .string()
      .regex(/^[CGD][A-Z0-9]{2,30}$/, "expected a Slack channel id like C0123ABCD")
      .optional(),
  })
  .strict();
export type Service = z.infer<typeof Service>;

export const Defaults = z
  .object({
    window: Duration.prefault("30m"),
    /** The longest window a diagnosis may ask for (`--since`, a chat command); longer is an input error. */
    max_window: Duration.prefault("7d"),
    deadline: Duration.prefault("20s"),
    concurrency: z.number().int().min(1).max(256).default(16),
    /** Byte cap per collected section. */
    max_bytes: z
      .number()
      .int()
      .min(1024)
      .default(4 * 1024 * 1024),
    kernel_log: KernelLog.default("auto"),
  })
  .strict()
  .refine((d) => d.max_window > 0, { message: "expected a max_window longer than 0", path: ["max_window"] })
  .refine((d) => d.window > 0 && d.window <= d.max_window, {
    message: "expected a window longer than 0 and no longer than max_window (7d unless set)",
    path: ["window"],
  });
export type Defaults = z.infer<typeof Defaults>;

const SlackId = (what: string, first: string) =>
  z
    .string()
    .regex(new RegExp(`^[${first}][A-Z0-9]{2,30}$`), `expected a Slack ${what} id like ${first[0]}0123ABCD`);

/** Who may diagnose a service from Slack: a channel list and/or a list of users and user groups. */
export const AccessRule = z
  .object({
    /** Channel ids where the service may be diagnosed (absent: any channel). */
    channels: z.array(SlackId("channel", "CGD")).optional(),
    /** User ids who may diagnose it (absent together with usergroups: anyone). */
    users: z.array(SlackId("user", "UW")).optional(),
    /** User group ids (`S...`) whose members may diagnose it. */
    usergroups: z.array(SlackId("user group", "S")).optional(),
  })
  .strict();
export type AccessRule = z.infer<typeof AccessRule>;

export const SlackSettings = z
  .object({
    /** The channel alerts and incidents post to when a service names none. */
    channel: SlackId("channel", "CGD").optional(),
    /** Slack's Web API base URL (a proxy, or a stand-in in tests). */
    api_url: z
      .url({ protocol: /^https?$/, error: "expected an http(s) URL like https://slack.com/api/" })
      .default("https://slack.com/api/"),
    /** The team's time zone (IANA): times in summaries and postmortems are shown in it (UTC beside). */
    timezone: z
      .string()
      .regex(/^[A-Za-z_+-]+(\/[A-Za-z0-9_+-]+)*$/, "expected an IANA zone like Europe/Berlin or UTC")
      .default("UTC"),
    /** Give up one Web API call after this long (the outbox retries it). */
    request_timeout: Duration.prefault("10s"),
    /** Per service name, or `*` for every service without its own rule. No rules: everyone, everywhere. */
    access: z
      .record(
        z.string().regex(/^(\*|[a-z0-9][a-z0-9_.-]{0,62})$/, "expected a service name or *"),
        AccessRule,
      )
      .default({}),
  })
  .strict();
export type SlackSettings = z.infer<typeof SlackSettings>;

/**
 * Where runs, the outbox, feedback and incidents are kept: one SQLite file (one replica; a relative path is
 * from the working directory), or PostgreSQL for several replicas (the URL from the environment).
 * `lease`: how long a replica holds a run or an outbox entry before another may take it over.
 */
export const StoreSettings = z.union([
  z.object({ sqlite: SafeText, lease: Duration.prefault("30s") }).strict(),
  z
    .object({
      postgres: z
        .object({
          url_env: z
            .string()
            .regex(/^[A-Z_][A-Z0-9_]*$/, "expected the name of an environment variable, like DATABASE_URL"),
        })
        .strict(),
      lease: Duration.prefault("30s"),
    })
    .strict(),
]);
export type StoreSettings = z.infer<typeof StoreSettings>;

const EnvName = z
  .string()
  .regex(/^[A-Z_][A-Z0-9_]*$/, "expected the name of an environment variable, like WHY502_HOOK_TOKEN");

/** How a webhook sender proves who it is. Secrets are named by environment variable, never written here. */
export const HookAuth = z.union([
  /** `Authorization: Bearer <token>` (Alertmanager's http_config.authorization, Grafana's scheme/credentials). */
  z.object({ bearer_env: EnvName }).strict(),
  /** `Authorization: Basic` with this user and the password in the environment. */
  z
    .object({ basic: z.object({ user: z.string().min(1).max(200), password_env: EnvName }).strict() })
    .strict(),
  /**
   * A hex HMAC-SHA256 of the body under a shared secret, in `header`; with `timestamp_header`, of
   * `<timestamp>:<body>`, and the timestamp (unix seconds) must be within `max_age`.
   */
  z
    .object({
      hmac: z
        .object({
          secret_env: EnvName,
          header: z
            .string()
            .regex(/^[A-Za-z0-9-]+$/)
            .default("X-Why502-Signature"),
          timestamp_header: z
            .string()
            .regex(/^[A-Za-z0-9-]+$/)
            .optional(),
          max_age: Duration.prefault("5m"),
        })
        .strict(),
    })
    .strict(),
]);
export type HookAuth = z.infer<typeof HookAuth>;

export const AlertsSettings = z
  .object({
    /** Labels that name the service, in order: the first whose value is a service in the inventory wins. */
    service_labels: z
      .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected a label name"))
      .min(1)
      .default(["service", "upstream", "job"]),
    /** While an incident stays open, new firings re-run the diagnosis at most this often. */
    cooldown: Duration.prefault("5m"),
    /** An open incident whose alerts have been quiet this long is closed as "no resolution received". */
    quiet_close: Duration.prefault("30m"),
    /** Where alerts for services not in the inventory are reported (at most once an hour). */
    fallback_channel: z
      .string()
      .regex(/^[CGD][A-Z0-9]{2,30}$/, "expected a Slack channel id like C0123ABCD")
      .optional(),
    /** Largest webhook body accepted, in bytes. */
    max_body: z
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(1024 * 1024),
    /** The webhook sources to accept, each with its authentication; a source not listed answers 404. */
    sources: z
      .object({
        alertmanager: HookAuth.optional(),
        grafana: HookAuth.optional(),
        generic: HookAuth.optional(),
      })
      .strict()
      .default({}),
  })
  .strict();
export type AlertsSettings = z.infer<typeof AlertsSettings>;

export const Config = z
  .object({
    alerts: AlertsSettings.default(AlertsSettings.parse({})),
    slack: SlackSettings.default(SlackSettings.parse({})),
    store: StoreSettings.default({ sqlite: "./why502.db", lease: 30_000 }),
    ssh: SshSettings.default(SshSettings.parse({})),
    defaults: Defaults.default(Defaults.parse({})),
    redact: RedactSettings.default({ patterns: [] }),
    hosts: z.record(HostName, HostSettings).default({}).transform(withoutPrototype),
    services: z
      .record(ServiceName, Service)
      .refine((s) => Object.keys(s).length > 0, { message: "expected at least one service" })
      .transform(withoutPrototype),
  })
  .strict();
export type Config = z.infer<typeof Config>;
