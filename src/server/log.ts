import { type Logger as BoltLogger, LogLevel } from "@slack/bolt";
import pino, { type Logger } from "pino";

export type { Logger } from "pino";

const LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** JSON lines on stderr (fd 2), level from LOG_LEVEL (default info). */
export function createLogger(
  level: string | undefined,
  destination: number | NodeJS.WritableStream = 2,
): Logger {
  const lvl = (LEVELS as readonly string[]).includes(level ?? "") ? (level as string) : "info";
  const stream =
    typeof destination === "number" ? pino.destination({ fd: destination, sync: true }) : destination;
  return pino({ level: lvl, base: { app: "why502" }, timestamp: pino.stdTimeFunctions.isoTime }, stream);
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
