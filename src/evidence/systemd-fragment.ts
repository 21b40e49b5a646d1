import type { FragmentReader } from "./fragment.js";
import { parseText } from "./run.js";
import { type SystemdRecord, systemdParser } from "./systemd.js";
import type { ParseContext } from "./types.js";
import { unwrapRuntime } from "./wrappers.js";

/**
 * systemd's lines as people paste them: behind a container runtime's prefix, cut before the unit name or
 * inside the journal prefix (read from the wording on: `Main process exited, ...`, `Failed with result
 * '...'`), or wrapped (the layer joins the lines). A wording cut before its values says nothing here.
 */

/** Journal wordings, for a fragment that starts inside the line. */
const WORDINGS = [
  "Main process exited",
  "main process exited",
  "Control process exited",
  "Failed with result '",
  "A process of this unit has been killed by the OOM killer",
  "Scheduled restart job",
  "Start request repeated too quickly",
  "Service hold-off time over",
  "hold-off time over",
  "holdoff time over",
];
const UNIT_BEFORE = /((?:[\w:@.-]|\\x[0-9a-fA-F]{2})+\.service):? $/;

/** The wording inside a fragment, with the unit name in front when the fragment still has it whole. */
export function fromWording(line: string): string | undefined {
  let at = -1;
  for (const w of WORDINGS) {
    const i = line.indexOf(w);
    if (i > 0 && (at < 0 || i < at)) at = i;
  }
  if (at < 0) return undefined;
  const unit = UNIT_BEFORE.exec(line.slice(0, at))?.[1];
  return `${unit === undefined ? "" : `${unit}: `}${line.slice(at)}`;
}

function one(text: string, ctx: ParseContext): SystemdRecord | undefined {
  return parseText(systemdParser, text, ctx).records[0];
}

const size = (r: SystemdRecord) => Object.values(r).filter((v) => v !== undefined).length;

function read(text: string, lineNo: number, ctx: ParseContext): SystemdRecord | undefined {
  const trimmed = text.trim();
  const inner = unwrapRuntime(trimmed).inner.trim();
  const tries = [trimmed, inner, fromWording(inner), fromWording(trimmed)];
  let best: SystemdRecord | undefined;
  for (const t of new Set(tries)) {
    if (t === undefined || t === "") continue;
    const r = one(t, ctx);
    if (r?.entry === "journal" && r.cause !== undefined && (!best || size(r) > size(best))) best = r;
  }
  return best && { ...best, line: lineNo, text };
}

export const systemdFragments: FragmentReader<SystemdRecord> = {
  strong: (r) => r.cause !== undefined,
  complete: (r) => r.cause !== undefined && unwrapRuntime(r.text.trim()).inner === r.text.trim(),
  read,
  // A journal prefix, a wording, a unit name, `code=`/`status=` or a property starts a line of its own;
  // `process exited, code=...` is the rest of one.
  startsRecord: (text, ctx) => {
    const t = text.trim();
    const r = one(t, ctx);
    if (r === undefined) return false;
    return (
      r.entry === "show" ||
      r.identifier !== undefined ||
      r.event !== "other" ||
      /^(?:code|status)=[^)]*$|^(?:[\w:@.-]|\\x[0-9a-fA-F]{2})+\.service:? /.test(t)
    );
  },
};
