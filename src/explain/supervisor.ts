import { CRASH_SIGNALS } from "../evidence/lifecycle.js";
import { parsers } from "../evidence/registry.js";
import { parseText } from "../evidence/run.js";
import type { CauseId, ParseContext, Parser, RecordBase } from "../evidence/types.js";
import { code, WHEN } from "./phrases.js";
import type { Reading } from "./schema.js";

/**
 * What a supervisor other than systemd says about the program it runs, one line at a time: supervisord's
 * log (`spawned:`, `exited:`, `gave up:`, `spawnerr:`), PM2's (`App [name:0] exited with code [1] via signal
 * [SIGINT]`, `had too many unstable restarts`) and `docker events` (`container die ... (exitCode=137, ...)`).
 */

/** The fields the supervisors' records share (src/evidence/lifecycle.ts) that a meaning needs. */
interface Lifecycle extends RecordBase {
  event?: string;
  running?: boolean | undefined;
  restarting?: boolean | undefined;
  restarts?: number | undefined;
  startedAt?: string | undefined;
  finishedAt?: string | undefined;
  error?: string | undefined;
  program?: string | undefined;
  pid?: number | undefined;
  exitCode?: number | undefined;
  signal?: string | undefined;
  coreDumped?: boolean | undefined;
  expected?: boolean | undefined;
  oomKilled?: boolean | undefined;
  state?: string | undefined;
  message?: string | undefined;
}

interface Source {
  name: string;
  parser: Parser<Lifecycle>;
  /** Words any line this source has a meaning for holds: a cheap test before its parser runs. */
  may: (line: string) => boolean;
  /** How to see the program's state now. */
  status: (program: string) => string;
  /** Where the program's own last words are. */
  output: (program: string) => string;
  /** The parser's record is one this source has a meaning for. */
  reads: (r: Lifecycle) => boolean;
}

/** supervisord's words for a program's life (supervisord.ts): spawned, success, exited, stopped, gave up. */
const SUPERVISORD_WORDS = ["spawned: ", "success: ", "exited: ", "stopped: ", "gave up: ", "spawnerr: "];

/** Events worth a meaning; the rest (banners, start-up notices) are left to the other readers. */
const KNOWN = new Set(["spawned", "running", "exited", "stopped", "gave_up", "spawn_error"]);
const lifeEvent = (r: Lifecycle): boolean => KNOWN.has(r.event ?? "") || r.oomKilled === true;

const DOCKER: Source = {
  name: "Docker",
  parser: parsers.docker as unknown as Parser<Lifecycle>,
  may: (l) => l.includes(" container ") || l.includes('"Status"') || l.includes('"State"'),
  status: (p) => `\`docker inspect --format '{{json .State}}' ${p}\``,
  output: (p) => `\`docker logs --timestamps --since 10m ${p}\``,
  // `docker events` (a kill's signal too), or a container's State from `docker inspect`.
  reads: (r) => lifeEvent(r) || r.event === "status" || r.signal !== undefined,
};

const SOURCES: readonly Source[] = [
  {
    name: "supervisord",
    // The fragment-aware parser: a pasted line may have lost its stamp and level.
    parser: parsers.supervisord as unknown as Parser<Lifecycle>,
    may: (l) => SUPERVISORD_WORDS.some((w) => l.includes(w)),
    status: (p) => `\`supervisorctl status ${p}\``,
    output: (p) => `the program's own log (\`supervisorctl tail ${p} stderr\`)`,
    reads: lifeEvent,
  },
  {
    name: "PM2",
    parser: parsers.pm2 as unknown as Parser<Lifecycle>,
    may: (l) => l.includes("App [") || l.includes("unstable restarts") || l.includes("Stopping app:"),
    status: (p) => `\`pm2 describe ${p}\``,
    output: (p) => `the app's error log (\`pm2 logs ${p} --err --lines 50\`)`,
    reads: lifeEvent,
  },
  DOCKER,
];

function read(line: string, ctx: ParseContext): { r: Lifecycle; s: Source } | undefined {
  for (const s of SOURCES) {
    if (!s.may(line)) continue;
    const r = parseText(s.parser, line, ctx).records[0];
    if (r && s.reads(r)) return { r, s };
  }
  return undefined;
}

/** How a life ended, in words, and what to look at for it. */
function ending(r: Lifecycle, s: Source, program: string): { what: string; next: string } {
  if (r.oomKilled) {
    return {
      what: "was killed for lack of memory (an OOM kill)",
      next: `The kernel log ${WHEN} names the victim and the memory limit it hit (\`dmesg -T | grep -i -A3 'killed process'\`).`,
    };
  }
  if (r.signal === "KILL") {
    return {
      what: "was killed by SIGKILL",
      next: `SIGKILL comes from the kernel's OOM killer or from a \`kill -9\` (a deploy, a health check): look for \`Killed process\` in the kernel log ${WHEN}.`,
    };
  }
  if (r.signal !== undefined && CRASH_SIGNALS.has(r.signal)) {
    return {
      what: `crashed with SIG${r.signal}${r.coreDumped ? " (it left a core dump)" : ""}`,
      next: `A crash in native code: ${s.output(program)} and the kernel's \`segfault at\` line ${WHEN} name where; a core dump has the stack.`,
    };
  }
  // (Docker reports a death by signal N as exit 128+N: the parser names the signal.)
  if (r.signal !== undefined) {
    return {
      what: `was ended by SIG${r.signal}`,
      next: `Something sent it SIG${r.signal}: a stop, a deploy or a supervisor's own shutdown ${WHEN}?`,
    };
  }
  const status = r.exitCode ?? 0;
  return {
    what: `exited with status ${status}`,
    next:
      status === 0
        ? "It ended on its own without an error code: was it told to stop, or did its main loop return?"
        : `The program stopped itself with an error: its last words before it exited are in ${s.output(program)}, ${WHEN}.`,
  };
}

/** `docker inspect`'s State of a container (one line): how its last life ended, and whether it runs. */
function stateMeaning(r: Lifecycle, s: Source, base: Omit<Reading, "meaning" | "next">): Reading {
  const name = r.program === undefined ? "the container" : `container ${code(r.program)}`;
  const program = r.program ?? "NAME";
  const lifeMs = Date.parse(r.finishedAt ?? "") - Date.parse(r.startedAt ?? "");
  const life =
    lifeMs >= 0
      ? ` Its last life ran ${Number((lifeMs / 1000).toFixed(3))} s (${r.startedAt} to ${r.finishedAt}).`
      : "";
  const restarts = r.restarts ? ` Docker restarted it ${r.restarts} time${r.restarts === 1 ? "" : "s"}.` : "";
  const error = r.error ? ` Docker could not start it: ${code(r.error)}.` : "";
  if (r.exitCode === undefined) {
    return {
      ...base,
      meaning: r.running
        ? `Docker's state of ${name}: ${code(r.state ?? "running")}, running since ${r.startedAt ?? "(unknown)"}${r.pid ? ` as pid ${r.pid}` : ""}; it has not exited since it was created.${restarts}`
        : `Docker's state of ${name}: ${code(r.state ?? "unknown")}; it has not run yet.${error}`,
      next: r.running
        ? "It runs: if nginx still fails, look at what the requests meet inside it (its log) or at the port it listens on."
        : `Nothing runs in it: start it (\`docker start ${program}\`) and watch \`docker logs ${program}\`.`,
    };
  }
  const e = ending(r, s, program);
  const now = r.restarting
    ? "it is restarting (its restart policy starts it again)"
    : r.running
      ? "it runs again"
      : "it is not running";
  const lower = (t: string) => t.charAt(0).toLowerCase() + t.slice(1);
  return {
    ...base,
    // Its end is the moment its last words were written.
    time: r.finishedAt ?? r.time,
    meaning: `Docker's state of ${name}: its last process ${e.what}${r.oomKilled === false && r.signal === "KILL" ? " (OOMKilled: false)" : ""}, and ${now}.${life}${restarts}${error}`,
    next:
      r.restarting && lifeMs >= 0 && lifeMs < 10_000
        ? `A life that short, again and again, is a crash loop: ${lower(e.next)}`
        : e.next,
  };
}

function meaningOf(r: Lifecycle, s: Source): Reading {
  const program = r.program ?? "the program";
  const p = r.program === undefined ? program : code(program);
  const base = { kind: "supervisor" as const, cause: r.cause as CauseId | undefined, time: r.time };
  const refused = "nginx's connections to it are refused (111, a 502) until it runs again.";
  switch (r.event) {
    case "status":
      return stateMeaning(r, s, base);
    case "spawned":
      return {
        ...base,
        cause: undefined,
        meaning: `${s.name} started ${p}${r.pid ? ` (pid ${r.pid})` : ""}.`,
        next: `One start is normal; several within minutes are a crash loop: see how each run ended (the exit lines ${WHEN}) and ${s.status(program)}.`,
      };
    case "running":
      return {
        ...base,
        meaning: `${p} came up and stayed up (${s.name}: ${code(r.state ?? "running")}).`,
        next: "It was running from then on; if nginx still failed, look at its error log for what the requests met.",
      };
    case "stopped":
      return {
        ...base,
        meaning: `${s.name} stopped ${p} on purpose (a stop command or a shutdown), so ${refused}`,
        next: `Who stopped it ${WHEN} (a deploy, someone on the host)? ${s.status(program)} says whether it is back.`,
      };
    case "gave_up":
      return {
        ...base,
        meaning: `${s.name} gave up restarting ${p}: it ended too often, too soon after starting${r.state ? ` (${code(r.state)})` : ""}. It stays down, so ${refused}`,
        next: `It dies while starting up: read its last words in ${s.output(program)}; fix that configuration, file or dependency, then start it again (${s.status(program)}).`,
      };
    case "spawn_error":
      return {
        ...base,
        meaning: `${s.name} could not start ${p} at all: ${code(r.message ?? "spawn error")}.`,
        next: "The program's command is wrong or missing (a path, a permission, a user): fix it in the supervisor's config.",
      };
    case "other":
      // Docker's `oom` and `kill` events: what happened to the container, not yet how it ended.
      if (r.oomKilled) {
        return {
          ...base,
          cause: "oom_kill",
          meaning: `The kernel's OOM killer killed a process in container ${p} (Docker's \`oom\` event): it hit its memory limit.`,
          next: `If that was its main process, a \`die\` line with exit 137 follows; the kernel log ${WHEN} names the victim and the limit.`,
        };
      }
      return {
        ...base,
        meaning: `Docker sent SIG${r.signal ?? "TERM"} to container ${p} (\`docker stop\`, \`docker kill\` or a restart).`,
        next: `Who stopped it ${WHEN}: a deploy, an orchestrator or someone on the host? A \`die\` line follows when it ended.`,
      };
    default: {
      const e = ending(r, s, program);
      const surprise = r.expected === false ? ` (not expected: ${s.name} starts it again)` : "";
      return {
        ...base,
        meaning: `${p} ${e.what}${surprise}. ${refused}`,
        next: e.next,
      };
    }
  }
}

export function readSupervisor(line: string, ctx: ParseContext): Reading | undefined {
  const found = read(line, ctx);
  return found ? meaningOf(found.r, found.s) : undefined;
}

/** A line that opens a pasted `docker inspect` (its array, an object, or its `"State": {` block). */
const BLOCK_OPEN = /^\s*(?:"State"\s*:\s*)?[[{]\s*$/;
/** What follows such an opening in inspect's output: a member (`"Id": ...`) or, in the array, its object. */
const BLOCK_NEXT = /^\s*(?:"[A-Za-z]\w*"\s*:|\{\s*$)/;
/** More lines than any container's inspect output: a brace never closed does not fold the rest. */
const MAX_BLOCK_LINES = 400;

/**
 * Pasted `docker inspect` output over several lines (the whole array, or the `"State": {...}` block people
 * copy out of it): one entry on its first line, spanning the block, when Docker's parser finds a State in it.
 * Keyed by 1-based line number, as readAppBlocks.
 */
export function readDockerBlocks(
  lines: readonly string[],
  ctx: ParseContext,
): Map<number, { reading: Reading; span: number }> {
  const out = new Map<number, { reading: Reading; span: number }>();
  // Characters looked at, bounded: a paste of lone braces costs a few passes over it, not one per brace.
  let budget = 4 * lines.reduce((n, l) => n + l.length + 1, 0);
  for (let i = 0; i < lines.length && budget > 0; i++) {
    if (!BLOCK_OPEN.test(lines[i] ?? "") || !BLOCK_NEXT.test(lines[i + 1] ?? "")) continue;
    let depth = 0;
    let end = -1;
    for (let j = i; j < Math.min(lines.length, i + MAX_BLOCK_LINES) && budget > 0; j++) {
      budget -= (lines[j] ?? "").length + 1;
      for (const ch of lines[j] ?? "") {
        if (ch === "{" || ch === "[") depth++;
        else if (ch === "}" || ch === "]") depth--;
      }
      if (depth <= 0) {
        end = j;
        break;
      }
    }
    if (end <= i) continue;
    const r = parseText(DOCKER.parser, lines.slice(i, end + 1).join("\n"), ctx).records.find(
      (x) => x.event === "status",
    );
    if (!r) continue;
    out.set(i + 1, { reading: meaningOf(r, DOCKER), span: end - i + 1 });
    i = end;
  }
  return out;
}
