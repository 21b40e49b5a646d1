/**
 * Log lines as hosts write them, each with secrets planted where real ones turn up: nginx error and access
 * lines (request lines, referrers, custom formats with Authorization and Cookie), app stacks, journal and
 * kernel lines, process arguments (`ps`), JSON logs, debug dumps. Every planted value is unique and says
 * what it is (`Planted…`, or a real token's shape around `PLANTED`), so a test can search every output
 * for it. `CUSTOM_PATTERN` is a shape only the config knows (`redact.patterns`).
 */

export type CorpusKind =
  | "nginx-error"
  | "nginx-access"
  | "app"
  | "journal"
  | "kernel"
  | "ps"
  | "json"
  | "dump";

export interface Planted {
  kind: CorpusKind;
  /** Where such a line comes from, for failure messages. */
  what: string;
  /** The text, one line or a multi-line report. */
  text: string;
  /** The secret values planted in it; none may survive masking, anywhere. */
  secrets: string[];
}

/** The config's extra pattern in the corpus: an internal ticket-signing key shape. */
export const CUSTOM_PATTERN = "ACME-SIGN-[0-9A-F]{12}";

/** base64 of `planted-basic-01:pw` and `planted-proxy-01:pw`, as Basic credentials are sent. */
const BASIC = Buffer.from("planted-basic-01:pw").toString("base64");
const PROXY_BASIC = Buffer.from("planted-proxy-01:pw").toString("base64");
const JSON_BASIC = Buffer.from("planted-json-basic-01:pw").toString("base64");
/** A real HS256 JWT's shape: header, payload and signature, base64url. */
const JWT = `${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString("base64url")}.${Buffer.from('{"sub":"planted-jwt-01","exp":1764074683}').toString("base64url")}.PlantedJwtSignature01-abcdefghijklmnopqrstu`;
const JWT_SIG = "PlantedJwtSignature01-abcdefghijklmnopqrstu";
const JWT_PAYLOAD = JWT.split(".")[1] ?? "";

const PEM_BODY = [
  "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDPlantedKey01aa",
  "PlantedPrivateKeyBodyLine02bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
  "PlantedPrivateKeyBodyLine03cccccccccccccccccccccccccccccccccc==",
];

export const CORPUS: readonly Planted[] = [
  {
    kind: "nginx-error",
    what: "connect() refused, token in the request line, the upstream URL and the referrer",
    text: '2026/11/25 12:44:43 [error] 22040#22040: *3 connect() failed (111: Connection refused) while connecting to upstream, client: 10.1.2.3, server: checkout.example.com, request: "GET /pay?order=1001&access_token=PlantedQueryTok01 HTTP/1.1", upstream: "http://127.0.0.11:18080/pay?order=1001&access_token=PlantedQueryTok01", host: "checkout.example.com", referrer: "https://shop.example.com/cart?sessionid=PlantedReferrerSess01&step=2"',
    secrets: ["PlantedQueryTok01", "PlantedReferrerSess01"],
  },
  {
    kind: "nginx-error",
    what: "premature close, credentials in the referrer URL and an API key in the query",
    text: '2026/11/25 12:44:44 [error] 22040#22040: *7 upstream prematurely closed connection while reading response header from upstream, client: 10.1.2.4, server: checkout.example.com, request: "POST /v1/charge?api_key=PlantedApiKeyQuery01 HTTP/1.1", upstream: "http://127.0.0.12:18080/v1/charge?api_key=PlantedApiKeyQuery01", host: "checkout.example.com", referrer: "https://admin:PlantedRefUrlPw01@intranet.example.com/orders"',
    secrets: ["PlantedApiKeyQuery01", "PlantedRefUrlPw01"],
  },
  {
    kind: "nginx-error",
    what: "reset by peer, Azure SAS signature and a Google key in the request",
    text: '2026/11/25 12:44:45 [error] 22040#22040: *9 recv() failed (104: Connection reset by peer) while reading response header from upstream, client: 10.1.2.5, server: media.example.com, request: "GET /blob/a.png?sv=2021-08-06&se=2026-12-01T00%3A00%3A00Z&sr=b&sp=r&sig=PlantedSasSig01%2Bx%3D HTTP/1.1", upstream: "http://127.0.0.11:18080/maps?key=AIzaSyPLANTEDgoogleKey0000000000000001", host: "media.example.com"',
    secrets: ["PlantedSasSig01%2Bx%3D", "AIzaSyPLANTEDgoogleKey0000000000000001"],
  },
  {
    kind: "nginx-access",
    what: "combined format plus $http_authorization",
    text: `10.1.2.3 - - [25/Nov/2026:12:44:43 +0000] "GET /api/orders?page=2 HTTP/1.1" 502 157 "-" "curl/8.5.0" "Bearer PlantedBearer0123456789"`,
    secrets: ["PlantedBearer0123456789"],
  },
  {
    kind: "nginx-access",
    what: "key=value custom format with Authorization, Cookie and a form-encoded query",
    text: `ts=2026-11-25T12:44:43+00:00 status=502 req="POST /login?next=/cart&password=PlantedAccessPw01 HTTP/1.1" auth="Basic ${BASIC}" cookie="theme=dark; JSESSIONID=PlantedCookieSess01; _ga=GA1.2.3" rt=0.002 ua="127.0.0.11:18080" us="502"`,
    secrets: ["PlantedAccessPw01", BASIC, "PlantedCookieSess01"],
  },
  {
    kind: "nginx-access",
    what: "a JWT in the path and a Stripe restricted key in the referrer",
    text: `10.1.2.6 - - [25/Nov/2026:12:44:46 +0000] "GET /download/${JWT} HTTP/1.1" 502 157 "https://dash.example.com/keys?rk=rk_live_PLANTEDrestricted0001" "Mozilla/5.0"`,
    secrets: [JWT_SIG, JWT_PAYLOAD, "rk_live_PLANTEDrestricted0001"],
  },
  {
    kind: "app",
    what: "form body logged at the start of a line (no leading ? or &)",
    text: "password=PlantedFormPw01&username=alice&remember=1",
    secrets: ["PlantedFormPw01"],
  },
  {
    kind: "app",
    what: "a passphrase of several words after `password:`, then the next field",
    text: "2026-11-25T12:44:45Z ERROR db: connect failed, password: planted horse battery staple01 user: checkout host: 10.0.0.9:5432",
    secrets: ["planted horse battery staple01"],
  },
  {
    kind: "dump",
    what: "an INI setting whose passphrase holds spaces (`key = value`)",
    text: "[database]\ndb_password = planted correct horse ini02\nport = 5432",
    secrets: ["planted correct horse ini02"],
  },
  {
    kind: "app",
    what: "Node stack with credentials in a database URL",
    text: [
      "Error: connect ECONNREFUSED postgres://checkout:PlantedDbUrlPw01@10.0.0.9:5432/orders",
      "    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)",
      "    at Pool.connect (/srv/checkout/node_modules/pg-pool/index.js:45:11)",
    ].join("\n"),
    secrets: ["PlantedDbUrlPw01"],
  },
  {
    kind: "app",
    what: "Python traceback quoting a Stripe secret key",
    text: [
      "Traceback (most recent call last):",
      '  File "/srv/pay/app.py", line 42, in charge',
      "    stripe.Charge.create(amount=1000)",
      "stripe.error.AuthenticationError: Invalid API Key provided: sk_live_PLANTEDstripeSecret0001",
    ].join("\n"),
    secrets: ["sk_live_PLANTEDstripeSecret0001"],
  },
  {
    kind: "app",
    what: "Java exception naming an AWS access key id and a secret key setting",
    text: [
      "com.amazonaws.services.s3.model.AmazonS3Exception: The AWS Access Key Id you provided does not exist in our records. (Service: Amazon S3; Status Code: 403; Error Code: InvalidAccessKeyId), key AKIAPLANTEDCORPUS001 with aws_secret_access_key=PlantedAwsSecretKey/0000000000000000000001",
      "\tat com.amazonaws.http.AmazonHttpClient.execute(AmazonHttpClient.java:1234)",
    ].join("\n"),
    secrets: ["AKIAPLANTEDCORPUS001", "PlantedAwsSecretKey/0000000000000000000001"],
  },
  {
    kind: "app",
    what: "Go panic with a Slack bot token and an incoming-webhook URL",
    text: [
      "panic: slack: invalid_auth for token xoxb-123456789012-PLANTEDslackBot01 posting to https://hooks.slack.com/services/T0PLANTED/B0PLANTED/PlantedWebhookSecret01",
      "",
      "goroutine 1 [running]:",
      "main.notify(...)",
      "\t/src/notify/main.go:42 +0x1d",
    ].join("\n"),
    secrets: ["xoxb-123456789012-PLANTEDslackBot01", "T0PLANTED/B0PLANTED/PlantedWebhookSecret01"],
  },
  {
    kind: "app",
    what: "an Android-style warning quoting a bare Google API key",
    text: "11-25 12:44:43.192  4242  4300 W GooglePlayServicesUtil: API key AIzaSyPLANTEDbareGoogleKey000000000002 is not authorized for this app",
    secrets: ["AIzaSyPLANTEDbareGoogleKey000000000002"],
  },
  {
    kind: "app",
    what: "Go log.Fatal dumping its config as JSON",
    text: '2026/11/25 12:44:43 config: {"db":{"host":"10.0.0.9","password":"PlantedJsonPw01"},"token":"PlantedJsonTok01","api_key":"PlantedJsonApiKey01","client_secret":"PlantedJsonClientSecret01"}',
    secrets: ["PlantedJsonPw01", "PlantedJsonTok01", "PlantedJsonApiKey01", "PlantedJsonClientSecret01"],
  },
  {
    kind: "journal",
    what: "service start with AWS credentials in its environment",
    text: "Nov 25 12:44:43 vm checkout[22017]: starting with AWS_ACCESS_KEY_ID=AKIAPLANTEDCORPUS002 AWS_SECRET_ACCESS_KEY=PlantedAwsEnvSecret/00000000000000000000002",
    secrets: ["AKIAPLANTEDCORPUS002", "PlantedAwsEnvSecret/00000000000000000000002"],
  },
  {
    kind: "journal",
    what: "sudo logging a curl with an Authorization header",
    text: 'Nov 25 12:44:43 vm sudo[4242]:   deploy : TTY=pts/0 ; PWD=/home/deploy ; USER=root ; COMMAND=/usr/bin/curl -H "Authorization: Bearer PlantedSudoBearer01" https://api.example.com/v1/deploy',
    secrets: ["PlantedSudoBearer01"],
  },
  {
    kind: "journal",
    what: "a JSON log line through journald with headers",
    text: `Nov 25 12:44:43 vm checkout[22017]: {"level":"error","msg":"upstream auth failed","headers":{"Authorization":"Basic ${JSON_BASIC}","Cookie":"sid=PlantedJsonCookieSid01"}}`,
    secrets: [JSON_BASIC, "PlantedJsonCookieSid01"],
  },
  {
    kind: "journal",
    what: "Azure storage and Service Bus connection strings in a failed start",
    text: "Nov 25 12:44:43 vm worker[3101]: fatal: DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=PlantedAzureAccountKey01+abc==;EndpointSuffix=core.windows.net and Endpoint=sb://acme.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=PlantedAzureSasKey02=",
    secrets: ["PlantedAzureAccountKey01+abc==", "PlantedAzureSasKey02="],
  },
  {
    kind: "kernel",
    what: "the kernel command line with a token",
    text: "[    0.000000] Kernel command line: BOOT_IMAGE=/boot/vmlinuz-6.1.0-18-amd64 root=UUID=1c2d ro quiet vault.token=PlantedKernelVaultTok01",
    secrets: ["PlantedKernelVaultTok01"],
  },
  {
    kind: "kernel",
    what: "an OOM kill next to a process whose arguments are logged by audit",
    text: `[12345.678901] audit: type=1400 audit(1764074683.123:99): apparmor="DENIED" operation="exec" profile="checkout" name="/usr/bin/curl" comm="sh" requested_mask="x" cmdline="curl -u admin:x https://ops:PlantedAuditUrlPw01@ops.example.com/"`,
    secrets: ["PlantedAuditUrlPw01"],
  },
  {
    kind: "ps",
    what: "ps args: --password=, --token=, --secret=",
    text: "22043 Wed Nov 25 12:44:43 2026       0 /usr/bin/node /srv/checkout/app.js --port 18080 --password=PlantedPsPw01 --token=PlantedPsTok01 --secret=PlantedPsSecret01",
    secrets: ["PlantedPsPw01", "PlantedPsTok01", "PlantedPsSecret01"],
  },
  {
    kind: "ps",
    what: "ps args: a database URL and a Stripe key in --env",
    text: "22044 Wed Nov 25 12:44:43 2026       0 /usr/local/bin/gunicorn app:app --env DATABASE_URL=postgres://app:PlantedPsDbPw01@db/app --env STRIPE_KEY=sk_live_PLANTEDstripeEnv0002",
    secrets: ["PlantedPsDbPw01", "sk_live_PLANTEDstripeEnv0002"],
  },
  {
    kind: "json",
    what: "a JSON log with every secret field name",
    text: '{"time":"2026-11-25T12:44:43Z","level":"error","msg":"login failed","password":"PlantedJsonPw02","token":"PlantedJsonTok02","secret":"PlantedJsonSecret02","api_key":"PlantedJsonApiKey02","client_secret":"PlantedJsonClientSecret02","authorization":"Bearer PlantedJsonBearer02"}',
    secrets: [
      "PlantedJsonPw02",
      "PlantedJsonTok02",
      "PlantedJsonSecret02",
      "PlantedJsonApiKey02",
      "PlantedJsonClientSecret02",
      "PlantedJsonBearer02",
    ],
  },
  {
    kind: "json",
    what: "docker's json-file log: a JSON line inside a JSON string",
    text: '{"log":"{\\"password\\":\\"PlantedEscapedPw01\\",\\"msg\\":\\"retry\\"}\\n","stream":"stderr","time":"2026-11-25T12:44:43.192Z"}',
    secrets: ["PlantedEscapedPw01"],
  },
  {
    kind: "dump",
    what: "curl -v headers: Set-Cookie and Proxy-Authorization",
    text: [
      `> Proxy-Authorization: Basic ${PROXY_BASIC}`,
      "< HTTP/1.1 502 Bad Gateway",
      "< Set-Cookie: session=PlantedSetCookie01; Path=/; HttpOnly",
    ].join("\n"),
    secrets: [PROXY_BASIC, "PlantedSetCookie01"],
  },
  {
    kind: "dump",
    what: "git over HTTPS with a GitHub token, and a personal token",
    text: "fatal: unable to access 'https://x-access-token:ghs_PLANTEDgithubInstall0000000001@github.com/acme/app.git/': The requested URL returned error: 403 (token ghp_PLANTEDgithubPat00000000000000001)",
    secrets: ["ghs_PLANTEDgithubInstall0000000001", "ghp_PLANTEDgithubPat00000000000000001"],
  },
  {
    kind: "dump",
    what: "Slack user, app-level and refresh tokens",
    text: "slack: rotated xoxp-2222222222-PLANTEDuserSlk0001 xapp-1-A0PLANTED-1234567890-plantedappsecret01 xoxe.xoxp-1-PLANTEDrefresh0001",
    secrets: ["PLANTEDuserSlk0001", "plantedappsecret01", "PLANTEDrefresh0001"],
  },
  {
    kind: "dump",
    what: "a private key block printed by a config dump",
    text: ["-----BEGIN PRIVATE KEY-----", ...PEM_BODY, "-----END PRIVATE KEY-----"].join("\n"),
    secrets: PEM_BODY,
  },
  {
    kind: "dump",
    what: "a shape only the config's redact.patterns knows",
    text: "ticket 4711 signed with ACME-SIGN-0A1B2C3D4E5F by the release bot",
    secrets: ["ACME-SIGN-0A1B2C3D4E5F"],
  },
];

/** Every planted value of the corpus. */
export const PLANTED: readonly string[] = CORPUS.flatMap((c) => c.secrets);

/** The 12-character pieces of `secret` that no other planted value holds (the whole value when none). */
function pieces(secret: string, all: readonly string[]): string[] {
  const width = Math.min(12, secret.length);
  const out: string[] = [];
  for (let i = 0; i + width <= secret.length; i++) {
    const p = secret.slice(i, i + width);
    if (!all.some((o) => o !== secret && o.includes(p))) out.push(p);
  }
  return out.length ? out : [secret];
}

/**
 * Planted values found in `output`, whole or by any 12 characters of theirs that no other planted value
 * holds: a secret that survives half-masked, or escaped in places, is found too.
 */
export function leaks(output: string, secrets: readonly string[] = PLANTED): string[] {
  return secrets.filter((s) => pieces(s, secrets).some((p) => output.includes(p)));
}
