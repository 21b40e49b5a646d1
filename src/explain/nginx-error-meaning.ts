import type { NginxErrorRecord } from "../evidence/nginx-error.js";
import { code, WHEN } from "./phrases.js";
import type { Reading } from "./schema.js";

/**
 * What an nginx error-log record means, per cause (shared/reference/nginx-502-signatures.md sections 2, 3
 * and 10), and what to look at next.
 */

const RESTART_CHECK =
  "its start time (`ps -o lstart -p PID`), `systemctl show -p NRestarts,ExecMainStartTimestamp,Result UNIT`, " +
  "the journal (`Main process exited`, `Scheduled restart job`) and the kernel log (`Killed process`, `segfault`)";

function statusPhrase(r: NginxErrorRecord): string {
  if (r.status !== undefined) return ` The client got ${r.status}.`;
  if (r.bytes !== undefined)
    return " This is the stream (TCP) proxy: the client's connection was closed, no HTTP status.";
  if (r.subrequest !== undefined)
    return " It happened in a subrequest: the client's status depends on the main request.";
  if (r.action === "reading upstream" || r.action === "sending to client") {
    return " The response header was already on its way, so the client probably saw the backend's status (often 200) with a truncated body.";
  }
  return "";
}

function forRequest(r: NginxErrorRecord): string {
  return r.request === undefined ? "" : ` for ${code(r.request, 100)}`;
}

function phase(action: string | undefined): string {
  switch (action) {
    case "connecting to upstream":
      return "while connecting";
    case "SSL handshaking to upstream":
      return "during the TLS handshake";
    case "sending request to upstream":
      return "while nginx was still sending the request";
    case "reading response header from upstream":
      return "before sending a complete response header";
    case "reading upstream":
      return "in the middle of the response body";
    default:
      return action === undefined ? "" : `while ${action}`;
  }
}

type Explain = (r: NginxErrorRecord, target: string) => { meaning: string; next: string };

const BY_CAUSE: Partial<Record<NonNullable<NginxErrorRecord["cause"]>, Explain>> = {
  connection_refused: (r, t) => ({
    meaning: `nginx could not connect to ${t}${forRequest(r)}: the connection was refused (111), so nothing was listening there: the backend is down, restarting, or listens on another port.`,
    next: `Is anything listening on ${t} (\`ss -ltnp\` on that host)? Check whether the backend restarted ${WHEN}: ${RESTART_CHECK}. If nothing ever listens there, compare the address with \`nginx -T\` and where the service runs now.`,
  }),
  connection_reset: (r, t) =>
    r.errno === 32
      ? {
          meaning: `The backend at ${t} closed the connection ${phase(r.action)}${forRequest(r)} (32: broken pipe): it reused an idle keepalive connection the backend had already closed, or the backend refused a large request body.`,
          next: `Is the backend's keepalive/idle timeout shorter than nginx's reuse of idle connections (\`keepalive_timeout\` in the upstream block)? Raise the backend's above nginx's. Also check whether the backend restarted ${WHEN}: ${RESTART_CHECK}.`,
        }
      : {
          meaning: `The backend at ${t} reset the connection (104, TCP RST) ${phase(r.action)}${forRequest(r)}. Usually the backend process died mid-request (crash, OOM kill), or it closed a reused keepalive connection.`,
          next: `Did the backend die ${WHEN}? Look for a kernel OOM kill (\`dmesg | grep -i "killed process"\`), a crash stack in its log, or \`Main process exited\` in its journal; ${RESTART_CHECK}. If it did not restart, compare its idle timeout with nginx's keepalive reuse.`,
        },
  premature_close: (r, t) => ({
    meaning: `The backend at ${t} closed the connection ${phase(r.action) || "early"}${forRequest(r)} (an orderly close, not a reset).`,
    next: `Did the backend exit or restart ${WHEN} (${RESTART_CHECK})? If not, does this request take longer than the backend's own write/request timeout (Go \`WriteTimeout\`, gunicorn \`--timeout\`, uWSGI \`harakiri\`)? Compare \`$request_time\` in the access log with it.`,
  }),
  no_live_upstreams: (r, t) => ({
    meaning: `Every server of upstream group ${t} was marked down (\`max_fails\` failures within \`fail_timeout\`), so nginx did not try any${forRequest(r)}. This line is a consequence: the real failure is in the error lines before it.`,
    next: `Read the error lines for the group's servers just before this one (${WHEN}): \`connect() failed (111...)\`, \`recv() failed (104...)\` or \`(113: No route to host)\` say why each server was marked down.`,
  }),
  no_route: (r, t) => ({
    meaning: `The kernel found no way to reach ${t}${forRequest(r)} (${r.errno ?? "no route"}${r.errnoText ? `: ${r.errnoText}` : ""}): the host is down or the address no longer exists (a replaced instance, a rescheduled container, a stale IP in the upstream config).`,
    next: `Is ${t} still the address of a live instance? Compare the upstream's servers in \`nginx -T\` with where the service runs now (\`ip addr\` on the backends, your service registry); nginx resolves hostnames in \`server\` lines only at start or reload.`,
  }),
  connect_timeout: (r, t) => ({
    meaning:
      r.status === 504
        ? `nginx's \`proxy_connect_timeout\` fired while connecting to ${t}${forRequest(r)}: the backend did not accept the connection in time.`
        : `The TCP connection to ${t} timed out in the kernel (110, no answer to SYN)${forRequest(r)}: the address is blackholed (firewall, a vanished instance) or the backend's accept queue is full.`,
    next: `Is ${t} reachable from the gateway (firewall, security group) and still the address of a live instance? If it is, is the backend's listen backlog full (\`ss -ltn\`: Recv-Q at Send-Q)?`,
  }),
  read_timeout: (r, t) => ({
    meaning:
      r.status === 504
        ? `The backend at ${t} did not answer within nginx's \`proxy_read_timeout\`${forRequest(r)}. This is a 504 (slow backend), not a 502.`
        : `Reading from the backend at ${t} timed out in the kernel (110)${forRequest(r)}.`,
    next: `What is the backend doing for this request ${WHEN}? Compare \`$request_time\` in the access log with \`proxy_read_timeout\`; look for slow queries, exhausted workers or a pool limit in the backend's log.`,
  }),
  too_big_header: (r, t) => ({
    meaning: `The response headers from ${t}${forRequest(r)} did not fit in nginx's buffer (\`proxy_buffer_size\`; \`fastcgi_buffer_size\` for PHP). The same URL fails every time.`,
    next: "Find the header that grew (big cookies, JWTs, CSP): `curl -sD- -o/dev/null` the backend directly. Then raise `proxy_buffer_size` / `proxy_buffers`, or shrink the header.",
  }),
  invalid_header: (r, t) => ({
    meaning: `The backend at ${t} answered${forRequest(r)} with something that is not a valid HTTP response header: it speaks another protocol (HTTP to a TLS port, a non-HTTP service) or printed output before its headers.`,
    next: `Does ${t} speak what nginx expects (\`proxy_pass http://\` vs \`https://\`, \`uwsgi_pass\`, \`fastcgi_pass\`)? Try \`curl -v\` against it directly.`,
  }),
  fastcgi_socket: (r, t) => ({
    meaning:
      r.errno === 13
        ? `nginx may not open the unix socket ${t}${forRequest(r)} (13: permission denied).`
        : `The unix socket ${t} does not exist${forRequest(r)} (2): the backend behind it (php-fpm, uWSGI...) is not running or listens elsewhere.`,
    next:
      r.errno === 13
        ? `Check \`ls -l\` on ${t}: its owner and mode (php-fpm \`listen.owner\`, \`listen.mode\`) must let nginx's user connect.`
        : `Is the backend running (did it crash or restart ${WHEN})? Does its \`listen\` path match ${t}?`,
  }),
  pool_exhausted: (r, t) => ({
    meaning: `The unix socket ${t} accepted no more connections${forRequest(r)} (11: its backlog is full): the backend's worker pool is exhausted.`,
    next: "Look for `server reached pm.max_children` in the php-fpm log (or busy workers in uWSGI); raise the pool size or find the slow requests holding the workers.",
  }),
  tls_upstream: (r, t) => ({
    meaning: `The TLS handshake with the backend at ${t} failed${forRequest(r)}: ${r.message.includes("certificate") ? "its certificate was not accepted" : "it does not speak TLS on that port, or it closed the handshake"}.`,
    next: `Try \`openssl s_client -connect\` to ${t}. Check \`proxy_ssl_verify\`, \`proxy_ssl_trusted_certificate\` and \`proxy_ssl_name\`, and whether the backend expects plain HTTP.`,
  }),
  dns: (r, t) => ({
    meaning: r.message.startsWith("host not found in upstream")
      ? `nginx could not resolve ${t} when it read its configuration: this config did not load (a reload keeps the old one).`
      : `nginx could not resolve ${t}${forRequest(r)}${r.errnoText ? ` (${r.errnoText})` : ""}, so no upstream was tried.`,
    next: "Is the resolver in nginx's `resolver` line reachable, and does the name exist (`dig @RESOLVER NAME`)? After a failed reload, `nginx -t` shows the error and the old upstream addresses stay in use.",
  }),
};

/** The reading of an nginx error record. `assumedAction` is set when the action was guessed for a cut line. */
export function nginxErrorMeaning(r: NginxErrorRecord, assumedAction: string | undefined): Reading {
  const t = r.target === undefined ? "the backend" : code(r.target);
  const explain = r.cause === undefined ? undefined : BY_CAUSE[r.cause];
  let meaning: string;
  let next: string;
  if (explain) {
    ({ meaning, next } = explain(r, t));
    meaning += statusPhrase(r);
  } else if (r.message.startsWith("upstream server temporarily disabled")) {
    meaning = `nginx marked ${t} as down after \`max_fails\` failed attempts; it avoids it for \`fail_timeout\`. When every server of the group is down, requests fail with \`no live upstreams\`.`;
    next = `The error line just before this one (same \`*N\` connection number) says why ${t} failed.`;
  } else if (r.cause === "other") {
    meaning = `nginx logged an error${r.action ? ` while ${r.action}` : ""}${forRequest(r)}: ${code(r.message, 160)}.${statusPhrase(r)}`;
    next = `Look up the error number${r.errno === undefined ? "" : ` ${r.errno}`} and the message; the lines around it with the same \`*N\` connection number show what nginx did next.`;
  } else if (/^connect\(\) (?:to \S+ )?failed$|^connect\(\) to \S+$/.test(r.message)) {
    meaning = `nginx failed to connect to ${r.message.startsWith("connect() to ") ? code(r.message.slice(13).replace(/ failed$/, "")) : t}, but the line is cut before the reason (the error number in parentheses).`;
    next =
      "Paste the whole line: the number after `failed (` says why (111 nothing listening, 113 no route, 110 timeout, 2 missing socket).";
  } else {
    meaning = `An nginx ${r.level} message that is not an upstream failure: ${code(r.message, 160)}.`;
    next = "Nothing to chase for a 502 in this line: look for `[error]` lines that name an `upstream:`.";
  }
  if (assumedAction !== undefined && !meaning.includes("cut"))
    meaning += ` (The line is cut; I assumed it was logged while ${assumedAction}.)`;
  return {
    kind: "nginx-error",
    cause: r.cause,
    status: r.status,
    meaning,
    next,
    upstream: r.target,
    time: r.time,
  };
}
