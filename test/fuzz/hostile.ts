import fc from "fast-check";

/**
 * Pieces of text an attacker in Slack or behind a webhook would try: shell syntax, path traversal, Slack
 * markup, unicode look-alikes and invisible characters, control bytes. Joined at random into words.
 */
export const SHELL = [
  ";",
  "; reboot",
  "$(reboot)",
  "$(touch /tmp/pwned)",
  "`id`",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter syntax, on purpose
  "${IFS}",
  "'",
  '"',
  "\\",
  "|",
  "| sh",
  "&&",
  "||",
  "&",
  ">",
  "< /etc/shadow",
  "\n",
  "\r\n",
  "\0",
  "#",
  "*",
  "~",
  "-oProxyCommand=sh",
  "--help",
  "'\"'\"'",
];
export const TRAVERSAL = ["../../etc/passwd", "/etc/passwd", "..", "./", "%2e%2e%2f", "..\\..\\windows"];
export const MARKUP = [
  "<!channel>",
  "<!here>",
  "<@U0ADMIN>",
  "<#C0123>",
  "<https://evil.example|click>",
  "```",
  "*",
  "_",
  "~",
];
export const UNICODE = [
  "\u0441", // Cyrillic es, looks like c
  "\u0435", // Cyrillic ie, looks like e
  "\uff43\uff48\uff45\uff43\uff4b\uff4f\uff55\uff54", // fullwidth checkout
  "\u202e", // right-to-left override
  "\u200b", // zero-width space
  "\u200d", // zero-width joiner
  "\ufeff", // byte order mark
  "\u00a0", // no-break space
  "\u2028", // line separator
  "\u009b", // C1 CSI
  "\x1b]0;title\x07",
  "\x1b[31m",
  "\ud800", // lone surrogate
  "\u0130", // I with dot, lowercases to two code units
  "\u212a", // Kelvin sign, lowercases to k
  "é",
  "😀",
];
/** Durations and near-durations: the edges of the window grammar. */
export const WINDOWS = [
  "1m",
  "59s",
  "60s",
  "0m",
  "0.5m",
  "1.5h",
  "7d",
  "7d1ms",
  "168h",
  "10080m",
  "604800s",
  "604800001ms",
  "1e3m",
  "-5m",
  "+5m",
  "5",
  "5 m",
  "5M",
  "1h30m",
  "1h1h1h1h",
  "9".repeat(400),
  `${"9".repeat(320)}m`,
  "0x10m",
  "NaNm",
  "Infinitym",
  "１５ｍ",
  "15m\n",
  "15m;reboot",
  "2026-11-25T12:00:00Z",
  "2026-02-30T00:00:00Z",
  "2026-11-25T12:00:00",
];

/** A few long strings, built once (100 KB each): generating them per run would dominate the run time. */
export const LONG = [
  "x".repeat(100_000),
  `$(${"a".repeat(100_000)})`,
  "\u0441".repeat(50_000),
  "'".repeat(100_000),
];

const piece = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...SHELL, ...TRAVERSAL, ...MARKUP, ...UNICODE, ...WINDOWS) },
  { weight: 2, arbitrary: fc.stringMatching(/^[a-z0-9._-]{1,12}$/) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12, unit: "binary" }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12, unit: "grapheme" }) },
);

/** One hostile word or phrase: pieces joined with nothing, a space or a tab between them. */
export const hostileText = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .array(piece, { minLength: 1, maxLength: 6 })
      .chain((ps) => fc.constantFrom("", " ", "\t").map((sep) => ps.join(sep))),
  },
  { weight: 2, arbitrary: fc.string({ maxLength: 200, unit: "binary" }) },
  { weight: 1, arbitrary: fc.constantFrom(...LONG) },
);

/** A service name as someone might type it: a known one, perturbed (case, look-alikes, suffixes), or anything. */
export function serviceName(known: string[]): fc.Arbitrary<string> {
  const k = fc.constantFrom(...known);
  return fc.oneof(
    { weight: 2, arbitrary: k },
    { weight: 2, arbitrary: k.map((s) => s.toUpperCase()) },
    {
      weight: 4,
      arbitrary: fc
        .tuple(k, fc.constantFrom(...SHELL, ...TRAVERSAL, ...UNICODE, ...MARKUP), fc.boolean())
        .map(([s, p, before]) => (before ? `${p}${s}` : `${s}${p}`)),
    },
    { weight: 1, arbitrary: k.map((s) => s.replace(/c/g, "\u0441").replace(/e/g, "\u0435")) },
    {
      weight: 1,
      arbitrary: fc.constantFrom("__proto__", "constructor", "toString", "hasOwnProperty", "*", ""),
    },
    { weight: 3, arbitrary: hostileText },
  );
}

/** A window as someone might type it: an edge of the grammar, a valid one, or hostile text. */
export const windowText = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...WINDOWS) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.integer({ min: 0, max: 20_000 }), fc.constantFrom("ms", "s", "m", "h", "d"))
      .map(([n, u]) => `${n}${u}`),
  },
  { weight: 2, arbitrary: hostileText },
);

/** The most a reply may be: one Slack section, and far less than what could be echoed. */
export const MAX_REPLY = 3000;
