import type { CauseId } from "./types.js";

/**
 * What one nginx error-log message says about an upstream failure: the cause it is a symptom of and the
 * status the client got (shared/reference/nginx-502-signatures.md sections 2 and 3).
 */
export interface Verdict {
  cause: CauseId | undefined;
  status: number | undefined;
}

export interface MessageFacts {
  /** The core message, without ` while <action>` and the trailing fields. */
  message: string;
  errno: number | undefined;
  action: string | undefined;
  /** `unix:/path` or `host:port`, when known. */
  target: string | undefined;
  /** The line is from the stream module (it carries `bytes from/to`): no HTTP status. */
  stream: boolean;
  /** The failure happened in a subrequest: the client's status depends on the parent request. */
  subrequest: boolean;
}

const NONE: Verdict = { cause: undefined, status: undefined };

/**
 * `action === name`, for an action cut out of a line: V8 compares such a string (a view into the line)
 * with one of the same length through a runtime call; this compares in place.
 */
function isAction(action: string | undefined, name: string): boolean {
  return action !== undefined && action.length === name.length && action.startsWith(name);
}

/** Actions after which the response header may already be on its way to the client. */
function headersMayBeSent(action: string): boolean {
  return (
    isAction(action, "reading upstream") ||
    isAction(action, "sending to client") ||
    (action.charCodeAt(0) === 112 /* p */ && action.startsWith("proxying"))
  );
}

function verdict(cause: CauseId, status: number | undefined, f: MessageFacts): Verdict {
  if (f.stream || f.subrequest || (f.action !== undefined && headersMayBeSent(f.action))) {
    return { cause, status: undefined };
  }
  return { cause, status };
}

function isUpstreamAction(action: string | undefined): action is string {
  return action?.endsWith("upstream") === true;
}

function isUnix(f: MessageFacts): boolean {
  return f.target?.startsWith("unix:") === true;
}

/**
 * Whether classify's cause for this errno turns on the target: ENOENT, EACCES and EAGAIN on a unix socket
 * are the socket's (byErrno), elsewhere another failure.
 */
export function causeNeedsTarget(errno: number | undefined): boolean {
  return errno === 2 || errno === 13 || errno === 11;
}

/** Errno-based causes for a failure on the upstream side (connect, send, recv, TLS transport). */
function byErrno(f: MessageFacts, errno: number): Verdict {
  switch (errno) {
    case 111:
      return verdict("connection_refused", 502, f);
    case 104:
      return verdict(
        isAction(f.action, "SSL handshaking to upstream") ? "tls_upstream" : "connection_reset",
        502,
        f,
      );
    case 32:
      return verdict("connection_reset", 502, f);
    case 100: // ENETDOWN
    case 101: // ENETUNREACH
    case 112: // EHOSTDOWN
    case 113: // EHOSTUNREACH
      return verdict("no_route", 502, f);
    case 110:
      // The kernel gave up (SYN retries): FT_ERROR, so 502, unlike nginx's own `upstream timed out`.
      return verdict(f.message.startsWith("connect()") ? "connect_timeout" : "read_timeout", 502, f);
    case 2:
    case 13:
      return verdict(isUnix(f) ? "fastcgi_socket" : "other", 502, f);
    case 11:
      return verdict(isUnix(f) ? "pool_exhausted" : "other", 502, f);
    default:
      return verdict("other", 502, f);
  }
}

/** `m` says a name could not be resolved (searched from its rarer tail: this runs for most lines). */
function couldNotBeResolved(m: string): boolean {
  for (let i = m.indexOf("be resolved"); i >= 0; i = m.indexOf("be resolved", i + 1)) {
    if (i >= 11 && m.startsWith(" could not ", i - 11)) return true;
  }
  return false;
}

export function classify(f: MessageFacts): Verdict {
  const m = f.message;
  const action = f.action;
  // Each test below looks at the start of the message: its first letter skips those that cannot match.
  const first = m.charCodeAt(0);
  if (first === 117 /* u */ && m.startsWith("upstream ")) {
    // The word after `upstream ` tells which of these it can be.
    switch (m.charCodeAt(9)) {
      case 116 /* t */:
        if (m.startsWith("upstream timed out")) {
          const connecting =
            isAction(action, "connecting to upstream") || isAction(action, "SSL handshaking to upstream");
          return verdict(connecting ? "connect_timeout" : "read_timeout", 504, f);
        }
        break;
      case 112 /* p */:
        if (m.startsWith("upstream prematurely closed")) return verdict("premature_close", 502, f);
        break;
      case 115 /* s */:
        if (m.startsWith("upstream sent ")) {
          if (m.startsWith("upstream sent too big header")) return verdict("too_big_header", 502, f);
          // nginx passes a response without a status line through as HTTP/0.9 (access log status "009").
          if (m.startsWith("upstream sent no valid HTTP/1.0 header"))
            return { cause: "invalid_header", status: undefined };
          return verdict("invalid_header", 502, f);
        }
        if (m.startsWith("upstream server temporarily disabled")) return NONE;
        break;
      case 83 /* S */:
        if (m.startsWith("upstream SSL certificate")) return verdict("tls_upstream", 502, f);
        break;
    }
  }
  if (first === 110 /* n */ && m.startsWith("no live upstreams")) return verdict("no_live_upstreams", 502, f);
  if (isAction(action, "resolving")) return { cause: "dns", status: undefined };
  if (couldNotBeResolved(m) || (first === 110 && m.startsWith("no resolver defined to resolve "))) {
    return verdict("dns", 502, f);
  }
  if (first === 104 /* h */ && m.startsWith("host not found in upstream ")) {
    return { cause: "dns", status: undefined };
  }
  if (first === 70 /* F */ && m.startsWith("FastCGI sent in stderr: ")) {
    return {
      cause: undefined,
      status: m.startsWith('FastCGI sent in stderr: "Primary script unknown"') ? 404 : undefined,
    };
  }
  if (!isUpstreamAction(action)) return NONE;
  if (
    (first === 83 /* S */ && m.startsWith("SSL_do_handshake() failed")) ||
    (first === 112 /* p */ && m.startsWith("peer closed connection in SSL handshake"))
  ) {
    return verdict("tls_upstream", 502, f);
  }
  if (first === 83 && (m.startsWith("SSL_read() failed") || m.startsWith("SSL_write() failed"))) {
    if (f.errno !== undefined) return byErrno(f, f.errno);
    return verdict(m.includes("unexpected eof") ? "premature_close" : "tls_upstream", 502, f);
  }
  if (f.errno !== undefined) return byErrno(f, f.errno);
  return NONE;
}

const HOST_NOT_FOUND = 'host not found in upstream "';

/**
 * The address of `connect() to ADDR failed (...)`, which names its peer whatever the line's `upstream:`
 * field says; undefined for other messages.
 */
export function connectTarget(message: string): string | undefined {
  // A first and an eleventh letter to look at before the builtin (`connect() failed` is more common).
  if (
    message.charCodeAt(0) === 99 /* c */ &&
    message.charCodeAt(10) === 116 /* t */ &&
    message.startsWith("connect() to ")
  ) {
    const end = message.indexOf(" failed (", 13);
    if (end > 13) return message.slice(13, end);
  }
  return undefined;
}

/**
 * The peer a message concerns: the address of `connect() to ADDR failed`, else the peer in the
 * `upstream:` field, else the name nginx failed to resolve.
 */
export function findTarget(
  message: string,
  upstream: string | undefined,
): { target: string; isGroup: boolean } | undefined {
  const named = connectTarget(message);
  if (named !== undefined) return { target: named, isGroup: false };
  if (upstream !== undefined) return targetFromUpstream(upstream);
  const first = message.charCodeAt(0);
  const unresolved = message.indexOf(" ");
  if (
    unresolved > 0 &&
    message.charCodeAt(unresolved + 1) === 99 /* c */ &&
    message.startsWith(" could not be resolved", unresolved)
  ) {
    return { target: message.slice(0, unresolved), isGroup: false };
  }
  if (first === 110 /* n */ && message.startsWith("no resolver defined to resolve ")) {
    return { target: message.slice(31), isGroup: false };
  }
  if (first === 104 /* h */ && message.startsWith(HOST_NOT_FOUND)) {
    const end = message.indexOf('"', HOST_NOT_FOUND.length);
    if (end > 0) return { target: message.slice(HOST_NOT_FOUND.length, end), isGroup: false };
  }
  return undefined;
}

/** `http` from `http://127.0.0.1:18190/x`; undefined for the stream module's bare `127.0.0.1:18190`. */
export function upstreamScheme(upstream: string): string | undefined {
  const sep = upstream.indexOf("://");
  return sep > 0 ? upstream.slice(0, sep) : undefined;
}

/**
 * The peer inside an `upstream:` value: `127.0.0.1:18190`, `[::1]:18194`, `unix:/run/php/php-fpm.sock`
 * (nginx appends `:` and the URI after a unix path while the peer is set, and nothing after a timeout),
 * or an upstream{} group name when no peer could be chosen (`http://app_pool/x`): no port, `isGroup`.
 */
export function targetFromUpstream(upstream: string): { target: string; isGroup: boolean } | undefined {
  const sep = upstream.indexOf("://");
  const from = sep > 0 ? sep + 3 : 0;
  if (upstream.charCodeAt(from) === 117 /* u */ && upstream.startsWith("unix:", from)) {
    const colon = upstream.indexOf(":", from + 5);
    return { target: upstream.slice(from, colon < 0 ? upstream.length : colon), isGroup: false };
  }
  let end: number;
  if (upstream.charCodeAt(from) === 91 /* [ */) {
    const close = upstream.indexOf("]", from);
    if (close < 0) return undefined;
    end = upstream.indexOf("/", close);
  } else {
    end = upstream.indexOf("/", from);
  }
  if (end < 0) end = upstream.length;
  if (end === from) return undefined;
  // A port: the last `:` or `]` of the target is a `:`, not its first character.
  let hasPort = false;
  for (let i = end - 1; i > from; i--) {
    const c = upstream.charCodeAt(i);
    if (c === 58 /* : */) {
      hasPort = true;
      break;
    }
    if (c === 93 /* ] */) break;
  }
  return { target: upstream.slice(from, end), isGroup: !hasPort };
}
