import { COMBINED_FORMAT } from "../evidence/log-format.js";
import { type NginxAccessRecord, nginxAccessParser } from "../evidence/nginx-access.js";
import { parseText } from "../evidence/run.js";
import type { ParseContext } from "../evidence/types.js";
import { code, WHEN } from "./phrases.js";
import type { Reading } from "./schema.js";

/**
 * Access-log lines in the formats people run: nginx's `combined`, Debian/docker `main`, `main_ext` (with
 * `$upstream_*` timings, reference section 4) and the NGINX blog's `upstream_time`. Each is read by the
 * access-log parser with that log_format; a line cut at either end is read with the part of the format
 * that is left.
 */

/** Debian's and the docker image's `main`: combined plus X-Forwarded-For. */
export const MAIN_FORMAT = `${COMBINED_FORMAT} "$http_x_forwarded_for"`;
const UPSTREAM_TIMES =
  'rt=$request_time uct="$upstream_connect_time" uht="$upstream_header_time" urt="$upstream_response_time"';
/** `main` plus request time and the upstream's address, status and timings. */
export const MAIN_EXT_FORMAT = `${MAIN_FORMAT} ${UPSTREAM_TIMES} ua="$upstream_addr" us="$upstream_status"`;
/** As published on the NGINX blog: `combined` with the timings glued on (no space before `rt=`). */
export const UPSTREAM_TIME_FORMAT = `${COMBINED_FORMAT}${UPSTREAM_TIMES}`;

const FORMATS = [MAIN_EXT_FORMAT, UPSTREAM_TIME_FORMAT, MAIN_FORMAT, COMBINED_FORMAT];
/** What is left of a line cut after its status (or cut before its client address). */
const HEAD_FORMAT = '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent';
const REQUEST_FORMAT = '"$request" $status $body_bytes_sent';
const TAIL_FORMAT = `${UPSTREAM_TIMES} ua="$upstream_addr" us="$upstream_status"`;
const REQUEST_START = /"(?:[A-Z]{3,10} \S+(?: HTTP\/[\d.]+)?|-)" \d{3} /;

function parseWith(line: string, format: string, ctx: ParseContext): NginxAccessRecord | undefined {
  return parseText(nginxAccessParser, line, { ...ctx, options: { format } }).records[0];
}

export function readNginxAccess(line: string, ctx: ParseContext): Reading | undefined {
  for (const format of FORMATS) {
    const r = parseWith(line, format, ctx);
    if (r?.status !== undefined) return accessMeaning(r, undefined);
  }
  // A fragment: the part from the request line on, plus the upstream fields when they are still there.
  const at = line.search(REQUEST_START);
  if (at < 0) return undefined;
  const head = parseWith(line.slice(at), REQUEST_FORMAT, ctx);
  const withClient = at > 0 ? parseWith(line, HEAD_FORMAT, ctx) : undefined;
  const r = withClient ?? head;
  if (r?.status === undefined) return undefined;
  const rt = line.indexOf("rt=");
  const tail = rt < 0 ? undefined : parseWith(line.slice(rt), TAIL_FORMAT, ctx);
  return accessMeaning(r, tail?.upstreams);
}

function attempts(r: NginxAccessRecord): string {
  const tried = (r.upstreams ?? []).filter((u) => u.addr !== null);
  if (tried.length === 0) return "";
  const list = tried.map((u) => `${code(u.addr ?? "-", 60)} (${u.status ?? "-"})`).join(", then ");
  return ` nginx tried ${list}.`;
}

function accessMeaning(r: NginxAccessRecord, tailUpstreams: NginxAccessRecord["upstreams"]): Reading {
  const upstreams = r.upstreams ?? tailUpstreams;
  const rec = { ...r, upstreams };
  const request = r.request === undefined ? "a request" : code(r.request, 100);
  const status = r.status ?? 0;
  const last = upstreams?.[upstreams.length - 1];
  const upstream = upstreams?.map((u) => u.addr ?? "-").join(", ");
  const base = {
    kind: "nginx-access" as const,
    status: r.status,
    upstream: upstream === undefined || upstream === "-" ? undefined : upstream,
    time: r.time,
  };
  const rt = r.requestTime === undefined ? "" : ` after ${r.requestTime} s`;
  const tried = attempts(rec);
  if (status === 502) {
    let why = "";
    if (last?.isGroup) why = " No server of the group was available (`no live upstreams`).";
    else if (r.vars.upstream_addr === "-" || (tailUpstreams !== undefined && tailUpstreams.length === 0))
      why = " No upstream was even tried: the name did not resolve (`could not be resolved`).";
    else if (last?.connectTime === null && last.status === 502)
      why = ' No connection was made (`uct="-"`): the connect failed (refused, no route) or TLS failed.';
    return {
      ...base,
      meaning: `nginx answered 502 to ${request}${rt}.${tried}${why} nginx writes the 502 itself when the backend's answer is missing or invalid; this line does not say why.`,
      next: `Find the error-log line for this request ${WHEN} (the same \`request: "..."\`, or the \`*N\` of \`$connection\`): its message names the cause. Paste it here.`,
    };
  }
  if (status === 504) {
    return {
      ...base,
      meaning: `nginx gave up waiting for the backend and answered 504 to ${request}${rt}.${tried} A request time close to \`proxy_read_timeout\` is the tell.`,
      next: "What does the backend do for this URL? Compare the request time with `proxy_read_timeout` and the backend's own timeouts; the error log has `upstream timed out` for it.",
    };
  }
  if (status === 499) {
    return {
      ...base,
      meaning: `The client gave up on ${request}${rt} before nginx answered (499).${tried}`,
      next: "Was the backend slow at this time? Many 499s usually mean a slow backend behind impatient clients or load-balancer timeouts.",
    };
  }
  const retried = upstreams?.some((u) => u.status === 502 || u.status === 504) === true;
  if (status < 400) {
    return {
      ...base,
      meaning: `A normal ${status} answer to ${request}${rt}.${tried}${retried ? " An earlier attempt failed and nginx retried on the next server: the client did not see it." : ""}`,
      next: retried
        ? "The failed attempt is in the error log at the same time: it says why that server failed."
        : "Nothing to chase in this line for a 502.",
    };
  }
  const backend = last !== undefined && last.status === status;
  return {
    ...base,
    meaning: `${request} got ${status}${rt}.${tried}${backend ? ` The backend answered ${status} itself.` : ""}`,
    next: backend
      ? "The backend's own log says why it answered that."
      : status < 500
        ? "A client error (4xx), not a gateway failure."
        : "nginx answered this itself: the error log at the same time says why.",
  };
}
