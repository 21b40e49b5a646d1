import { type KernelRecord, kernelParser } from "../evidence/kernel.js";
import { parseText } from "../evidence/run.js";
import type { ParseContext } from "../evidence/types.js";
import { code, kb, WHEN } from "./phrases.js";
import type { Reading } from "./schema.js";

/**
 * Kernel lines (OOM killer, segfaults) with any carrier the kernel parser reads (raw dmesg, `dmesg -T`,
 * `--time-format iso`, `journalctl -k`, syslog) or none, and fragments of them: cut before the message
 * starts, or a kill line cut before its memory figures.
 */

/** A carrier that says "this is the kernel speaking", so an unremarkable message is still a kernel line. */
const KERNEL_CARRIER =
  /^\[ *\d+\.\d+\]|^\[(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} +\d{1,2} [\d:]{8} \d{4}\]|^\d{4}-\d\d-\d\dT[\d:]{8},\d+[+-]\d\d:?\d\d |^(?:\S+ +){1,5}kernel: /;
/** Where a known kernel message starts, for a fragment cut inside its carrier. */
const MESSAGE_STARTS = [
  "Out of memory: ",
  "Memory cgroup out of memory: ",
  "Killed process ",
  "oom-kill:constraint=",
  "oom_reaper: reaped process ",
  "Task in ",
];
/** `comm[pid]: segfault at` and `comm invoked oom-killer:` start with the comm: back up to the carrier's end. */
const COMM_ANCHORS = [/\[\d+\]: segfault at /, / invoked oom-killer: /, /\[\d+\] general protection fault /];
const CUT_KILL = /Killed process \d+ \(.*\)(?: total-vm:\d*(?:k(?:B.*)?)?)?$/;

function parseOne(line: string, ctx: ParseContext): KernelRecord | undefined {
  return parseText(kernelParser, line, ctx).records[0];
}

/** A fragment's message, when one of the known kernel messages is inside it. */
function fragment(line: string): { message: string; cut: boolean } | undefined {
  for (const start of MESSAGE_STARTS) {
    const at = line.indexOf(start);
    if (at > 0) return { message: line.slice(at), cut: false };
  }
  for (const re of COMM_ANCHORS) {
    const m = re.exec(line);
    if (!m) continue;
    const before = line.slice(0, m.index);
    const boundary = Math.max(before.lastIndexOf("] "), before.lastIndexOf(": "));
    return { message: line.slice(boundary < 0 ? 0 : boundary + 2), cut: false };
  }
  return undefined;
}

/** A kill line cut before `anon-rss`: complete it with zeros, and say the figures are missing. */
function completedKill(message: string): string | undefined {
  const m = CUT_KILL.exec(message);
  if (!m) return undefined;
  const head = message.slice(0, m.index) + /^Killed process \d+ \(.*\)/.exec(m[0])?.[0];
  return `${head} total-vm:0kB, anon-rss:0kB, file-rss:0kB`;
}

function known(r: KernelRecord): boolean {
  return r.event !== "other";
}

/** A kill line the kernel parser read without its memory figures: it was cut after the victim's name. */
const cutKill = (r: KernelRecord): boolean => r.event === "oom_kill" && r.totalVmKb === undefined;

export function readKernel(line: string, ctx: ParseContext): Reading | undefined {
  const whole = parseOne(line, ctx);
  if (whole && known(whole)) return kernelMeaning(whole, cutKill(whole));
  const f = fragment(line) ?? (whole ? { message: whole.message, cut: false } : undefined);
  const message = f?.message ?? line;
  let r = f ? parseOne(f.message, ctx) : undefined;
  let cut = false;
  if (!r || !known(r)) {
    const completed = completedKill(message);
    const c = completed === undefined ? undefined : parseOne(completed, ctx);
    if (c && known(c)) {
      r = c;
      cut = true;
    }
  }
  if (r && known(r)) {
    // The carrier (and its time) belongs to the whole line; a cut carrier gave none.
    const reading = kernelMeaning(r, cut || cutKill(r));
    return whole ? { ...reading, time: whole.time } : { ...reading, time: undefined };
  }
  if (whole && KERNEL_CARRIER.test(line)) return kernelMeaning(whole, false);
  return undefined;
}

const who = (r: KernelRecord): string =>
  `${r.comm === undefined ? "a process" : code(r.comm, 60)}${r.pid === undefined ? "" : ` (pid ${r.pid})`}`;

function rss(r: KernelRecord, cut: boolean): string {
  if (cut || r.anonRssKb === undefined) return "";
  const total = r.anonRssKb + (r.fileRssKb ?? 0) + (r.shmemRssKb ?? 0);
  return ` It held ${kb(total)} of RAM.`;
}

function uptime(r: KernelRecord): string {
  return r.time === undefined && r.uptimeSeconds !== undefined
    ? ` (logged ${r.uptimeSeconds.toFixed(1)} s after boot; \`dmesg -T\` shows wall-clock times)`
    : "";
}

function segfaultKind(errorCode: number | undefined): string {
  if (errorCode === undefined) return "a memory access fault";
  const what = errorCode & 16 ? "jumped to" : errorCode & 2 ? "wrote to" : "read";
  const where = errorCode & 1 ? "a protected address" : "an unmapped address (often a NULL pointer)";
  return `${errorCode & 4 ? "user code" : "kernel mode"} ${what} ${where}`;
}

export function kernelMeaning(r: KernelRecord, cut: boolean): Reading {
  const base = { kind: "kernel" as const, cause: r.cause, time: r.time };
  const memcg = r.oomMemcg ?? r.memcg;
  const limit =
    r.constraint === "CONSTRAINT_MEMCG"
      ? `its memory cgroup${memcg === undefined ? "" : ` ${code(memcg)}`} hit its limit`
      : r.message.startsWith("Out of memory") || r.constraint === "CONSTRAINT_NONE"
        ? "the machine ran out of memory"
        : "memory ran out (the line does not say whether a cgroup limit or the whole machine)";
  switch (r.event) {
    case "oom_kill":
      return {
        ...base,
        meaning: `The kernel's OOM killer killed ${who(r)} because ${limit}.${rss(r, cut)}${cut ? " (The line is cut before the memory figures.)" : ""} If it was your backend, its in-flight requests were reset and new connections refused until it came back.`,
        next: `Is pid ${r.pid ?? "PID"} your backend? Its journal should show \`Main process exited, code=killed, status=9/KILL\` ${WHEN}${uptime(r)}, and its start time (\`ps -o lstart\`) should be later. Then find what grows (heap profile, the request that triggers it) or raise the ${r.constraint === "CONSTRAINT_MEMCG" ? "cgroup/container memory limit" : "host's memory"}.`,
      };
    case "oom_select":
      return {
        ...base,
        meaning: `The kernel chose ${who(r)} as the victim of an OOM kill (badness score ${r.score ?? "?"}). On these old kernels it may kill a child instead: the next \`Killed process\` line names who died.`,
        next: `Find the \`Killed process\` line after this one${uptime(r)}; then check whether that pid was your backend (its journal, its start time).`,
      };
    case "oom_invoked":
      return {
        ...base,
        meaning: `${r.invoker === undefined ? "A process" : code(r.invoker, 60)} asked for memory and none was left, so it woke the OOM killer. It is often not the process that gets killed.`,
        next: `Read on: the \`oom-kill:\` and \`Killed process\` lines a few lines later${uptime(r)} name the victim.`,
      };
    case "oom_summary":
      return {
        ...base,
        meaning: `The OOM killer's summary: it picked ${who(r)}${memcg === undefined ? "" : ` in cgroup ${code(memcg)}`} (${r.constraint === "CONSTRAINT_MEMCG" ? "a cgroup limit was hit" : (r.constraint ?? "constraint unknown")}).`,
        next: `The next line, \`Killed process ${r.pid ?? "PID"}\`, confirms the kill; then check whether that pid was your backend${uptime(r)}.`,
      };
    case "oom_reaped":
      return {
        ...base,
        meaning: `The kernel reclaimed the memory of ${who(r)} after the OOM killer killed it: that process is gone.`,
        next: `Check whether pid ${r.pid ?? "PID"} was your backend and that it was restarted (its journal, \`ps -o lstart\`).`,
      };
    case "memcg_task":
      return {
        ...base,
        meaning: `A process in memory cgroup ${code(r.memcg ?? "?")} was OOM-killed because the limit of ${code(r.oomMemcg ?? "?")} was reached.`,
        next: "The `Killed process` line near this one names the victim; raise the cgroup's limit or find what grows.",
      };
    case "segfault":
      return {
        ...base,
        meaning: `${who(r)} crashed with a segmentation fault: ${segfaultKind(r.errorCode)}${r.object === undefined ? "" : `, inside ${code(r.object, 60)}`}. The kernel killed it with SIGSEGV.`,
        next: `Was this your backend? Its journal should show \`code=dumped, status=11/SEGV\` (or \`code=killed\`) ${WHEN}${uptime(r)}. Get a stack: \`coredumpctl info ${r.pid ?? "PID"}\`, or enable core dumps.`,
      };
    default:
      return {
        ...base,
        meaning: `A kernel message; nothing about an OOM kill or a crash${uptime(r)}.`,
        next: "Nothing to chase in this line for a 502: look for `Killed process`, `oom-kill:` or `segfault at` lines nearby.",
      };
  }
}
