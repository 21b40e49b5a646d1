import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { HookAuth } from "../config/schema.js";

export type AuthResult = { ok: true } | { ok: false; status: 401 | 500; error: string };

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  // Compare in constant time; a length difference is the only thing a caller learns.
  return x.length === y.length && timingSafeEqual(x, y);
}

function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Check a webhook request against its source's configured authentication. */
export function checkAuth(
  auth: HookAuth,
  headers: IncomingHttpHeaders,
  body: Buffer,
  env: Record<string, string | undefined>,
  nowMs: number,
): AuthResult {
  const secret = (name: string) => env[name];
  if ("bearer_env" in auth) {
    const token = secret(auth.bearer_env);
    if (!token)
      return {
        ok: false,
        status: 500,
        error: `the bot has no ${auth.bearer_env} set: the operator must set it`,
      };
    const given = /^Bearer\s+(.+)$/i.exec(header(headers, "authorization") ?? "")?.[1] ?? "";
    return same(given, token)
      ? { ok: true }
      : { ok: false, status: 401, error: "missing or wrong bearer token" };
  }
  if ("basic" in auth) {
    const password = secret(auth.basic.password_env);
    if (!password)
      return {
        ok: false,
        status: 500,
        error: `the bot has no ${auth.basic.password_env} set: the operator must set it`,
      };
    const given = /^Basic\s+(.+)$/i.exec(header(headers, "authorization") ?? "")?.[1] ?? "";
    const want = Buffer.from(`${auth.basic.user}:${password}`).toString("base64");
    return same(given, want)
      ? { ok: true }
      : { ok: false, status: 401, error: "missing or wrong basic credentials" };
  }
  const h = auth.hmac;
  const key = secret(h.secret_env);
  if (!key)
    return { ok: false, status: 500, error: `the bot has no ${h.secret_env} set: the operator must set it` };
  const given = (header(headers, h.header) ?? "").replace(/^sha256=/, "");
  let signed = body;
  if (h.timestamp_header) {
    const ts = header(headers, h.timestamp_header) ?? "";
    const seconds = Number(ts);
    if (!/^\d{9,11}$/.test(ts) || Math.abs(nowMs - seconds * 1000) > h.max_age)
      return {
        ok: false,
        status: 401,
        error: `missing or stale ${h.timestamp_header} (unix seconds within ${h.max_age / 1000} s)`,
      };
    signed = Buffer.concat([Buffer.from(`${ts}:`), body]);
  }
  const want = createHmac("sha256", key).update(signed).digest("hex");
  return same(given.toLowerCase(), want)
    ? { ok: true }
    : { ok: false, status: 401, error: `missing or wrong ${h.header} signature` };
}
