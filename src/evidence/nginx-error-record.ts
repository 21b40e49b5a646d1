import type { NginxErrorRecord, NginxLevel } from "./nginx-error.js";
import {
  causeNeedsTarget,
  classify,
  findTarget,
  upstreamScheme,
  type Verdict,
} from "./nginx-error-causes.js";
import { scanFields, TrailingFields } from "./nginx-error-fields.js";
import type { CauseId } from "./types.js";

/** What a line without trailing fields has of them: nothing. */
const NO_FIELDS = new TrailingFields();

/** Index of the last space of an HTTP request line (`GET /x HTTP/1.1`): most end in ` HTTP/d.d`. */
function lastSpace(request: string): number {
  const n = request.length;
  if (
    n >= 9 &&
    request.startsWith(" HTTP/", n - 9) &&
    request.charCodeAt(n - 3) !== 32 &&
    request.charCodeAt(n - 2) !== 32 &&
    request.charCodeAt(n - 1) !== 32
  ) {
    return n - 9;
  }
  return request.lastIndexOf(" ");
}

/**
 * One nginx error-log record. What every reader wants (time, level, pids, message, errno, action, cause) is
 * read with the line; the trailing fields (`client: ..., upstream: "...", host: "..."`) and what follows
 * from them (target, status) are read from the line the first time one of them is asked for, and kept.
 * `toJSON` and `plain()` give every field as a plain object, in the schema's order: JSON output, a copy
 * made with a spread, or a message to another thread must go through them (they see own properties only).
 */
export class NginxErrorLine implements NginxErrorRecord {
  // `declare`: the constructor makes them, in this order. A class field (ES2022) would first be defined
  // as undefined and then set, which costs a fifth of the block reader's time for a record.
  declare host: string;
  declare source: string;
  declare line: number;
  declare text: string;
  declare time: string | undefined;
  declare cause: CauseId | undefined;
  declare level: NginxLevel;
  declare pid: number | undefined;
  declare tid: number | undefined;
  declare conn: number | undefined;
  declare message: string;
  declare errno: number | undefined;
  declare errnoText: string | undefined;
  declare action: string | undefined;
  declare truncated: true | undefined;
  /** The line after its wrappers, and where its trailing fields start (-1: none). */
  readonly #inner: string;
  readonly #fieldsAt: number;
  #fields: TrailingFields | undefined;
  /** undefined: not looked for yet; null: none. */
  #found: { target: string; isGroup: boolean } | null | undefined;
  /** The status the message gives before a stream line or a subrequest takes it away. */
  readonly #status: number | undefined;

  constructor(
    host: string,
    source: string,
    line: number,
    text: string,
    time: string | undefined,
    level: NginxLevel,
    pid: number | undefined,
    tid: number | undefined,
    conn: number | undefined,
    message: string,
    errno: number | undefined,
    errnoText: string | undefined,
    action: string | undefined,
    truncated: boolean,
    inner: string,
    fieldsAt: number,
    fields: TrailingFields | undefined,
    /**
     * What classify says of message, errno and action (and, for errno 2, 13 and 11, of the target), when
     * the caller knows.
     */
    known?: Verdict,
  ) {
    this.host = host;
    this.source = source;
    this.line = line;
    this.text = text;
    this.time = time;
    this.cause = undefined;
    this.level = level;
    this.pid = pid;
    this.tid = tid;
    this.conn = conn;
    this.message = message;
    this.errno = errno;
    this.errnoText = errnoText;
    this.action = action;
    this.truncated = truncated ? true : undefined;
    this.#inner = inner;
    this.#fieldsAt = fieldsAt;
    this.#fields = fieldsAt < 0 ? NO_FIELDS : fields;
    this.#found = undefined;
    // The cause needs the target only to tell a unix socket's ENOENT, EACCES and EAGAIN from others'.
    const needsTarget = causeNeedsTarget(errno);
    const verdict =
      known ??
      classify({
        message,
        errno,
        action,
        target: needsTarget ? this.target : undefined,
        stream: false,
        subrequest: false,
      });
    this.cause = verdict.cause;
    this.#status = verdict.status;
  }

  #f(): TrailingFields {
    if (this.#fields === undefined) this.#fields = scanFields(this.#inner, this.#fieldsAt + 2);
    return this.#fields;
  }

  #peer(): { target: string; isGroup: boolean } | null {
    if (this.#found === undefined) this.#found = findTarget(this.message, this.#f().upstream) ?? null;
    return this.#found;
  }

  get client(): string | undefined {
    return this.#f().client;
  }
  get server(): string | undefined {
    return this.#f().server;
  }
  get request(): string | undefined {
    return this.#f().request;
  }
  get method(): string | undefined {
    const request = this.#f().request;
    const sp = request === undefined ? -1 : request.indexOf(" ");
    return request !== undefined && sp > 0 ? request.slice(0, sp) : undefined;
  }
  get path(): string | undefined {
    const request = this.#f().request;
    const sp = request === undefined ? -1 : request.indexOf(" ");
    if (request === undefined || sp <= 0) return undefined;
    const last = lastSpace(request);
    return last > sp ? request.slice(sp + 1, last) : request.slice(sp + 1);
  }
  get subrequest(): string | undefined {
    return this.#f().subrequest;
  }
  get upstream(): string | undefined {
    return this.#f().upstream;
  }
  get upstreamScheme(): string | undefined {
    const upstream = this.#f().upstream;
    return upstream === undefined ? undefined : upstreamScheme(upstream);
  }
  get target(): string | undefined {
    return this.#peer()?.target;
  }
  get targetIsGroup(): boolean | undefined {
    return this.#peer()?.isGroup;
  }
  get httpHost(): string | undefined {
    return this.#f().host;
  }
  get referrer(): string | undefined {
    return this.#f().referrer;
  }
  get resolver(): string | undefined {
    return this.#f().resolver;
  }
  get bytes(): TrailingFields["bytes"] {
    return this.#f().bytes;
  }
  get status(): number | undefined {
    if (this.#status === undefined) return undefined;
    const f = this.#f();
    if (f.bytes === undefined && f.subrequest === undefined) return this.#status;
    return classify({
      message: this.message,
      errno: this.errno,
      action: this.action,
      target: this.target,
      stream: f.bytes !== undefined,
      subrequest: f.subrequest !== undefined,
    }).status;
  }

  /** Every field as a plain object, in the schema's order (undefined ones too, as a literal would have them). */
  plain(): NginxErrorRecord {
    return {
      host: this.host,
      source: this.source,
      line: this.line,
      text: this.text,
      time: this.time,
      cause: this.cause,
      level: this.level,
      pid: this.pid,
      tid: this.tid,
      conn: this.conn,
      message: this.message,
      errno: this.errno,
      errnoText: this.errnoText,
      action: this.action,
      client: this.client,
      server: this.server,
      request: this.request,
      method: this.method,
      path: this.path,
      subrequest: this.subrequest,
      upstream: this.upstream,
      upstreamScheme: this.upstreamScheme,
      target: this.target,
      targetIsGroup: this.targetIsGroup,
      httpHost: this.httpHost,
      referrer: this.referrer,
      resolver: this.resolver,
      bytes: this.bytes,
      status: this.status,
      truncated: this.truncated,
    };
  }

  toJSON(): NginxErrorRecord {
    return this.plain();
  }
}

/** A record as a plain object: an NginxErrorLine's `plain()`, any other record itself. */
export function plainRecord<R extends object>(r: R): R {
  return r instanceof NginxErrorLine ? (r.plain() as unknown as R) : r;
}
