/**
 * The one redaction step every piece of host text passes before it leaves the bot: credentials in query
 * strings, form bodies, process arguments and `key=value` settings, JSON and YAML fields that name a secret,
 * Authorization, Proxy-Authorization, Cookie and Set-Cookie values, credentials in URLs, bearer and basic
 * credentials, JWTs, cloud keys (AWS, GCP, Azure), Slack, GitHub, GitLab and Stripe tokens, webhook URLs,
 * private key blocks, and the patterns the config adds (`redact.patterns`). Each secret becomes a mask
 * (`***`, or a short prefix that says what it was, `AKIA****************`, `sk_live_***`) and is counted
 * once. Masking masked text changes nothing and counts nothing.
 */

interface Rule {
  re: RegExp;
  /** What replaces the match, from the match and its groups; undefined when it is no secret after all. */
  mask: (match: string, groups: (string | undefined)[]) => string | undefined;
}

/**
 * Key names whose value is a secret, matched at the end of a longer key (`db_password`, `aws_secret_access_key`,
 * `X-Amz-Security-Token`, `JSESSIONID`), case-insensitively.
 */
const SECRET_KEY =
  "(?:pass(?:word|wd|phrase)|secret|token|api[_-]?key|access[_-]?key|secret[_-]?key|private[_-]?key|account[_-]?key|credentials?|signature|auth|sess(?:ion)?(?:[_-]?id)?|jwt|cookie)";
/**
 * Short names that are secrets only as a whole key (`?key=`, `&sig=`, `"pwd":`), never as a key's tail; `PWD`,
 * the shell's working directory in environment dumps, is not one.
 */
const SHORT_KEY = "(?:pass|pwd|key|sig|sid)";

/** Keys whose value may be a passphrase of several words. */
const PASSPHRASE_KEY = "(?:pass(?:word|wd|phrase)|secret)";
/** A word of an unquoted value, and a further one: not a separator, and not the start of another field. */
const WORD = String.raw`[^\s,;{}[\]"'\\]+`;
// Taken whole (a lookahead and its backreference: no backtracking into a shorter word, which would let a
// long word cost quadratic time and cut `10.0.0.1:5432` at `10.0.0.`), then not followed by `:` or `=`.
const NEXT_WORD = String.raw`(?=([^\s,;{}[\]"'\\:=-][^\s,;{}[\]"'\\:=]*))\4(?![:=])`;

/** A key as people write one (lower case, UPPER_CASE, Header-Case), not an exception class (`InvalidTokenError`). */
function plainKey(key: string): boolean {
  return /^(?:[a-z0-9_.-]+|[A-Z0-9_.-]+|(?:[A-Z][a-z0-9]*-)*[A-Z][a-z0-9]*)$/.test(key);
}

/** A quoted value (JSON, shell, or JSON inside a JSON string), or `undefined`. */
const QUOTED = String.raw`"(?:[^"\\\r\n]|\\.)*"|\\"(?:[^"\\\r\n]|\\[^"\r\n])*\\"|'[^'\r\n]*'`;

/** True for a value that is already a mask, or says there is nothing: masking it again must count nothing. */
function nothing(value: string): boolean {
  const v = value
    .replace(/^\\?["']|\\?["']$/g, "")
    .replace(/^(?:bearer|basic)\s+/i, "")
    .trim();
  return v === "" || v === "-" || /^\*+$/.test(v);
}

/** A value with the quotes it came in, its inside masked. */
function masked(value: string): string {
  const q = /^(\\?["'])[\s\S]*\1$/.exec(value)?.[1];
  return q ? `${q}***${q}` : "***";
}

/** Looks like a credential rather than a word: a digit, a symbol or an upper case letter past the first. */
function credentialLike(s: string): boolean {
  return /[0-9+/=_.~-]/.test(s) || /.[A-Z]/.test(s);
}

const keep =
  (prefix: (g: (string | undefined)[]) => string, tail = "***") =>
  (_m: string, g: (string | undefined)[]) =>
    `${prefix(g)}${tail}`;

const RULES: readonly Rule[] = [
  {
    // Whole private key blocks (PEM, OpenSSH, PGP); one without its END line is masked to the end of the text.
    re: /-----BEGIN[A-Z0-9 ]* PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END[A-Z0-9 ]* PRIVATE KEY(?: BLOCK)?-----|$)/g,
    mask: () => "***private key***",
  },
  {
    // Headers whose whole value is a credential, as a header line, a JSON field or a `name=value` setting
    // (not a URL's user name: `https://x-access-token:…@host` is the URL rule's).
    re: /(?<![/@.-])\b(authorization|proxy-authorization|set-cookie|cookie|x-api-key|x-auth-token|x-access-token|x-amz-security-token|x-goog-api-key|x-vault-token|x-csrf-token|x-xsrf-token|private-token|api-key)(\\?["']?[ \t]*[:=][ \t]*\\?["']?)([^"'\\\r\n]+)/gi,
    mask: (_m, [name, sep, value]) => (nothing(value ?? "") ? undefined : `${name}${sep}***`),
  },
  {
    // Credentials in URLs: `scheme://user:password@host`; the password may hold `@`, the host cannot.
    re: /\b([a-z][a-z0-9+.-]*:\/\/[^/\s:@"'\\]*):([^/\s"'\\]+)@(?=[^@/\s"'\\]+)/gi,
    mask: (_m, [head, password]) => (nothing(password ?? "") ? undefined : `${head}:***@`),
  },
  {
    // Incoming-webhook URLs carry their secret in the path: Slack, Discord.
    re: /\b(hooks\.slack\.com\/(?:services|workflows|triggers)\/|discord(?:app)?\.com\/api\/webhooks\/)[A-Za-z0-9_/-]+/gi,
    mask: keep(([head]) => head ?? ""),
  },
  {
    // JSON, YAML flow and Python fields with a quoted secret key: `"password": "…"`, `'api_key': '…'`.
    re: new RegExp(
      String.raw`(\\?["'])([A-Za-z0-9_.-]*?${SECRET_KEY}|${SHORT_KEY})\1([ \t]*[:=][ \t]*)(${QUOTED}|[^\s,;{}[\]"'\\]+)`,
      "gi",
    ),
    mask: (_m, [q, key, sep, value]) =>
      nothing(value ?? "") || key === "PWD" ? undefined : `${q}${key}${q}${sep}${masked(value ?? "")}`,
  },
  {
    // `key=value` anywhere: query strings, form bodies (also their first field), process arguments
    // (`--password=…`), environment and INI settings (`aws_secret_access_key = …`), logfmt, cookies.
    re: new RegExp(
      String.raw`(?<![A-Za-z0-9_.-])([A-Za-z0-9_.-]*?${SECRET_KEY})([ \t]*=[ \t]*)(${QUOTED}|[^\s&"'\\<>]+)`,
      "gi",
    ),
    mask: (_m, [key, sep, value]) =>
      nothing(value ?? "") ? undefined : `${key}${sep}${masked(value ?? "")}`,
  },
  {
    // Short secret names as whole query or form fields: `?key=…`, `&sig=…` (Azure SAS), a form body's first
    // field (`pwd=…` at a line start or after any other character); `key=` after a space is a word (`cache key=`).
    re: new RegExp(
      String.raw`(^|[?&;]|(?<![A-Za-z0-9_])(?=pass|pwd|sig|sid))(${SHORT_KEY})=([^\s&"'\\<>#]+)`,
      "gim",
    ),
    mask: (_m, [lead, key, value]) =>
      nothing(value ?? "") || key === "PWD" ? undefined : `${lead}${key}=***`,
  },
  {
    // A passphrase written unquoted may hold spaces: after `password:` (YAML, app lines) or ` = ` with
    // spaces around it (INI), its words run on up to a separator or a word that starts the next field
    // (`user: app`, `host=db`, `--port`). One word alone is left to the rules below.
    re: new RegExp(
      String.raw`(?<![A-Za-z0-9_./@-])([A-Za-z0-9_.-]*?${PASSPHRASE_KEY})(:[ \t]*|[ \t]+=[ \t]+)(${WORD}(?:[ \t]+${NEXT_WORD})+)`,
      "gi",
    ),
    mask: (_m, [key, sep, value]) =>
      nothing(value ?? "") || !plainKey(key ?? "") ? undefined : `${key}${sep}***`,
  },
  {
    // Unquoted `key: value` (YAML, logfmt-like app lines, header lines): lower case, UPPER_CASE or
    // Header-Case keys only, so that an exception class (`InvalidTokenError: …`) keeps its message.
    re: new RegExp(
      String.raw`(?<![A-Za-z0-9_./@-])([A-Za-z0-9_.-]*?${SECRET_KEY})(:[ \t]*)(${QUOTED}|[^\s,;{}[\]"'\\]+)`,
      "gi",
    ),
    mask: (_m, [key, sep, value]) =>
      nothing(value ?? "") || !plainKey(key ?? "") ? undefined : `${key}${sep}${masked(value ?? "")}`,
  },
  {
    re: /\b(bearer|basic)([ \t]+)([A-Za-z0-9._~+/=-]{8,})/gi,
    mask: (_m, [scheme, sep, value]) => (credentialLike(value ?? "") ? `${scheme}${sep}***` : undefined),
  },
  // A JWT, also one cut short by a clip: base64url of a JSON object (`eyJ`), then up to two more parts.
  { re: /\beyJ[A-Za-z0-9_-]{10,}(?:\.[A-Za-z0-9_-]*){0,2}/g, mask: () => "***jwt***" },
  { re: /\b(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b/g, mask: keep(([p]) => p ?? "", "****************") },
  { re: /\bAIza[0-9A-Za-z_-]{30,}/g, mask: () => "AIza***" },
  { re: /\bya29\.[0-9A-Za-z_-]{20,}/g, mask: () => "ya29.***" },
  { re: /\b(xox[a-z](?:\.xox[a-z])?-|xapp-)[A-Za-z0-9-]{8,}/g, mask: keep(([p]) => p ?? "") },
  { re: /\b(gh[pousr]_|github_pat_|glpat-)[A-Za-z0-9_-]{20,}/g, mask: keep(([p]) => p ?? "") },
  { re: /\b((?:sk|rk)_(?:live|test)_|whsec_)[A-Za-z0-9]{10,}/g, mask: keep(([p]) => p ?? "") },
];

const BEGIN_KEY = /-----BEGIN[A-Z0-9 ]* PRIVATE KEY(?: BLOCK)?-----/;
const END_KEY = /-----END[A-Z0-9 ]* PRIVATE KEY(?: BLOCK)?-----/;

/**
 * Text read line by line (a paste) with the body of each private key block blanked: the lines after a BEGIN
 * line up to its END line (or the last line) become empty, so that no line masked alone shows a piece of
 * the key. The BEGIN line stays, for maskSecrets to mask and count.
 */
export function blankPrivateKeyBodies(lines: readonly string[]): string[] {
  let inKey = false;
  return lines.map((line) => {
    if (inKey) {
      if (END_KEY.test(line)) inKey = false;
      return "";
    }
    const begin = BEGIN_KEY.exec(line);
    if (begin && !END_KEY.test(line.slice(begin.index))) inKey = true;
    return line;
  });
}

/** Extra patterns from the config (`redact.patterns`): every match is replaced by `***`. */
export type RedactPatterns = readonly RegExp[];

/** What of a config the masking reads: its `redact.patterns`, regular expression sources. */
export interface RedactSettings {
  redact?: { patterns?: readonly string[] | undefined } | undefined;
}

/** The config's extra pattern sources (each checked to compile when the config was loaded). */
export function redactSources(config: RedactSettings): string[] {
  return [...(config.redact?.patterns ?? [])];
}

/** The config's extra patterns, compiled. */
export function redactPatterns(config: RedactSettings): RegExp[] {
  return redactSources(config).map((s) => new RegExp(s, "g"));
}

function apply(text: string, rule: Rule, counter: { count: number }): string {
  rule.re.lastIndex = 0;
  return text.replace(rule.re, (m: string, ...args: unknown[]) => {
    // After the groups come the offset, the whole text and, with named groups, their object.
    const named = typeof args[args.length - 1] === "object";
    const groups = args.slice(0, named ? -3 : -2) as (string | undefined)[];
    const out = rule.mask(m, groups);
    if (out === undefined) return m;
    counter.count++;
    return out;
  });
}

const EXTRA_MASK: Rule["mask"] = (m) => (m === "" || /^\*+$/.test(m) ? undefined : "***");

/** `text` with every secret masked, and how many were. */
export function maskSecrets(text: string, extra: RedactPatterns = []): { text: string; count: number } {
  const counter = { count: 0 };
  let out = text;
  for (const re of extra) {
    const global = re.global ? re : new RegExp(re.source, `${re.flags}g`);
    out = apply(out, { re: global, mask: EXTRA_MASK }, counter);
  }
  for (const rule of RULES) out = apply(out, rule, counter);
  return { text: out, count: counter.count };
}
