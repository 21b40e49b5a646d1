/**
 * Secrets that show up in log lines: credentials in query strings, Authorization and Cookie headers, passwords
 * in URLs, bearer tokens, cloud keys and private key blocks. Each match is replaced by a mask.
 */
const PATTERNS: { re: RegExp; replace: string }[] = [
  {
    re: /([?&;](?:access_token|refresh_token|id_token|token|api_key|apikey|api-key|key|secret|client_secret|password|passwd|pwd|auth|signature|sig|session|sessionid|x-amz-signature|x-amz-credential)=)[^&\s"';]+/gi,
    replace: "$1***",
  },
  {
    re: /\b(authorization|proxy-authorization|cookie|set-cookie|x-api-key)(["']?\s*[:=]\s*["']?)[^"'\r\n]+/gi,
    replace: "$1$2***",
  },
  { re: /\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, replace: "$1 ***" },
  { re: /\b([a-z][a-z0-9+.-]*:\/\/[^/\s:@"']+):[^@/\s"']+@/gi, replace: "$1:***@" },
  { re: /\b(AKIA|ASIA)[A-Z0-9]{16}\b/g, replace: "$1****************" },
  { re: /\bgh[pousr]_[A-Za-z0-9]{20,}\b/g, replace: "gh*_***" },
  { re: /\bxox[abposr]-[A-Za-z0-9-]{10,}\b/g, replace: "xox*-***" },
  { re: /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b/g, replace: "***jwt***" },
  {
    re: /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g,
    replace: "***private key***",
  },
];

export function maskSecrets(text: string): { text: string; count: number } {
  let count = 0;
  let out = text;
  for (const { re, replace } of PATTERNS) {
    out = out.replace(re, (...args) => {
      count++;
      const groups = args.slice(1, -2) as (string | undefined)[];
      return replace.replace(/\$(\d)/g, (_, i: string) => groups[Number(i) - 1] ?? "");
    });
  }
  return { text: out, count };
}
