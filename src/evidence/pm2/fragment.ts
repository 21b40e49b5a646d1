import type { FragmentReader } from "../fragment.js";
import { parseText } from "../run.js";
import type { ParseContext } from "../types.js";
import { unwrapRuntime } from "../wrappers.js";
import { type Pm2Record, pm2Parser } from "./pm2.js";

/**
 * PM2's daemon log as people paste it: cut before or inside the stamp (`PM2 log: App [checkout:0] online`,
 * or just the message), behind a runtime's prefix, indented, or wrapped. A fragment without its stamp is
 * read with a made-up one that is never reported as its time.
 */

const SYNTHETIC = "2000-01-01T00:00:00";
const TAG = /PM2 (log|error): /;
const MESSAGE = /(?:App \[.+:\d+\] |Script .+ had too many unstable restarts|Stopping app:)/;

/** The give-up cut after its count: the rest is fixed words. */
const GAVE_UP = /^(.*Script .+ had too many unstable restarts \(\d+\))(?!\. Stopped\. "errored"$)/;

function one(text: string, ctx: ParseContext): Pm2Record | undefined {
  const found = parseText(pm2Parser, text, ctx).records.find((r) => r.cause !== undefined);
  const cut = found ? undefined : GAVE_UP.exec(text)?.[1];
  return found ?? (cut === undefined ? undefined : one(`${cut}. Stopped. "errored"`, ctx));
}

function read(text: string, lineNo: number, ctx: ParseContext): Pm2Record | undefined {
  const inner = unwrapRuntime(text.trim()).inner.trim();
  const whole = one(inner, ctx);
  if (whole) return { ...whole, line: lineNo, text };
  const m = MESSAGE.exec(inner);
  if (!m) return undefined;
  const level = TAG.exec(inner.slice(0, m.index))?.[1] ?? "log";
  const r = one(`${SYNTHETIC}: PM2 ${level}: ${inner.slice(m.index)}`, ctx);
  if (!r) return undefined;
  const out: Pm2Record = { ...r, line: lineNo, text };
  delete out.time;
  return out;
}

export const pm2Fragments: FragmentReader<Pm2Record> = {
  strong: (r) => r.cause !== undefined,
  complete: (r) => r.cause !== undefined && unwrapRuntime(r.text).inner === r.text,
  read,
  startsRecord: (text, ctx) => parseText(pm2Parser, unwrapRuntime(text.trim()).inner, ctx).records.length > 0,
};
