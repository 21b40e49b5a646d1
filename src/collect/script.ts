import { AWK_AGGREGATE, SH_AGGREGATE } from "./aggregate.sh.js";
import { type AggregateFields, fieldsArgument } from "./aggregate-fields.js";
import { AWK_BOUNDARY, AWK_DATED, AWK_KEEP, AWK_PROBE, SH_LOG, SH_LOG_INIT } from "./log-window.sh.js";
import { shQuote } from "./shell-quote.js";
import { AWK_COUNT, AWK_DMESG, AWK_TIME, SH_CLOCK, SH_CORE, SH_DMESG, SH_PRELUDE } from "./window.sh.js";

/** One section of a host's collection script. Every section is read-only. */
export type SectionSpec =
  /** `shell` is a snippet the caller built from quoted arguments; it runs under `sh -c`. */
  | { id: string; type: "command"; shell: string; maxBytes: number; timeoutSeconds: number }
  /** The lines of a time-ordered log from the window start to its end (and rotated files before it). */
  | { id: string; type: "log-window"; path: string; maxBytes: number; rotated: boolean }
  /** A dmesg command printing raw `[uptime]` stamps; only lines at or after the window start are kept. */
  | { id: string; type: "dmesg-window"; shell: string; maxBytes: number; timeoutSeconds: number }
  /** Host clock: epoch ms, `date +%z`, `date +%Z`, /proc/uptime, zone name. */
  | { id: string; type: "clock" }
  /**
   * Counts of a time-ordered access log's lines (and its rotated files', found as log-window finds them) per
   * UTC minute, status and upstream over [since, until], epoch seconds in the collector's clock; made on the
   * host by aggregate.sh.ts, which sends only the counts.
   */
  | {
      id: string;
      type: "log-aggregate";
      path: string;
      fields: AggregateFields;
      sinceEpochSeconds: number;
      untilEpochSeconds: number;
      maxKeys: number;
      maxBytes: number;
      timeoutSeconds: number;
    };

export interface ScriptOptions {
  /** Window start, epoch seconds, in the collector's clock. */
  sinceEpochSeconds: number;
  /**
   * The collector's clock when it sends the script, epoch seconds. With it, a host whose clock is more than
   * a second or two off takes the window start in its own clock (see HOST_WINDOW).
   */
  collectorEpochSeconds?: number;
  /** Random per run ([A-Za-z0-9], 16 to 64 characters): host output cannot fake a marker without it. */
  nonce: string;
}

/**
 * The window start in the host's own clock: a host whose clock is ahead of the collector's by N seconds
 * stamped the window's first lines N seconds later. The offset read here is the skew plus the time the
 * script took to arrive, give or take a second of rounding, so offsets of -1..2 s are left alone and larger
 * ones start 2 s early; reading a little more is harmless (the diagnosis keeps only the window). Every
 * windowed section (log windows, dmesg, `journalctl --since "@$W_SINCE"`) reads from this W_SINCE. W_SHIFT
 * keeps the offset applied, for sections that move the host's stamps onto the collector's clock (aggregate).
 */
const HOST_WINDOW = [
  "w_h=$(date +%s 2>/dev/null)",
  "case $w_h in",
  "  ''|*[!0-9]*) ;;",
  '  *) W_SKEW=$((w_h - W_REF)); if [ "$W_SKEW" -lt -1 ] || [ "$W_SKEW" -gt 2 ]; then W_SINCE=$((W_SINCE + W_SKEW - 2)) W_SHIFT=$W_SKEW; fi ;;',
  "esac",
].join("\n");

const ID = /^[a-z0-9._-]+$/;
const NONCE = /^[A-Za-z0-9]{16,64}$/;
/** Bytes of stdout a clock section may print. */
export const CLOCK_MAX_BYTES = 4096;

/**
 * Builds the one POSIX `sh` script that collects a host's sections over a single SSH session
 * (`sh -s`, script on stdin). Only the caller's specs become commands; everything else is the fixed
 * text of window.sh.ts. Sections run one after another; none can stop the script (`set +e`), each is
 * byte-capped and framed on both stdout and stderr:
 *
 *     @@why502:<nonce> begin <id>
 *     <output>
 *     @@why502:<nonce> end <id> rc=<rc|-> bytes=<n> truncated=<0|1> ms=<ms|->[ timeout=<s|none>][ probed=<n>]
 *     ...
 *     @@why502:<nonce> done
 *
 * `timeout=` is set for commands: the seconds given to timeout(1), or `none` when the host has no
 * timeout(1) that takes `-k`. `probed=` and `parts=` are set for log windows (log-window.sh.ts). The newline just
 * before an end marker is always the marker's own, so splitSections() gets the output back as the
 * host sent it; stdout passes through awk, which ends an unterminated last line with a newline
 * (counted in `bytes`). The nonce is only ever printed by the shell's builtin printf, never passed to
 * a program, so it does not show in `ps`.
 *
 * Throws on an invalid spec (bad id, duplicate id, relative path, non-positive limit): the specs come
 * from the plan, and a bad one is a programming error.
 */
export function buildScript(sections: SectionSpec[], opts: ScriptOptions): string {
  if (!NONCE.test(opts.nonce)) throw new Error("buildScript: nonce must be 16-64 letters or digits");
  if (!Number.isSafeInteger(opts.sinceEpochSeconds) || opts.sinceEpochSeconds < 0)
    throw new Error("buildScript: sinceEpochSeconds must be a non-negative integer");
  const ref = opts.collectorEpochSeconds;
  if (ref !== undefined && (!Number.isSafeInteger(ref) || ref < 0))
    throw new Error("buildScript: collectorEpochSeconds must be a non-negative integer");
  const seen = new Set<string>();
  for (const s of sections) {
    if (!ID.test(s.id))
      throw new Error(`buildScript: section id ${JSON.stringify(s.id)} is not [a-z0-9._-]+`);
    if (seen.has(s.id)) throw new Error(`buildScript: duplicate section id ${s.id}`);
    seen.add(s.id);
    validate(s);
  }
  const types = new Set(sections.map((s) => s.type));
  const lines = [
    SH_PRELUDE.trim(),
    `W_N=${opts.nonce}`,
    `W_SINCE=${opts.sinceEpochSeconds}`,
    "W_SHIFT=0",
    ...(ref === undefined ? [] : [`W_REF=${ref}`, HOST_WINDOW]),
    "export W_SINCE",
    constant("W_COUNT", AWK_COUNT),
    "W_TO=",
  ];
  if (types.has("command") || types.has("dmesg-window") || types.has("log-aggregate"))
    lines.push("timeout -k 1 5 true >/dev/null 2>&1 && W_TO=1");
  lines.push(SH_CORE.trim());
  if (types.has("clock")) lines.push(SH_CLOCK.trim());
  if (types.has("dmesg-window")) lines.push(constant("W_DMESG", AWK_DMESG), SH_DMESG.trim());
  if (types.has("log-window") || types.has("log-aggregate")) {
    lines.push(
      constant("W_TIME", AWK_TIME),
      constant("W_PROBE", AWK_PROBE),
      constant("W_BOUNDARY", AWK_BOUNDARY),
      constant("W_KEEP", AWK_KEEP),
      constant("W_DATED", AWK_DATED),
      SH_LOG.trim(),
      SH_LOG_INIT.trim(),
    );
  }
  if (types.has("log-aggregate")) lines.push(constant("W_AGG", AWK_AGGREGATE), SH_AGGREGATE.trim());
  for (const s of sections) lines.push(sectionLine(s));
  lines.push(`printf '@@why502:%s done\\n' "$W_N"`, `printf '@@why502:%s done\\n' "$W_N" >&5`);
  return `${lines.join("\n")}\n`;
}

/** A fixed awk program as a shell variable; single-quoted over several lines (it holds no quote). */
function constant(name: string, text: string): string {
  if (text.includes("'")) throw new Error(`buildScript: ${name} contains a single quote`);
  return `${name}='${text.trim()}'`;
}

function sectionLine(s: SectionSpec): string {
  switch (s.type) {
    case "command":
      return `w_sec ${s.id} ${s.maxBytes} ${s.timeoutSeconds} w_cmd ${s.timeoutSeconds} ${shQuote(s.shell)}`;
    case "log-window":
      return `w_sec ${s.id} ${s.maxBytes} - w_logwin ${shQuote(s.path)} ${s.maxBytes} ${s.rotated ? 1 : 0}`;
    case "dmesg-window":
      return `w_sec ${s.id} ${s.maxBytes} ${s.timeoutSeconds} w_dmesg ${s.timeoutSeconds} ${s.maxBytes} ${shQuote(s.shell)}`;
    case "clock":
      return `w_sec ${s.id} ${CLOCK_MAX_BYTES} - w_clock`;
    case "log-aggregate":
      return `w_sec ${s.id} ${s.maxBytes} ${s.timeoutSeconds} w_agg ${shQuote(s.path)} ${s.sinceEpochSeconds} ${s.untilEpochSeconds} ${s.timeoutSeconds} ${s.maxKeys} ${shQuote(fieldsArgument(s.fields))}`;
  }
}

function validate(s: SectionSpec): void {
  if (s.type === "clock") return;
  if (!Number.isSafeInteger(s.maxBytes) || s.maxBytes < 1)
    throw new Error(`buildScript: section ${s.id}: maxBytes must be a positive integer`);
  if (s.type === "log-window" || s.type === "log-aggregate") {
    if (!s.path.startsWith("/")) throw new Error(`buildScript: section ${s.id}: log path must be absolute`);
    shQuote(s.path);
  }
  if (s.type === "log-window") return;
  if (s.type === "log-aggregate") {
    const ints = [s.sinceEpochSeconds, s.untilEpochSeconds, s.maxKeys];
    if (!ints.every((n) => Number.isSafeInteger(n) && n >= 0) || s.maxKeys < 1)
      throw new Error(`buildScript: section ${s.id}: window and key cap must be non-negative integers`);
    if (s.untilEpochSeconds < s.sinceEpochSeconds)
      throw new Error(`buildScript: section ${s.id}: the window ends before it starts`);
    fieldsArgument(s.fields);
  }
  if (!Number.isSafeInteger(s.timeoutSeconds) || s.timeoutSeconds < 1)
    throw new Error(`buildScript: section ${s.id}: timeoutSeconds must be a positive integer`);
  if (s.type === "log-aggregate") return;
  if (s.shell.trim() === "") throw new Error(`buildScript: section ${s.id}: empty shell snippet`);
  shQuote(s.shell);
}
