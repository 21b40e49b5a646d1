import { type Logger as BoltLogger, LogLevel } from "@slack/bolt";
import pino, { type Logger } from "pino";
import { maskSecrets, type RedactPatterns } from "../diagnosis/mask.js";

export type { Logger } from "pino";

const LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** Fields that hold a credential whatever it looks like: request headers, tokens, secrets, passwords. */
const SECRET_FIELDS = [
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "x-slack-signature",
  "token",
  "secret",
  "password",
  "signing_secret",
  "client_secret",
  "bot_token",
  "app_token",
  "botToken",
  "appToken",
  "signingSecret",
  "Authorization",
  "Proxy-Authorization",
  "Cookie",
  "Set-Cookie",
];

/** pino `redact` paths: each field at the top, one level down, and in request, response and error headers. */
export const REDACT_PATHS: readonly string[] = SECRET_FIELDS.flatMap((f) => {
  const key = /^[A-Za-z_]\w*$/.test(f) ? f : `["${f}"]`;
  const at = (base: string) => (key.startsWith("[") ? `${base}${key}` : `${base}.${key}`);
  return [
    key,
    at("*"),
    at("headers"),
    at("*.headers"),
    at("err.config.headers"),
    at("err.original.config.headers"),
    at("err.response.headers"),
  ];
});

const MAX_DEPTH = 8;
/** Keys whose value is a credential whatever it looks like, at any depth (headers in any case, tokens). */
const SECRET_FIELD =
  /^(?:authorization|proxy-authorization|cookie|set-cookie|x-slack-signature|[\w.-]*(?:token|secret|password|passwd|api[_-]?key))$/i;

/** What pino's serializer keeps of an error (type, message, stack, its own fields), for maskDeep to walk. */
function errorFields(e: Error): Record<string, unknown> {
  const out: Record<string, unknown> = {
    type: e.constructor?.name ?? "Error",
    message: e.message,
    stack: e.stack,
  };
  for (const [k, x] of Object.entries(e)) if (!(k in out)) out[k] = x;
  if (e.cause !== undefined && !("cause" in out)) out.cause = e.cause;
  return out;
}

/**
 * A log record with every string masked as host text is (errors, their causes, messages, details) and every
 * credential field replaced; plain objects, arrays and errors are walked, other values kept.
 */
function maskDeep(v: unknown, extra: RedactPatterns, depth = 0): unknown {
  if (typeof v === "string") return maskSecrets(v, extra).text;
  if (depth >= MAX_DEPTH || v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map((x) => maskDeep(x, extra, depth + 1));
  const proto = Object.getPrototypeOf(v);
  if (!(v instanceof Error) && proto !== Object.prototype && proto !== null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v instanceof Error ? errorFields(v) : v))
    out[k] = SECRET_FIELD.test(k) && x !== undefined && x !== null ? "***" : maskDeep(x, extra, depth + 1);
  return out;
}

/** A log call's arguments with its strings masked; the message pino would take from an error is given masked. */
function maskArgs(args: unknown[], extra: RedactPatterns): unknown[] {
  const [first, ...rest] = args;
  let list = args;
  if (first instanceof Error) list = [{ err: first }, ...(rest.length ? rest : [first.message])];
  else if (
    first !== null &&
    typeof first === "object" &&
    (first as { err?: unknown }).err instanceof Error &&
    typeof rest[0] !== "string"
  )
    list = [first, ((first as { err: Error }).err as Error).message, ...rest];
  return list.map((a) => (typeof a === "string" ? maskSecrets(a, extra).text : a));
}

/**
 * JSON lines on stderr (fd 2), level from LOG_LEVEL (default info). Every string in a record and every
 * message passes the same secret masking as host text (`extra`: the config's `redact.patterns`), and
 * credential fields (headers, tokens) are replaced whatever their value looks like.
 */
export function createLogger(
  level: string | undefined,
  destination: number | NodeJS.WritableStream = 2,
  extra: RedactPatterns = [],
): Logger {
  const lvl = (LEVELS as readonly string[]).includes(level ?? "") ? (level as string) : "info";
  const stream =
    typeof destination === "number" ? pino.destination({ fd: destination, sync: true }) : destination;
  return pino(
    {
      level: lvl,
      base: { app: "why502" },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: [...REDACT_PATHS], censor: "***" },
      serializers: { err: (e: unknown) => maskDeep(e, extra) },
      formatters: { log: (o) => maskDeep(o, extra) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          return method.apply(this, maskArgs(args, extra) as Parameters<typeof method>);
        },
      },
    },
    stream,
  );
}

/** Bolt's Logger interface on top of pino, so Bolt's own messages are JSON lines too. */
export function boltLogger(log: Logger): BoltLogger {
  const child = log.child({ component: "bolt" });
  let level: LogLevel = LogLevel.INFO;
  const text = (msg: unknown[]) => msg.map((m) => (typeof m === "string" ? m : JSON.stringify(m))).join(" ");
  return {
    debug: (...m) => child.debug(text(m)),
    info: (...m) => child.info(text(m)),
    // Bolt warns at info-worthy moments (e.g. reconnects); keep them, they are rare.
    warn: (...m) => child.warn(text(m)),
    error: (...m) => child.error(text(m)),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}
