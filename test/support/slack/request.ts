/**
 * Decoding a Web API request the way Slack does.
 *
 * WebClient POSTs `application/x-www-form-urlencoded`; every value that is not a string, number or boolean
 * (blocks, metadata, files, attachments) arrives JSON-stringified, booleans arrive as "true"/"false" and numbers
 * as digits. Slack also takes `application/json`, but then only from the Authorization header: a `token`
 * field in a JSON body is ignored. A JSON body without `charset` is answered with `warning: "missing_charset"`.
 */
import type { IncomingMessage } from "node:http";

export type Params = Record<string, unknown>;

export interface DecodedRequest {
  params: Params;
  token?: string;
  warnings: string[];
  /** Set when the body cannot be read at all; Slack answers with this error. */
  error?: "invalid_form_data" | "invalid_json" | "invalid_post_type" | "missing_post_type";
}

/** Fields Slack documents as "a JSON-based array/object presented as a URL-encoded string". */
const JSON_FIELDS = ["blocks", "metadata", "files", "attachments"];

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function bearer(req: IncomingMessage): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "");
  return match?.[1];
}

function decodeJsonFields(params: Params): Params {
  for (const key of JSON_FIELDS) {
    const value = params[key];
    if (typeof value !== "string") continue;
    try {
      params[key] = JSON.parse(value);
    } catch {
      // Left as the raw string: the method answers with its own *_format error.
    }
  }
  return params;
}

async function multipart(req: IncomingMessage, raw: Buffer): Promise<Params> {
  const form = await new Request("http://standin/", {
    method: "POST",
    headers: { "content-type": req.headers["content-type"] ?? "" },
    body: raw,
  }).formData();
  const params: Params = {};
  for (const [key, value] of form.entries()) {
    params[key] = typeof value === "string" ? value : Buffer.from(await value.arrayBuffer());
  }
  return params;
}

async function bodyParams(
  req: IncomingMessage,
  raw: Buffer,
): Promise<Omit<DecodedRequest, "token"> & { bodyToken?: string }> {
  const contentType = (req.headers["content-type"] ?? "").toLowerCase();
  if (raw.length === 0) return { params: {}, warnings: [] };
  if (contentType === "") return { params: {}, warnings: [], error: "missing_post_type" };
  if (contentType.startsWith("application/x-www-form-urlencoded")) {
    const params = Object.fromEntries(new URLSearchParams(raw.toString("utf8")));
    return { params, warnings: [], bodyToken: params.token };
  }
  if (contentType.startsWith("application/json")) {
    const warnings = contentType.includes("charset") ? [] : ["missing_charset"];
    try {
      const parsed: unknown = JSON.parse(raw.toString("utf8"));
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
        throw new Error("not an object");
      return { params: parsed as Params, warnings };
    } catch {
      return { params: {}, warnings, error: "invalid_json" };
    }
  }
  if (contentType.startsWith("multipart/form-data")) {
    try {
      const params = await multipart(req, raw);
      return { params, warnings: [], bodyToken: typeof params.token === "string" ? params.token : undefined };
    } catch {
      return { params: {}, warnings: [], error: "invalid_form_data" };
    }
  }
  return { params: {}, warnings: [], error: "invalid_post_type" };
}

export async function decodeApiRequest(req: IncomingMessage, url: URL, raw: Buffer): Promise<DecodedRequest> {
  const { bodyToken, ...body } = await bodyParams(req, raw);
  const query = Object.fromEntries(url.searchParams);
  const params: Params = { ...query, ...body.params };
  const token = bearer(req) ?? bodyToken ?? query.token;
  delete params.token;
  return { ...body, params: decodeJsonFields(params), ...(token !== undefined && { token }) };
}

export function str(params: Params, key: string): string | undefined {
  const v = params[key];
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return undefined;
}

export function bool(params: Params, key: string): boolean {
  const v = params[key];
  return v === true || v === 1 || v === "true" || v === "1";
}

export function int(params: Params, key: string): number | undefined {
  const v = str(params, key);
  if (v === undefined || !/^-?\d+$/.test(v)) return undefined;
  return Number.parseInt(v, 10);
}
