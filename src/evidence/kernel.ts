import { z } from "zod";
import { badBytes } from "./bad-bytes.js";
import { localToUtc, monthNumber, parseOffset, uptimeToUtc, yearOf } from "./time.js";
import { type LineFeeder, type ParseContext, type Parser, RecordBase, type Sink } from "./types.js";

export const KernelEvent = z.enum([
  /** `Killed process N (comm) total-vm:...`: the victim is dead. */
  "oom_kill",
  /** `Kill process N (comm) score S or sacrifice child` (before 4.19): the victim chosen; a child may die. */
  "oom_select",
  /**
   * `comm invoked oom-killer: gfp_mask=...`: an OOM kill begins. The task that ran out is often NOT the
   * victim, which the lines after it name (`oom-kill:`, `Killed process`): no pid here.
   */
  "oom_invoked",
  /** `oom-kill:constraint=...,task=comm,pid=N,uid=U` (4.19+). */
  "oom_summary",
  /** `oom_reaper: reaped process N (comm), now anon-rss:0kB, ...`. */
  "oom_reaped",
  /** `Task in /cg killed as a result of limit of /cg` (memory cgroup OOM, before 4.19). */
  "memcg_task",
  /** `comm[pid]: segfault at ...` and x86 `traps: comm[pid] general protection fault ...`. */
  "segfault",
  /** Any other kernel line. */
  "other",
]);
export type KernelEvent = z.infer<typeof KernelEvent>;

export const KernelRecord = RecordBase.extend({
  event: KernelEvent,
  /** The kernel message without its carrier prefix (dmesg stamp, syslog/journald prefix). */
  message: z.string(),
  /** Seconds since boot, when the carrier shows them (raw dmesg, `journalctl -o short-monotonic`, syslog). */
  uptimeSeconds: z.number().nonnegative().optional(),
  /** Victim pid (kill, selection, summary, reaper, memcg) or the faulting pid (segfault). */
  pid: z.number().int().optional(),
  /** Victim's or faulting task's comm; may hold spaces, slashes and parentheses (`CPU 0/KVM`). */
  comm: z.string().optional(),
  /** The victim's memory cgroup (`task_memcg=`, or the first path of `Task in`). */
  memcg: z.string().optional(),
  /** The cgroup whose limit was hit (`oom_memcg=`, or `limit of` in `Task in`). */
  oomMemcg: z.string().optional(),
  /** `CONSTRAINT_NONE` / `CONSTRAINT_MEMCG` / ...; a `Memory cgroup out of memory:` prefix implies MEMCG. */
  constraint: z.string().optional(),
  totalVmKb: z.number().int().optional(),
  anonRssKb: z.number().int().optional(),
  fileRssKb: z.number().int().optional(),
  shmemRssKb: z.number().int().optional(),
  pgtablesKb: z.number().int().optional(),
  uid: z.number().int().optional(),
  /** Victim's oom_score_adj (kill line), or the invoker's (oom_invoked). */
  oomScoreAdj: z.number().int().optional(),
  /** Badness score of the selected victim (`score S or sacrifice child`). */
  score: z.number().int().optional(),
  /** Comm of the task that invoked the OOM killer (oom_invoked only). */
  invoker: z.string().optional(),
  /** `gfp_mask=` value in hex, without the flag names. */
  gfpMask: z.string().optional(),
  order: z.number().int().optional(),
  /** Segfault: faulting address, instruction and stack pointers as printed (hex, no 0x). */
  faultAddr: z.string().optional(),
  ip: z.string().optional(),
  sp: z.string().optional(),
  /** Page-fault error bits (printed in hex): 1 protection, 2 write, 4 user mode, 16 instruction fetch. */
  errorCode: z.number().int().optional(),
  /** Mapped object the ip was in (`libc.so.6`); absent when the ip is in no mapping. */
  object: z.string().optional(),
  cpu: z.number().int().optional(),
});
export type KernelRecord = z.infer<typeof KernelRecord>;

export type Facts = Omit<KernelRecord, Exclude<keyof RecordBase, "cause"> | "message" | "uptimeSeconds">;

const num = (s: string | undefined): number | undefined => (s === undefined ? undefined : Number(s));
const hex = (s: string | undefined): number | undefined => (s === undefined ? undefined : parseInt(s, 16));
const memcgConstraint = (prefix: string | undefined): string | undefined =>
  prefix === "Memory cgroup out of memory" ? "CONSTRAINT_MEMCG" : undefined;

// `%s: ` is "Out of memory" or "Memory cgroup out of memory"; 2.6.x-3.x lines may lack it.
const OOM_PREFIX = String.raw`(?:(Out of memory|Memory cgroup out of memory)(?: \(oom_kill_allocating_task\))?: )?`;
// The comm is greedy between the first `(` and the last `)` before a fixed-format tail, so comms holding
// parentheses (`((resolved))`) survive. A line cut after the comm is still the kill, without its figures.
const KILLED = new RegExp(
  String.raw`^${OOM_PREFIX}Killed process (\d+) \((.*)\)(?:, UID (\d+),)?(?: total-vm:(\d+)kB, anon-rss:(\d+)kB, file-rss:(\d+)kB(?:, shmem-rss:(\d+)kB)?(?:, UID:(\d+) pgtables:(\d+)kB oom_score_adj:(-?\d+))?)?`,
);
// 2.6.32: `Killed process 28364, UID 0, (sh) total-vm:...`
const KILLED_OLD =
  /^Killed process (\d+), UID (\d+), \((.*)\)(?: total-vm:(\d+)kB, anon-rss:(\d+)kB, file-rss:(\d+)kB)?/;
const SELECT = new RegExp(
  String.raw`^${OOM_PREFIX}Kill process (\d+) \((.*)\)(?: score (-?\d+) or sacrifice child)?`,
);
const INVOKED =
  /^(.+?) invoked oom-killer:(?: gfp_mask=(0x[0-9a-fA-F]+)(?:\([^)]*\))?,(?: nodemask=.*?,)? +order=(-?\d+),(?: oom_adj=-?\d+,)? oom_score_adj=(-?\d+))?/;
const SUMMARY =
  /^oom-kill:constraint=([^,]*),nodemask=.*?,cpuset=.*?,mems_allowed=.*?(?:,global_oom)?(?:,oom_memcg=(.*?))?(?:,task_memcg=(.*?))?,task=(.*),pid=(\d+),uid=(\d+)\s*$/;
const TASK_IN = /^Task in (.+?) killed as a result of limit of (.+?)\s*$/;
const REAPED = /^oom_reaper: reaped process (\d+) \((.*)\)(?:,|$)/;
// Cut lines keep what they still have: the faulting task is named before `segfault at`.
const SEGFAULT =
  /^(.+)\[(\d+)\]: segfault at(?: ([0-9a-fA-F]+)(?: ip ([0-9a-fA-F]+)(?: sp ([0-9a-fA-F]+)(?: error ([0-9a-fA-F]+)(?: in (.+?)\[[^\]]*\])?(?: likely on CPU (\d+))?)?)?)?)?/;
const GPF =
  /^(?:traps: )?(.+)\[(\d+)\] general protection fault(?: ip:([0-9a-fA-F]+)(?: sp:([0-9a-fA-F]+)(?: error:([0-9a-fA-F]+)(?: in (.+?)\[[^\]]*\])?)?)?)?/;

/** What a kernel message says, whatever carried it. Undefined when it is none of the known events. */
export function readKernelMessage(msg: string): Facts | undefined {
  let m = KILLED.exec(msg);
  if (m) {
    return {
      event: "oom_kill",
      cause: "oom_kill",
      constraint: memcgConstraint(m[1]),
      pid: num(m[2]),
      comm: m[3],
      uid: num(m[4] ?? m[9]),
      totalVmKb: num(m[5]),
      anonRssKb: num(m[6]),
      fileRssKb: num(m[7]),
      shmemRssKb: num(m[8]),
      pgtablesKb: num(m[10]),
      oomScoreAdj: num(m[11]),
    };
  }
  m = KILLED_OLD.exec(msg);
  if (m) {
    return {
      event: "oom_kill",
      cause: "oom_kill",
      pid: num(m[1]),
      uid: num(m[2]),
      comm: m[3],
      totalVmKb: num(m[4]),
      anonRssKb: num(m[5]),
      fileRssKb: num(m[6]),
    };
  }
  m = SELECT.exec(msg);
  if (m) {
    const f: Facts = { event: "oom_select", cause: "oom_kill", pid: num(m[2]), comm: m[3], score: num(m[4]) };
    return { ...f, constraint: memcgConstraint(m[1]) };
  }
  m = INVOKED.exec(msg);
  if (m) {
    const f: Facts = { event: "oom_invoked", cause: "oom_kill", invoker: m[1], gfpMask: m[2] };
    return { ...f, order: num(m[3]), oomScoreAdj: num(m[4]) };
  }
  m = SUMMARY.exec(msg);
  if (m) {
    return {
      event: "oom_summary",
      cause: "oom_kill",
      constraint: m[1],
      oomMemcg: m[2],
      memcg: m[3] ?? m[2],
      comm: m[4],
      pid: num(m[5]),
      uid: num(m[6]),
    };
  }
  m = TASK_IN.exec(msg);
  if (m) return { event: "memcg_task", cause: "oom_kill", memcg: m[1], oomMemcg: m[2] };
  m = REAPED.exec(msg);
  if (m) return { event: "oom_reaped", cause: "oom_kill", pid: num(m[1]), comm: m[2] };
  m = SEGFAULT.exec(msg);
  if (m) {
    return {
      event: "segfault",
      cause: "segfault",
      comm: m[1],
      pid: num(m[2]),
      faultAddr: m[3],
      ip: m[4],
      sp: m[5],
      errorCode: hex(m[6]),
      object: m[7],
      cpu: num(m[8]),
    };
  }
  m = GPF.exec(msg);
  if (m) {
    return {
      event: "segfault",
      cause: "segfault",
      comm: m[1],
      pid: num(m[2]),
      ip: m[3],
      sp: m[4],
      errorCode: hex(m[5]),
      object: m[6],
    };
  }
  return undefined;
}

/** A kernel message and what its carrier said about when it was logged. */
export interface Carried {
  message: string;
  time?: string | undefined;
  uptimeSeconds?: number | undefined;
}

const RAW_STAMP = /^\[ *(\d+\.\d+)\] ?(.*)$/;
// `dmesg -T`: `[Thu Dec  7 00:05:15 2017] `, local time computed from uptime.
const DMESG_T =
  /^\[(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([A-Z][a-z]{2}) +(\d{1,2}) (\d\d):(\d\d):(\d\d) (\d{4})\] ?(.*)$/;
// `dmesg --time-format iso` (comma before the fraction) or journalctl short-iso / rsyslog RFC 3339 (dot).
const ISO = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:([.,])(\d+))?(Z|[+-]\d\d:?\d\d) (.*)$/;
// syslog / `journalctl -o short[-precise]`: `May 15 23:09:30 host kernel: ` (journald adds `.050705`).
const SYSLOG = /^([A-Za-z]{3}) +(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.(\d+))? (.*)$/;
// What follows a syslog-style stamp: `host ident: ` or `host ident[pid]: `.
const HOST_IDENT = /^\S+ [^\s:[]+(?:\[\d+\])?: ?(.*)$/;
// After a raw stamp only `host kernel: ` is taken as a prefix (journalctl -o short-monotonic): dmesg messages
// such as `virtio_blk virtio1: [vda] ...` have the same `word word: ` shape.
const MONOTONIC_HOST = /^\S+ kernel: ?(.*)$/;

const millis = (frac: string | undefined): number => (frac ? Number(frac.slice(0, 3).padEnd(3, "0")) : 0);

/** Year of a year-less stamp: the year of `now`, or the one before when that would put it in the future. */
function yearFor(month: number, day: number, now: string | undefined): number {
  const year = yearOf(now);
  const nowMs = now === undefined ? Number.NaN : Date.parse(now);
  if (!Number.isNaN(nowMs) && Date.UTC(year, month - 1, day) - nowMs > 2 * 86_400_000) return year - 1;
  return year;
}

function withInnerStamp(message: string, time: string | undefined): Carried {
  const raw = RAW_STAMP.exec(message);
  if (raw?.[1] !== undefined && raw[2] !== undefined) {
    return { message: raw[2], time, uptimeSeconds: Number(raw[1]) };
  }
  return { message, time };
}

export function readKernelCarrier(text: string, ctx: ParseContext): Carried | undefined {
  let m = RAW_STAMP.exec(text);
  if (m) {
    const uptimeSeconds = Number(m[1]);
    const rest = m[2] ?? "";
    const message = MONOTONIC_HOST.exec(rest)?.[1] ?? rest;
    return { message, time: uptimeToUtc(uptimeSeconds, ctx.bootTime), uptimeSeconds };
  }
  m = DMESG_T.exec(text);
  if (m) {
    const month = monthNumber(m[1] ?? "");
    if (month === undefined) return undefined;
    const [day, hh, mm, ss, yyyy] = [m[2], m[3], m[4], m[5], m[6]].map(Number) as number[];
    const time = localToUtc(yyyy ?? 0, month, day ?? 0, hh ?? 0, mm ?? 0, ss ?? 0, 0, ctx.utcOffsetMinutes);
    return { message: m[7] ?? "", time };
  }
  m = ISO.exec(text);
  if (m) {
    const offset = parseOffset(m[9] ?? "");
    if (offset === undefined) return undefined;
    const [y, mo, d, hh, mm, ss] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as number[];
    const time = localToUtc(y ?? 0, mo ?? 0, d ?? 0, hh ?? 0, mm ?? 0, ss ?? 0, millis(m[8]), offset);
    const rest = m[10] ?? "";
    if (m[7] === ",") return { message: rest, time };
    return withInnerStamp(HOST_IDENT.exec(rest)?.[1] ?? rest, time);
  }
  m = SYSLOG.exec(text);
  if (m) {
    const month = monthNumber(m[1] ?? "");
    const inner = HOST_IDENT.exec(m[7] ?? "");
    if (month === undefined || !inner) return undefined;
    const [day, hh, mm, ss] = [m[2], m[3], m[4], m[5]].map(Number) as number[];
    const year = yearFor(month, day ?? 0, ctx.now);
    const time = localToUtc(
      year,
      month,
      day ?? 0,
      hh ?? 0,
      mm ?? 0,
      ss ?? 0,
      millis(m[6]),
      ctx.utcOffsetMinutes,
    );
    return withInnerStamp(inner[1] ?? "", time);
  }
  return undefined;
}

function withoutUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/** The record of a line: what its carrier said (time, uptime) and what its message says. */
export function kernelRecord(
  ctx: ParseContext,
  lineNo: number,
  text: string,
  carried: Carried,
  facts: Facts | undefined,
): KernelRecord {
  return withoutUndefined({
    host: ctx.host,
    source: ctx.source,
    line: lineNo,
    text,
    time: carried.time,
    ...(facts ?? { event: "other" as const }),
    message: carried.message,
    uptimeSeconds: carried.uptimeSeconds,
  });
}

/**
 * Kernel ring-buffer lines (OOM killer, segfaults) from `dmesg` (raw, `-T`, `--time-format iso`),
 * `journalctl -k` (short, short-precise, short-iso[-precise], short-monotonic) or syslog `kern.log`.
 * Every line with a carrier prefix is a record (`event: "other"` when it means nothing here); a line
 * without one is read only when it is itself a known OOM or segfault message (`journalctl -o cat`,
 * console captures), otherwise it is unreadable.
 */
export const kernelParser: Parser<KernelRecord> = {
  kind: "kernel",
  schema: KernelRecord,
  start(ctx: ParseContext, sink: Sink<KernelRecord>): LineFeeder {
    return {
      line(raw, lineNo) {
        if (raw.trim() === "") return;
        // A NUL or an invalid byte (in a victim's name, padding before the line, a cut at the byte cap) does
        // not hide a kill: the line is read, and kept with the bad bytes as U+FFFD. Only if it then says
        // nothing known is it binary data.
        const bad = badBytes(raw);
        const text = bad?.shown ?? raw;
        const readable = bad?.readable ?? raw;
        const carried = readKernelCarrier(readable, ctx);
        const message = carried?.message ?? readable;
        const facts = readKernelMessage(message);
        if (bad && !facts) {
          sink.unreadable({ line: lineNo, text, reason: "binary data" });
          return;
        }
        if (!carried && !facts) {
          sink.unreadable({
            line: lineNo,
            text,
            reason: "no dmesg/syslog/journald prefix and not a known kernel OOM or segfault message",
          });
          return;
        }
        sink.record(kernelRecord(ctx, lineNo, text, { ...carried, message }, facts));
      },
      end() {},
    };
  },
};
