import type { FragmentReader } from "./fragment.js";
import {
  type Carried,
  type Facts,
  type KernelRecord,
  kernelRecord,
  readKernelCarrier,
  readKernelMessage,
} from "./kernel.js";
import type { ParseContext } from "./types.js";
import { unwrapRuntime } from "./wrappers.js";

/**
 * Kernel lines as people paste them: behind a container runtime's prefix or indented (the carrier, and
 * with it the time, still read: raw dmesg, `dmesg -T`, iso, journald, syslog), cut inside the carrier
 * (the message found by its first words), or cut at the end (the kill without its memory figures, a
 * segfault without its registers: kernel.ts reads those).
 */

/** Docker and the CRI runtimes stamp in UTC (`Z`); journald's and dmesg's iso stamps carry an offset. */
const RUNTIME_STAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z(?: |$)/;

/** Where a known kernel message starts, for a fragment cut inside its carrier. */
const MESSAGE_STARTS = [
  "Out of memory: ",
  "Memory cgroup out of memory: ",
  "Killed process ",
  "Kill process ",
  "oom-kill:constraint=",
  "oom_reaper: reaped process ",
  "Task in ",
];
/** Messages that start with the task's comm: it runs back to the end of the carrier (`] `, `: `). */
const COMM_ANCHORS = [/\[\d+\]: segfault at/, / invoked oom-killer:/, /\[\d+\] general protection fault/];

/** The message inside a text whose carrier (if any) is cut: from the first known words on. */
function messageIn(text: string): string | undefined {
  let first = -1;
  for (const start of MESSAGE_STARTS) {
    const at = text.indexOf(start);
    if (at >= 0 && (first < 0 || at < first)) first = at;
  }
  if (first >= 0) return text.slice(first);
  for (const re of COMM_ANCHORS) {
    const m = re.exec(text);
    if (!m) continue;
    const before = text.slice(0, m.index);
    const boundary = Math.max(before.lastIndexOf("] "), before.lastIndexOf(": "));
    return text.slice(boundary < 0 ? 0 : boundary + 2);
  }
  return undefined;
}

function read(text: string, lineNo: number, ctx: ParseContext): KernelRecord | undefined {
  const trimmed = text.trim();
  const runtime = unwrapRuntime(trimmed);
  const inner = runtime.inner.trim();
  // A carrier the fragment kept is the line's own; one behind a runtime's prefix comes first.
  const tries = inner === trimmed ? [trimmed] : [inner, trimmed];
  let found: { carried: Carried; facts: Facts } | undefined;
  for (const t of tries) {
    const carried = readKernelCarrier(t, ctx);
    const facts = carried ? readKernelMessage(carried.message) : undefined;
    if (carried && facts) {
      found = { carried, facts };
      break;
    }
  }
  for (const t of found ? [] : tries) {
    const carried = readKernelCarrier(t, ctx);
    const message = (carried && messageIn(carried.message)) ?? messageIn(t);
    const facts = message === undefined ? undefined : readKernelMessage(message);
    if (message !== undefined && facts) {
      // The carrier read was cut (or a runtime's): its time is the runtime's, if any.
      found = { carried: { message, time: runtime.wrapperTime }, facts };
      break;
    }
  }
  return found && kernelRecord(ctx, lineNo, text, found.carried, found.facts);
}

export const kernelFragments: FragmentReader<KernelRecord> = {
  strong: (r) => r.event !== "other",
  // A line behind a runtime's prefix, or one whose carrier the parser did not find (a comm running back
  // into a cut `[...]` stamp), is read again.
  complete: (r) =>
    r.event !== "other" &&
    unwrapRuntime(r.text).inner === r.text &&
    !/^\s/.test(r.text) &&
    (r.time !== undefined || !/\]\s|\d\d:\d\d:\d\d/.test(r.text)),
  // What a line says outright; the comm at the start of a message may have been cut, or wrapped.
  fields: [
    "pid",
    "uid",
    "score",
    "gfpMask",
    "order",
    "oomScoreAdj",
    "totalVmKb",
    "anonRssKb",
    "fileRssKb",
    "shmemRssKb",
    "pgtablesKb",
    "faultAddr",
    "ip",
    "sp",
    "errorCode",
    "object",
    "cpu",
    "memcg",
    "oomMemcg",
  ],
  read,
  // A carrier starts a line; behind a runtime's UTC stamp (docker, CRI), the carrier after it does.
  startsRecord: (text, ctx) => {
    const t = text.trim();
    const inner = unwrapRuntime(t).inner;
    if (readKernelCarrier(inner, ctx) !== undefined) return true;
    return !RUNTIME_STAMP.test(t) && readKernelCarrier(t, ctx) !== undefined;
  },
};
