/**
 * The stand-in's Web API: one table of methods, and the checks Slack makes before any method runs
 * (unknown_method, not_authed, invalid_auth, not_allowed_token_type, missing_scope).
 */
import { type ApiResult, type CallContext, fail, type MethodSpec, type TokenKind } from "./method-kit.js";
import { CHAT_METHODS } from "./methods-chat.js";
import { FILE_METHODS } from "./methods-files.js";
import { READ_METHODS } from "./methods-read.js";

export const METHODS = { ...CHAT_METHODS, ...READ_METHODS, ...FILE_METHODS } satisfies Record<
  string,
  MethodSpec
>;

export type MethodName = keyof typeof METHODS;

export interface Tokens {
  bot: string;
  app: string;
}

export interface Dispatched {
  result: ApiResult;
  /** The scopes the token holds, for the x-oauth-scopes header; absent when the token was not accepted. */
  scopes?: readonly string[];
  /** The scope the method needs, for x-accepted-oauth-scopes. */
  accepted?: string;
}

const APP_SCOPES = ["connections:write"];

function tokenKind(tokens: Tokens, token: string | undefined): TokenKind | "none" | "invalid" {
  if (token === undefined || token === "") return "none";
  if (token === tokens.bot) return "bot";
  if (token === tokens.app) return "app";
  return "invalid";
}

export function dispatch(
  method: string,
  token: string | undefined,
  tokens: Tokens,
  botScopes: readonly string[],
  ctx: Omit<CallContext, "scopes">,
): Dispatched {
  const spec: MethodSpec | undefined = Object.hasOwn(METHODS, method)
    ? METHODS[method as MethodName]
    : undefined;
  if (!spec) return { result: fail("unknown_method", [], { req_method: method }) };
  const kind = tokenKind(tokens, token);
  if (kind === "none") return { result: fail("not_authed") };
  if (kind === "invalid") return { result: fail("invalid_auth") };
  const scopes = kind === "app" ? APP_SCOPES : botScopes;
  if (kind !== spec.token) return { result: fail("not_allowed_token_type"), scopes };
  const full: CallContext = { ...ctx, scopes: new Set(scopes) };
  const accepted = spec.scope?.(full);
  if (accepted !== undefined && !full.scopes.has(accepted)) {
    return {
      result: fail("missing_scope", [], { needed: accepted, provided: scopes.join(",") }),
      scopes,
      accepted,
    };
  }
  return { result: spec.run(full), scopes, ...(accepted !== undefined && { accepted }) };
}
