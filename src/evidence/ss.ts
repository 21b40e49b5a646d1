import { z } from "zod";
import type { LineFeeder, ParseContext, Parser, Sink } from "./types.js";
import { RecordBase } from "./types.js";

/**
 * One socket from iproute2 `ss -tn[l][p][H]` (with or without the Netid column), or from the net-tools
 * fallback `netstat -tn[l][p]`. Header lines of both tools are skipped. A listener is evidence, not a
 * symptom: no `cause`, no `time`.
 */
export const SsProcess = z.object({
  /** Command name; netstat cuts it (`nginx: master`), ss quotes comm (`nginx`). */
  name: z.string(),
  pid: z.number().int().nonnegative(),
  /** Socket file descriptor; netstat does not print it. */
  fd: z.number().int().nonnegative().optional(),
});
export type SsProcess = z.infer<typeof SsProcess>;

export const SsRecord = RecordBase.extend({
  /** ss `Netid` column or netstat `Proto` (`tcp`, `tcp6`), when printed. */
  netid: z.string().optional(),
  state: z.string(),
  recvQ: z.number().int().nonnegative(),
  sendQ: z.number().int().nonnegative(),
  /** Without brackets or zone: `127.0.0.1`, `::`, `::1`, `0.0.0.0`, or `*` (IPv4 and IPv6 wildcard). */
  localAddress: z.string(),
  localPort: z.number().int().nonnegative(),
  /** Device the socket is bound to: `lo` in `127.0.0.1%lo:53`. */
  interface: z.string().optional(),
  /** Peer as printed: `0.0.0.0:*`, `[::]:*`, `127.0.0.1:49692`. */
  peer: z.string(),
  /** Empty when the column is absent (no `-p`) or hidden (not root, not the owner). */
  processes: z.array(SsProcess),
});
export type SsRecord = z.infer<typeof SsRecord>;

const STATES = new Set([
  "LISTEN",
  "ESTAB",
  "ESTABLISHED",
  "UNCONN",
  "SYN-SENT",
  "SYN-RECV",
  "SYN_SENT",
  "SYN_RECV",
  "FIN-WAIT-1",
  "FIN-WAIT-2",
  "FIN_WAIT1",
  "FIN_WAIT2",
  "TIME-WAIT",
  "TIME_WAIT",
  "CLOSE-WAIT",
  "CLOSE_WAIT",
  "LAST-ACK",
  "LAST_ACK",
  "CLOSING",
  "CLOSED",
  "CLOSE",
  "UNKNOWN",
]);
const HEADER = /^(?:State\s+Recv-Q|Netid\s+State|Recv-Q\s+Send-Q|Proto\s+Recv-Q|Active (?:Internet|UNIX) )/;
const USER = /\("((?:[^"\\]|\\.)*)",pid=(\d+),fd=(\d+)\)/g;
const INT = /^\d+$/;

/** `127.0.0.1%lo:53`, `[::1]:80`, `*:80`, `:::80` (netstat), `[fe80::1]%eth0:22` -> parts. */
export function splitAddress(
  text: string,
): { address: string; port: string; interface?: string | undefined } | undefined {
  const colon = text.lastIndexOf(":");
  if (colon <= 0 || colon === text.length - 1) return undefined;
  let host = text.slice(0, colon);
  const port = text.slice(colon + 1);
  let iface: string | undefined;
  const zone = /%([^%\]]+)$/.exec(host);
  if (zone) {
    iface = zone[1];
    host = host.slice(0, zone.index);
  }
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  const inner = /%([^%]+)$/.exec(host);
  if (inner) {
    iface ??= inner[1];
    host = host.slice(0, inner.index);
  }
  if (host === "") return undefined;
  return { address: host, port, interface: iface };
}

function ssProcesses(rest: string): SsProcess[] {
  return [...rest.matchAll(USER)].map((m) => ({
    name: (m[1] ?? "").replace(/\\(.)/g, "$1"),
    pid: Number(m[2]),
    fd: Number(m[3]),
  }));
}

function netstatProcesses(rest: string): SsProcess[] {
  const m = /^(\d+)\/(.*)$/.exec(rest);
  return m?.[1] ? [{ name: (m[2] ?? "").trim(), pid: Number(m[1]) }] : [];
}

export const ssParser: Parser<SsRecord> = {
  kind: "ss",
  schema: SsRecord,
  start(ctx: ParseContext, sink: Sink<SsRecord>): LineFeeder {
    const row = (text: string, lineNo: number): string | undefined => {
      const words = text.trim().split(/\s+/);
      let netid: string | undefined;
      let state: string | undefined;
      let recvQ: string | undefined;
      let sendQ: string | undefined;
      let local: string | undefined;
      let peer: string | undefined;
      let processes: SsProcess[] = [];
      let consumed: number;
      if (/^(?:tcp|udp)6?$/.test(words[0] ?? "") && INT.test(words[1] ?? "")) {
        // netstat: Proto Recv-Q Send-Q Local Foreign State [PID/Program name]
        [netid, recvQ, sendQ, local, peer, state] = words;
        consumed = 6;
        if (state !== undefined && !STATES.has(state)) {
          state = undefined;
          consumed = 5;
        }
        const rest = restAfter(text, consumed);
        if (rest !== undefined) processes = netstatProcesses(rest);
        state ??= netid?.startsWith("udp") ? "UNCONN" : "UNKNOWN";
      } else {
        if (!STATES.has(words[0] ?? "") && STATES.has(words[1] ?? "")) netid = words.shift();
        [state, recvQ, sendQ, local, peer] = words;
        if (state === undefined || !STATES.has(state)) return "not an ss or netstat row";
        consumed = netid === undefined ? 5 : 6;
        const rest = restAfter(text, consumed);
        if (rest !== undefined) processes = ssProcesses(rest);
      }
      if (recvQ === undefined || sendQ === undefined || local === undefined || peer === undefined)
        return "truncated row";
      if (!INT.test(recvQ) || !INT.test(sendQ)) return "queue size is not a number";
      const addr = splitAddress(local);
      if (!addr) return "bad local address";
      if (!INT.test(addr.port)) return "local port is not a number (ss -n / netstat -n expected)";
      const record: SsRecord = {
        host: ctx.host,
        source: ctx.source,
        line: lineNo,
        text,
        state,
        recvQ: Number(recvQ),
        sendQ: Number(sendQ),
        localAddress: addr.address,
        localPort: Number(addr.port),
        peer,
        processes,
      };
      if (netid !== undefined) record.netid = netid;
      if (addr.interface !== undefined) record.interface = addr.interface;
      sink.record(record);
      return undefined;
    };

    return {
      line(text, lineNo) {
        if (text.trim() === "" || HEADER.test(text.trim())) return;
        const reason = row(text, lineNo);
        if (reason !== undefined) sink.unreadable({ line: lineNo, text, reason });
      },
      end() {},
    };
  },
};

/** The text after the first `count` whitespace-separated words, trimmed; undefined when empty. */
function restAfter(text: string, count: number): string | undefined {
  const m = new RegExp(`^\\s*(?:\\S+\\s+){${count}}`).exec(text);
  if (!m) return undefined;
  const rest = text.slice(m[0].length).trim();
  return rest === "" ? undefined : rest;
}
