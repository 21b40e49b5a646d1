import { z } from "zod";
import { COMBINED_FORMAT } from "./log-format.js";
import {
  ConfModule,
  type NginxConfRecord,
  type NginxConfRecordOf,
  PassFields,
  UpstreamServer,
} from "./nginx-conf-records.js";
import { parseDuration, parseSize } from "./nginx-conf-units.js";

/** Where a summary item was written: cite `source` as evidence. */
const ConfRef = z.object({ host: z.string(), source: z.string(), line: z.number(), text: z.string() });
const Where = { file: z.string(), line: z.number().int(), fileLine: z.number().int(), source: ConfRef };

export const ConfLocation = z.object({
  id: z.string(),
  modifier: z.string(),
  path: z.string(),
  ...PassFields,
  /** Host part of the active `*_pass`: `host:port`, `unix:/path`, a group name, or text with `$variables`. */
  target: z.string().nullable(),
  /** The upstream{} group the pass names, when it names one. */
  upstream: z.string().nullable(),
  /** Seconds / bytes, inherited from enclosing locations, the server and http, else nginx's defaults. */
  proxyReadTimeout: z.number(),
  proxyConnectTimeout: z.number(),
  proxySendTimeout: z.number(),
  /** Default one memory page: 4k on x86-64 Linux (the docs say 4k|8k). */
  proxyBufferSize: z.number(),
  proxyNextUpstream: z.array(z.string()),
  fastcgiBufferSize: z.number(),
  fastcgiReadTimeout: z.number(),
  fastcgiConnectTimeout: z.number(),
  uwsgiReadTimeout: z.number(),
  grpcReadTimeout: z.number(),
  /** Resolver addresses in effect, for `*_pass` with variables. */
  resolver: z.array(z.string()).nullable(),
  ...Where,
});
export type ConfLocation = z.infer<typeof ConfLocation>;

export const ConfServer = z.object({
  id: z.string(),
  module: ConfModule,
  listen: z.array(z.string()),
  serverName: z.array(z.string()),
  proxyPass: z.string().nullable(),
  upstream: z.string().nullable(),
  locations: z.array(ConfLocation),
  ...Where,
});
export type ConfServer = z.infer<typeof ConfServer>;

export const ConfUpstream = z.object({
  name: z.string(),
  module: ConfModule,
  servers: z.array(UpstreamServer.extend({ source: ConfRef })),
  keepalive: z.number().int().nullable(),
  directives: z.array(z.object({ name: z.string(), args: z.array(z.string()), line: z.number().int() })),
  ...Where,
});
export type ConfUpstream = z.infer<typeof ConfUpstream>;

/** What a gateway's configuration says, from the records of one `nginx -T`. */
export const NginxConf = z.object({
  files: z.array(z.string()),
  /** By name; a stream{} group whose name an http group already took is keyed `stream:NAME`. */
  upstreams: z.record(z.string(), ConfUpstream),
  servers: z.array(ConfServer),
  /** Name -> format (quoted parts joined; led by `escape=json ` when so declared). `combined` is always there. */
  logFormats: z.record(z.string(), z.string()),
  accessLogs: z.array(
    z.object({
      path: z.string(),
      format: z.string(),
      params: z.array(z.string()),
      scope: z.string(),
      conditional: z.boolean(),
      ...Where,
    }),
  ),
  errorLogs: z.array(z.object({ path: z.string(), level: z.string(), scope: z.string(), ...Where })),
  /** The http-level resolver (else the first one written), null when none. */
  resolver: z
    .object({
      addresses: z.array(z.string()),
      /** `valid=` in seconds. */
      valid: z.number().nullable(),
      ipv6: z.boolean().nullable(),
      /** `resolver_timeout` in the same scope, seconds (default 30). */
      timeout: z.number(),
      scope: z.string(),
      ...Where,
    })
    .nullable(),
  /** nginx's own verdict on the config, from the stderr lines when they were captured. */
  check: z.object({ ok: z.boolean().nullable(), messages: z.array(z.string()) }),
});
export type NginxConf = z.infer<typeof NginxConf>;

const DEFAULTS: Record<string, string[]> = {
  proxy_read_timeout: ["60s"],
  proxy_connect_timeout: ["60s"],
  proxy_send_timeout: ["60s"],
  proxy_buffer_size: ["4k"],
  proxy_next_upstream: ["error", "timeout"],
  fastcgi_buffer_size: ["4k"],
  fastcgi_read_timeout: ["60s"],
  fastcgi_connect_timeout: ["60s"],
  uwsgi_read_timeout: ["60s"],
  grpc_read_timeout: ["60s"],
};

function where(r: Exclude<NginxConfRecord, NginxConfRecordOf<"check">>) {
  return {
    file: r.file,
    line: r.line,
    fileLine: r.fileLine,
    source: { host: r.host, source: r.source, line: r.line, text: r.text },
  };
}

/** `http://app_pool/v1/` -> `app_pool`; `http://unix:/s.sock:/x` -> `unix:/s.sock`; `unix:/php.sock` as is. */
function passTarget(pass: string): string {
  const rest = pass.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "");
  if (rest.startsWith("unix:")) {
    const end = rest.indexOf(":", 5);
    return end === -1 ? rest : rest.slice(0, end);
  }
  const slash = rest.indexOf("/");
  return slash === -1 ? rest : rest.slice(0, slash);
}

/** Build the summary of one `nginx -T` from its records. Pure. */
export function summarizeConf(records: readonly NginxConfRecord[]): NginxConf {
  const settings = new Map<string, Map<string, string[]>>();
  const conf: NginxConf = {
    files: [],
    upstreams: {},
    servers: [],
    logFormats: { combined: COMBINED_FORMAT },
    accessLogs: [],
    errorLogs: [],
    resolver: null,
    check: { ok: null, messages: [] },
  };
  const groups = new Map<string, string>();
  for (const r of records) {
    if (r.entity === "setting") {
      const scope = settings.get(r.scope) ?? new Map<string, string[]>();
      scope.set(r.name, r.args);
      settings.set(r.scope, scope);
    } else if (r.entity === "upstream") {
      const taken = conf.upstreams[r.name] !== undefined;
      const key = taken ? `${r.module}:${r.name}` : r.name;
      const servers = r.servers.map((s) => ({
        ...s,
        source: { host: r.host, source: r.source, line: s.line, text: s.text },
      }));
      const { name, module, keepalive, directives } = r;
      conf.upstreams[key] = { name, module, servers, keepalive, directives, ...where(r) };
      if (!groups.has(`${r.module}:${r.name.toLowerCase()}`))
        groups.set(`${r.module}:${r.name.toLowerCase()}`, key);
    }
  }
  const lookup = (chain: string[], name: string): string[] => {
    for (const scope of chain) {
      const v = settings.get(scope)?.get(name);
      if (v) return v;
    }
    return DEFAULTS[name] ?? [];
  };
  const groupOf = (module: string, target: string | null): string | null => {
    if (target === null || target.includes("$") || target.startsWith("unix:")) return null;
    return groups.get(`${module}:${target.toLowerCase()}`) ?? null;
  };
  const seconds = (chain: string[], name: string) =>
    parseDuration(lookup(chain, name)[0] ?? "") ?? parseDuration(DEFAULTS[name]?.[0] ?? "") ?? 0;
  const bytes = (chain: string[], name: string) =>
    parseSize(lookup(chain, name)[0] ?? "") ?? parseSize(DEFAULTS[name]?.[0] ?? "") ?? 0;

  const servers = new Map<string, ConfServer & { parent: string }>();
  const resolvers: NginxConfRecordOf<"setting">[] = [];
  const okValues: boolean[] = [];
  for (const r of records) {
    switch (r.entity) {
      case "check":
        conf.check.messages.push(r.level ? `[${r.level}] ${r.message}` : r.message);
        if (r.ok !== null) okValues.push(r.ok);
        break;
      case "file":
        if (!conf.files.includes(r.file)) conf.files.push(r.file);
        break;
      case "log_format":
        conf.logFormats[r.name] = r.escape === "default" ? r.format : `escape=${r.escape} ${r.format}`;
        break;
      case "access_log": {
        const { path, format, params, scope, conditional } = r;
        conf.accessLogs.push({ path, format, params, scope, conditional, ...where(r) });
        break;
      }
      case "error_log":
        conf.errorLogs.push({ path: r.path, level: r.level, scope: r.scope, ...where(r) });
        break;
      case "setting":
        if (r.name === "resolver") resolvers.push(r);
        break;
      case "server": {
        const target = r.proxyPass === null ? null : passTarget(r.proxyPass);
        const server = {
          id: r.id,
          module: r.module,
          listen: r.listen,
          serverName: r.serverName,
          proxyPass: r.proxyPass,
          upstream: groupOf(r.module, target),
          locations: [],
          ...where(r),
        };
        conf.servers.push(server);
        servers.set(r.id, { ...server, parent: r.parent });
        break;
      }
      case "location": {
        const server = conf.servers.find((s) => s.id === r.serverId);
        if (!server) break;
        const parts = r.id.split("/");
        const chain = parts.map((_, i) => parts.slice(0, parts.length - i).join("/"));
        chain.push(servers.get(r.serverId)?.parent ?? "http");
        const pass = r.proxyPass ?? r.fastcgiPass ?? r.uwsgiPass ?? r.grpcPass ?? r.scgiPass;
        const target = pass === null ? null : passTarget(pass);
        const resolver = lookup(chain, "resolver").filter((a) => !a.includes("="));
        server.locations.push({
          id: r.id,
          modifier: r.modifier,
          path: r.path,
          proxyPass: r.proxyPass,
          fastcgiPass: r.fastcgiPass,
          uwsgiPass: r.uwsgiPass,
          grpcPass: r.grpcPass,
          scgiPass: r.scgiPass,
          target,
          upstream: groupOf(server.module, target),
          proxyReadTimeout: seconds(chain, "proxy_read_timeout"),
          proxyConnectTimeout: seconds(chain, "proxy_connect_timeout"),
          proxySendTimeout: seconds(chain, "proxy_send_timeout"),
          proxyBufferSize: bytes(chain, "proxy_buffer_size"),
          proxyNextUpstream: lookup(chain, "proxy_next_upstream"),
          fastcgiBufferSize: bytes(chain, "fastcgi_buffer_size"),
          fastcgiReadTimeout: seconds(chain, "fastcgi_read_timeout"),
          fastcgiConnectTimeout: seconds(chain, "fastcgi_connect_timeout"),
          uwsgiReadTimeout: seconds(chain, "uwsgi_read_timeout"),
          grpcReadTimeout: seconds(chain, "grpc_read_timeout"),
          resolver: resolver.length > 0 ? resolver : null,
          ...where(r),
        });
        break;
      }
      default:
        break;
    }
  }
  conf.check.ok = okValues.includes(false) ? false : okValues.length > 0 ? true : null;
  const resolver = resolvers.find((r) => r.scope === "http") ?? resolvers[0];
  if (resolver) {
    const option = (key: string) => resolver.args.find((a) => a.startsWith(`${key}=`))?.slice(key.length + 1);
    const valid = option("valid");
    const ipv6 = option("ipv6");
    const timeout = settings.get(resolver.scope)?.get("resolver_timeout")?.[0];
    conf.resolver = {
      addresses: resolver.args.filter((a) => !a.includes("=")),
      valid: valid === undefined ? null : (parseDuration(valid) ?? null),
      ipv6: ipv6 === undefined ? null : ipv6 === "on",
      timeout: (timeout === undefined ? undefined : parseDuration(timeout)) ?? 30,
      scope: resolver.scope,
      ...where(resolver),
    };
  }
  return conf;
}
