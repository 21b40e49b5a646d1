import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { maskSecrets } from "../../src/diagnosis/mask.js";
import { fuzzSettings } from "../support/fuzz.js";

/**
 * Random text around one planted secret of each shape never lets the secret through: not whole, and not by
 * any 12 characters of it. The text around is any string (printable ASCII or any code point) after and
 * before a character that ends a token in logs (space, newline, a quote, a bracket, punctuation).
 */

const chars = (alphabet: string, min: number, max: number) =>
  fc.string({ unit: fc.constantFrom(...alphabet), minLength: min, maxLength: max });
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER = "abcdefghijklmnopqrstuvwxyz";
const DIGITS = "0123456789";
const ALNUM = UPPER + LOWER + DIGITS;
const B64 = `${ALNUM}+/`;
const B64URL = `${ALNUM}_-`;

/** A shape: the secret value, and the text it is written in. */
interface Shape {
  value: fc.Arbitrary<string>;
  write: (value: string) => fc.Arbitrary<string>;
}

const key = (...names: string[]) => fc.constantFrom(...names);
const SHAPES: Record<string, Shape> = {
  "query parameter": {
    value: chars(`${ALNUM}._~%-`, 12, 40),
    write: (v) =>
      key("access_token", "token", "api_key", "password", "client_secret", "sig", "key", "sessionid").map(
        (k) => `GET /pay?order=7&${k}=${v}&x=1 HTTP/1.1`,
      ),
  },
  "form body": {
    value: chars(`${ALNUM}._~%*+-`, 12, 40),
    write: (v) =>
      key("password", "passwd", "pwd", "client_secret", "token").map((k) => `${k}=${v}&user=alice`),
  },
  "process argument": {
    value: chars(`${ALNUM}._~%@:!*+,;-`, 12, 40),
    write: (v) =>
      key("password", "token", "secret", "db-password", "api-key").map(
        (k) => `/usr/bin/app --port 80 --${k}=${v}`,
      ),
  },
  "JSON field": {
    value: chars(`${ALNUM} !#$%&()*+,./:;<=>?@[]^_{|}~-`, 12, 40),
    write: (v) =>
      key("password", "token", "secret", "api_key", "client_secret", "apiKey", "refresh_token").map(
        (k) => `{"user":"bob","${k}": "${v}","n":1}`,
      ),
  },
  "environment setting": {
    value: chars(B64, 40, 40),
    write: (v) => key("AWS_SECRET_ACCESS_KEY", "aws_secret_access_key").map((k) => `${k}=${v}`),
  },
  "Authorization header": {
    value: chars(`${B64URL}.~+/`, 16, 60),
    write: (v) => key("Bearer", "Basic", "Token").map((s) => `Authorization: ${s} ${v}`),
  },
  "bearer credential alone": {
    value: fc.tuple(chars(ALNUM, 12, 40), chars(DIGITS, 1, 4)).map(([a, d]) => `${a}${d}`),
    write: (v) => fc.constant(`"Bearer ${v}"`),
  },
  cookie: {
    value: chars(`${ALNUM}%-_`, 12, 40),
    write: (v) => key("Cookie: sid=", "Set-Cookie: session=", "cookie=").map((h) => `${h}${v}; Path=/`),
  },
  "URL credentials": {
    value: chars(`${ALNUM}._~%!$*+,;=-`, 12, 40),
    write: (v) =>
      key("https", "postgres", "redis", "amqp").map((s) => `${s}://app:${v}@db.example.com:5432/x`),
  },
  JWT: {
    value: fc
      .tuple(chars(B64URL, 10, 40), chars(B64URL, 10, 40), chars(B64URL, 10, 60))
      .map(([h, p, s]) => `eyJ${h}.eyJ${p}.${s}`),
    write: (v) => fc.constant(v),
  },
  "AWS access key id": {
    value: fc.tuple(key("AKIA", "ASIA"), chars(UPPER + DIGITS, 16, 16)).map(([p, r]) => `${p}${r}`),
    write: (v) => fc.constant(v),
  },
  "Google API key": { value: chars(B64URL, 35, 35).map((r) => `AIza${r}`), write: (v) => fc.constant(v) },
  "Azure account key": {
    value: chars(B64, 86, 86).map((r) => `${r}==`),
    write: (v) =>
      fc.constant(`DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=${v};EndpointSuffix=x`),
  },
  "Azure SAS signature": {
    value: chars(`${ALNUM}%`, 20, 60),
    write: (v) => fc.constant(`/c/b.png?sv=2021-08-06&sr=b&sp=r&sig=${v}`),
  },
  "Slack token": {
    value: fc
      .tuple(key("xoxb-", "xoxp-", "xapp-1-", "xoxe.xoxp-1-"), chars(`${ALNUM}-`, 12, 50))
      .map(([p, r]) => `${p}${r}`),
    write: (v) => fc.constant(v),
  },
  "Slack webhook URL": {
    value: fc
      .tuple(chars(UPPER + DIGITS, 8, 11), chars(UPPER + DIGITS, 8, 11), chars(ALNUM, 24, 24))
      .map(([t, b, s]) => `T${t}/B${b}/${s}`),
    write: (v) => fc.constant(`https://hooks.slack.com/services/${v}`),
  },
  "Stripe key": {
    value: fc
      .tuple(key("sk_live_", "rk_live_", "sk_test_"), chars(ALNUM, 24, 99))
      .map(([p, r]) => `${p}${r}`),
    write: (v) => fc.constant(v),
  },
  "GitHub token": {
    value: fc
      .tuple(key("ghp_", "gho_", "ghs_", "github_pat_"), chars(ALNUM, 36, 60))
      .map(([p, r]) => `${p}${r}`),
    write: (v) => fc.constant(v),
  },
  "private key block": {
    value: fc.array(chars(B64, 64, 64), { minLength: 1, maxLength: 4 }).map((l) => l.join("\n")),
    write: (v) =>
      key("RSA ", "EC ", "OPENSSH ", "").map(
        (t) => `-----BEGIN ${t}PRIVATE KEY-----\n${v}\n-----END ${t}PRIVATE KEY-----`,
      ),
  },
};

const SEPARATORS = [" ", "\n", "\t", '"', "'", "(", ")", ",", ";", "[", "]", "<", ">", "|", "{", "}"];
const around = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: "binary", maxLength: 40 }));
const sep = fc.constantFrom(...SEPARATORS);

/** Any 12 characters of `secret` (the whole when shorter) found in `text`, or undefined. */
function piece(text: string, secret: string): string | undefined {
  const width = Math.min(12, secret.length);
  for (let i = 0; i + width <= secret.length; i++) {
    const p = secret.slice(i, i + width);
    if (text.includes(p)) return p;
  }
  return undefined;
}

describe("a planted secret of each shape never leaks, whatever text is around it", () => {
  for (const [name, shape] of Object.entries(SHAPES)) {
    it(name, () => {
      const planted = shape.value.chain((value) =>
        fc.tuple(around, sep, shape.write(value), sep, around).map(([before, s1, written, s2, after]) => ({
          value,
          text: `${before}${s1}${written}${s2}${after}`,
        })),
      );
      fc.assert(
        fc.property(planted, ({ value, text }) => {
          const r = maskSecrets(text);
          expect(piece(r.text, value)).toBeUndefined();
          expect(r.count).toBeGreaterThan(0);
          expect(maskSecrets(r.text)).toEqual({ text: r.text, count: 0 });
        }),
        fuzzSettings(150),
      );
    });
  }
});

describe("any text", () => {
  it("is masked without error, and masking it again changes nothing", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: "binary", maxLength: 300 })),
        (text) => {
          const r = maskSecrets(text);
          expect(maskSecrets(r.text)).toEqual({ text: r.text, count: 0 });
        },
      ),
      fuzzSettings(500),
    );
  });
});
