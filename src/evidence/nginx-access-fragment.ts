import type { FragmentReader } from "./fragment.js";
import { matchLogFormat, matchLogFormatPart } from "./log-format.js";
import { buildRecord, formatOf, type NginxAccessRecord } from "./nginx-access.js";
import { unwrap, unwrapPasted } from "./wrappers.js";

/**
 * Access-log lines cut at either end, behind a runtime's prefix, indented or wrapped: read with the part
 * of the line's log_format that the fragment holds whole (from one literal to another), which must hold
 * `$status`. Variables outside that part are absent, `time` with them when `$time_local` was cut off.
 */
export const nginxAccessFragments: FragmentReader<NginxAccessRecord> = {
  strong: (r) => r.status !== undefined,
  read: (text, lineNo, ctx) => {
    const compiled = formatOf(ctx);
    if ("error" in compiled) return undefined;
    // Spaces at either end may be the format's own (the literal around a value) or a paste's: the line is
    // tried as it is, then trimmed.
    const left = unwrapPasted(text).inner.trimStart();
    const tries = [...new Set([unwrap(text).inner, left, left.trimEnd()])];
    let vars = matchLogFormat(compiled, left.trimEnd());
    for (const t of vars ? [] : tries) {
      const part = matchLogFormatPart(compiled, t, "status");
      if (part && Object.keys(part).length > Object.keys(vars ?? {}).length) vars = part;
    }
    if (!vars) return undefined;
    return buildRecord({ host: ctx.host, source: ctx.source, line: lineNo, text }, vars, compiled.escape);
  },
  startsRecord: (text, ctx) => {
    const compiled = formatOf(ctx);
    if ("error" in compiled) return false;
    return (
      matchLogFormat(compiled, text) !== undefined ||
      matchLogFormat(compiled, unwrap(text).inner) !== undefined
    );
  },
};
