import type { Bundle, CommandOutput, HostBundle } from "../bundle/schema.js";
import { formatForAccessLog } from "../evidence/nginx-access.js";
import { type NginxConf, summarizeConf } from "../evidence/nginx-conf.js";
import { plainRecord } from "../evidence/nginx-error-record.js";
import { parsers, type RecordOf } from "../evidence/registry.js";
import { parseText } from "../evidence/run.js";
import type { EvidenceKind, ParseContext, RecordBase, Unreadable } from "../evidence/types.js";
import { clockCorrectionMs, shiftRecord } from "./clock.js";

/** Everything parsed out of one command's output. */
export interface ParsedCommand<K extends EvidenceKind = EvidenceKind> {
  host: HostBundle;
  command: CommandOutput;
  kind: K;
  records: RecordOf<K>[];
  unreadable: Unreadable[];
}

/** All evidence of a bundle, parsed, grouped by kind. */
export interface EvidenceSet {
  bundle: Bundle;
  byKind: { [K in EvidenceKind]: ParsedCommand<K>[] };
  /** nginx -T summary per gateway host name. */
  confs: Map<string, NginxConf>;
}

function contextFor(
  host: HostBundle,
  command: CommandOutput,
  options?: Record<string, string>,
): ParseContext {
  return {
    host: host.name,
    source: command.source,
    utcOffsetMinutes: host.clock?.utcOffsetMinutes ?? 0,
    bootTime: host.clock?.bootTime,
    now: host.clock?.now,
    options,
  };
}

function parseCommand<K extends EvidenceKind>(
  host: HostBundle,
  command: CommandOutput,
  kind: K,
  options?: Record<string, string>,
): ParsedCommand<K> {
  const parser = parsers[kind];
  const result = parseText(parser as never, command.stdout, contextFor(host, command, options)) as {
    records: RecordOf<K>[];
    unreadable: Unreadable[];
  };
  // Stamps are in the host's clock: put them on the collector's, the one the window is in.
  const correction = clockCorrectionMs(host);
  const shifted = correction === 0 ? result.records : result.records.map((r) => shiftRecord(r, correction));
  const parts = command.parts?.length ? command.parts : undefined;
  const records = parts ? shifted.map((r) => ({ ...plainRecord(r), ...partOf(parts, r.line) })) : shifted;
  const unreadable = parts
    ? result.unreadable.map((u) => ({ ...u, line: partOf(parts, u.line).line }))
    : result.unreadable;
  return { host, command, kind, records, unreadable };
}

/** The file a line of a log read across rotated files came from, and its line number in what was read of it. */
function partOf(parts: NonNullable<CommandOutput["parts"]>, line: number): { source: string; line: number } {
  let first = 1;
  for (const [i, p] of parts.entries()) {
    if (line < first + p.lines || i === parts.length - 1) return { source: p.source, line: line - first + 1 };
    first += p.lines;
  }
  return { source: parts[0]?.source ?? "", line };
}

/**
 * Parse every command output of a bundle with the parser of its kind, each host's stamps moved onto the
 * collector's clock by the host's measured skew (see clock.ts). Pure.
 */
export function parseBundle(bundle: Bundle): EvidenceSet {
  const byKind = {
    "nginx-error": [],
    "nginx-access": [],
    "nginx-conf": [],
    ps: [],
    systemd: [],
    kernel: [],
    app: [],
    ss: [],
    supervisord: [],
    pm2: [],
    docker: [],
    "nginx-access-aggregate": [],
  } as unknown as EvidenceSet["byKind"];
  const confs = new Map<string, NginxConf>();

  for (const host of bundle.hosts) {
    for (const command of host.commands) {
      if (command.kind !== "nginx-conf" || command.failure) continue;
      const parsed = parseCommand(host, command, "nginx-conf");
      byKind["nginx-conf"].push(parsed);
      confs.set(host.name, summarizeConf(parsed.records));
    }
  }
  for (const host of bundle.hosts) {
    for (const command of host.commands) {
      if (command.kind === "nginx-conf" || command.failure) continue;
      if (command.kind === "nginx-access") {
        const options = { ...command.options };
        const conf = confs.get(host.name);
        if (options.format === undefined && conf) {
          const format = formatForAccessLog(conf, command.source);
          if (format !== undefined) options.format = format;
        }
        byKind["nginx-access"].push(parseCommand(host, command, "nginx-access", options));
        continue;
      }
      for (const kind of [command.kind, ...(command.alsoParseAs ?? [])]) {
        if (kind === "nginx-conf" || kind === "nginx-access") continue;
        (byKind[kind] as ParsedCommand[]).push(
          parseCommand(host, command, kind, command.options) as ParsedCommand,
        );
      }
    }
  }
  return { bundle, byKind, confs };
}

/** Flatten the records of one kind, optionally for one host only. */
export function recordsOf<K extends EvidenceKind>(
  set: EvidenceSet,
  kind: K,
  hostName?: string,
): RecordOf<K>[] {
  const out: RecordOf<K>[] = [];
  for (const parsed of set.byKind[kind]) {
    if (hostName !== undefined && parsed.host.name !== hostName) continue;
    for (const r of parsed.records) out.push(r as RecordOf<K>);
  }
  return out;
}

/** A pointer to one evidence line, as cited in a diagnosis. */
export interface EvidenceRef {
  host: string;
  source: string;
  line: number;
  text: string;
  time?: string;
}

export function refOf(r: RecordBase): EvidenceRef {
  const ref: EvidenceRef = { host: r.host, source: r.source, line: r.line, text: r.text };
  if (r.time !== undefined) ref.time = r.time;
  return ref;
}
