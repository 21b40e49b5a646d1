import { parseText } from "../evidence/run.js";
import {
  type SystemdJournalRecord,
  type SystemdRecord,
  type SystemdShowRecord,
  systemdParser,
} from "../evidence/systemd.js";
import { fromWording } from "../evidence/systemd-fragment.js";
import type { ParseContext } from "../evidence/types.js";
import { code, WHEN } from "./phrases.js";
import type { Reading } from "./schema.js";

/**
 * systemd's own lines about a service (journal wordings, `systemctl status` lines, `systemctl show`
 * properties), whole or as fragments: cut before the unit name, cut at the end, or a bare
 * `code=killed, status=9/KILL`.
 */

const SYSTEMD_IDENT = /^(?:systemd|init)$/;
/** The `systemctl show` properties explained here: a show line with any other key is not read as systemd's. */
const SHOW_KEYS = new Set([
  "Result",
  "NRestarts",
  "ExecMainStatus",
  "ExecMainCode",
  "ExecMainPID",
  "MainPID",
  "ExecMainStartTimestamp",
  "ExecMainExitTimestamp",
  "ActiveEnterTimestamp",
  "InactiveEnterTimestamp",
  "ActiveState",
  "SubState",
]);
const BARE_STATUS = /^status=\d+\/[\w/-]+$/;
/** Signal names systemd prints after `status=N/`; any other name (`FAILURE`, `n/a`) is an exit code's. */
const SIGNAL_NAMES = new Set(
  "HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM SYS".split(" "),
);
const OOMD = /^oomd attempting to kill (\d+)/;

interface Parsed {
  record?: SystemdRecord | undefined;
  reason?: string | undefined;
}

function parseOne(line: string, ctx: ParseContext): Parsed {
  const r = parseText(systemdParser, line, ctx);
  return { record: r.records[0], reason: r.unreadable[0]?.reason };
}

/**
 * Is this systemd speaking? A journal prefix must name systemd; without one, the wording must be systemd's
 * own (`Started x` or `status=500` alone could be anyone's).
 */
function speaksForSystemd(r: SystemdRecord, line: string): boolean {
  if (r.entry === "show") return Object.keys(r.props).every((k) => SHOW_KEYS.has(k));
  if (r.identifier !== undefined) return SYSTEMD_IDENT.test(r.identifier);
  if (r.event === "started" || r.event === "stopped" || (r.event === "failed" && r.result === undefined)) {
    return r.unit !== undefined;
  }
  if (r.event !== "other") return true;
  return r.code !== undefined || BARE_STATUS.test(line.trim());
}

export function readSystemd(line: string, ctx: ParseContext): Reading | undefined {
  const whole = parseOne(line, ctx);
  const r = whole.record;
  if (r?.entry === "journal" && r.identifier === "systemd-oomd") {
    const m = OOMD.exec(r.message);
    if (m) return oomd(r, Number(m[1]));
  }
  if (r && speaksForSystemd(r, line) && (r.entry === "show" || r.event !== "other" || r.code === undefined)) {
    return systemdMeaning(r);
  }
  // A bare `code=killed, status=9/KILL` is the tail of `Main process exited, ...`: read it as that line.
  const trimmed = line.trim();
  if (trimmed.startsWith("code=")) {
    const as = parseOne(`Main process exited, ${trimmed}`, ctx).record;
    if (as) return { ...systemdMeaning(as), time: undefined };
  }
  const inner = fromWording(line);
  if (inner !== undefined) {
    const f = parseOne(inner, ctx);
    if (f.record?.entry === "journal" && f.record.event !== "other")
      return { ...systemdMeaning(f.record), time: r?.time };
    if (f.reason === "truncated exit status") return cutExit(inner, r?.time);
  }
  if (whole.reason === "truncated exit status") return cutExit(line, undefined);
  // Cut at the end: drop the last `, ...` part (`Scheduled restart job, restart counter is at`).
  const comma = trimmed.lastIndexOf(", ");
  if (comma > 0) {
    const shorter = parseOne(trimmed.slice(0, comma), ctx).record;
    if (shorter?.entry === "journal" && shorter.event !== "other" && speaksForSystemd(shorter, line)) {
      return systemdMeaning(shorter);
    }
  }
  if (r && speaksForSystemd(r, line)) return systemdMeaning(r);
  return undefined;
}

const unitOf = (r: SystemdRecord): string => (r.unit === undefined ? "the service" : code(r.unit, 80));
/** The unit at the start of a sentence. */
const UnitOf = (r: SystemdRecord): string => (r.unit === undefined ? "The service" : code(r.unit, 80));
const journalOf = (r: SystemdRecord): string =>
  `\`journalctl -u ${r.unit === undefined ? "UNIT" : r.unit.replace(/`/g, "ˋ")} -n 50 --no-pager\``;

function cutExit(line: string, time: string | undefined): Reading {
  const unit = /([\w:@.-]+\.service)/.exec(line)?.[1];
  return {
    kind: "systemd",
    meaning: `${unit === undefined ? "The service's" : `${code(unit)}'s`} main process exited, but the line is cut before the code and status that say how.`,
    next: "Paste the whole line: `code=exited, status=1/FAILURE` is an exit on purpose, `code=killed, status=9/KILL` a SIGKILL (often the OOM killer), `status=11/SEGV` a crash.",
    time,
  };
}

function oomd(r: SystemdJournalRecord, pid: number): Reading {
  return {
    kind: "systemd",
    cause: "oom_kill",
    meaning: `systemd-oomd (userspace, memory-pressure based) is killing pid ${pid}: its cgroup was under memory pressure too long. The kernel logs nothing for such a kill.`,
    next: `Was pid ${pid} your backend? The unit shows \`Failed with result 'oom-kill'\` (systemd 251+, else \`'signal'\`); the \`Memory pressure for ...\` lines before this one name the cgroup. Tune \`ManagedOOMMemoryPressureLimit\` or find what grows.`,
    time: r.time,
  };
}

/** What an exit code or signal means for a service (reference section 6). */
function exitMeaning(r: {
  code?: string | undefined;
  status?: number | undefined;
  signal?: string | undefined;
  statusName?: string | undefined;
}): { what: string; next: string } {
  const exited =
    r.code === "exited" || (r.code === undefined && !SIGNAL_NAMES.has(r.statusName ?? r.signal ?? ""));
  if (exited) {
    switch (r.status) {
      case 0:
        return {
          what: "exited cleanly (status 0)",
          next: "A clean exit: was it stopped on purpose, or did it finish its work?",
        };
      case 1:
        return {
          what: "exited on its own with status 1 (FAILURE): an exit on purpose (`log.Fatal`, `os.Exit(1)`) or an uncaught Python/Node exception",
          next: "its last words are the reason",
        };
      case 2:
        return {
          what: "exited with status 2: a Go program's `panic:` or `fatal error:` (or a usage error)",
          next: "look for `panic:` / `fatal error:` and the goroutine stack in its output",
        };
      case 3:
        return {
          what: "exited with status 3: a JVM run with `-XX:+ExitOnOutOfMemoryError` ran out of heap",
          next: "look for `Terminating due to java.lang.OutOfMemoryError` in its output",
        };
      default:
        return {
          what: `exited with status ${r.status ?? "?"}${r.statusName === "n/a" ? " (a plain exit code, not a signal)" : ""}`,
          next: "its last words say why",
        };
    }
  }
  const dumped = r.code === "dumped" ? " and dumped core" : "";
  switch (r.signal ?? r.statusName) {
    case "KILL":
      return {
        what: `was killed with SIGKILL (9)${dumped}: by the kernel's OOM killer if a \`Killed process <pid>\` line names its pid, otherwise by hand (\`kill -9\`) or by systemd after a stop timeout`,
        next: "look in the kernel log (`dmesg -T | grep -i 'killed process'`, `journalctl -k`) for its pid",
      };
    case "SEGV":
      return {
        what: `crashed with a segmentation fault (SIGSEGV)${dumped}`,
        next: "look for the kernel's `segfault at` line and get a stack (`coredumpctl info`)",
      };
    case "ABRT":
      return {
        what: `aborted (SIGABRT)${dumped}: a Node heap out-of-memory, a JVM crash (\`CrashOnOutOfMemoryError\`) or a failed assertion`,
        next: "look for `FATAL ERROR: ... heap out of memory`, `Aborting due to` or an assertion message in its output",
      };
    case "SYS":
      return {
        what: `was killed by seccomp (SIGSYS)${dumped}: it made a system call its \`SystemCallFilter\` forbids`,
        next: "the audit log names the call; widen `SystemCallFilter=` or fix the program",
      };
    case "TERM":
    case "INT":
      return {
        what: `was stopped with SIG${r.signal}: someone or something asked it to stop (\`systemctl stop/restart\`, a deploy)`,
        next: "find who stopped it (the journal lines before this one, your deploy log)",
      };
    default:
      return {
        what: `was ended by signal ${r.signal ?? r.status ?? "?"}${dumped}`,
        next: "the journal lines before this one and the kernel log say more",
      };
  }
}

const RESULTS: Readonly<Record<string, string>> = {
  "oom-kill": "the OOM killer killed one of its processes (the kernel's, or systemd-oomd)",
  "core-dump": "its main process crashed and dumped core (SIGSEGV, SIGABRT...)",
  signal:
    "its main process was killed by a signal (SIGKILL, SIGTERM...; before systemd 251, also systemd-oomd kills)",
  "exit-code": "its main process exited with a non-zero status",
  timeout: "it did not start or stop within its timeout",
  watchdog: "it stopped answering its watchdog",
  "start-limit-hit": "it was restarted too often in too short a time, so systemd gave up: it stays down",
  resources: "systemd could not set up its resources (files, users, sockets)",
  protocol: "it broke the service protocol (e.g. `Type=notify` without notifying)",
  success: "it ended without error",
};

function resultNext(r: SystemdRecord, result: string): string {
  switch (result) {
    case "oom-kill":
      return `Look for \`Killed process\` (kernel) or \`oomd attempting to kill\` (systemd-oomd) ${WHEN}; then raise \`MemoryMax=\` or find what grows.`;
    case "start-limit-hit":
      return `It will not come back by itself: read why it failed (${journalOf(r)}), fix it, then \`systemctl reset-failed\` and start it. Until then nginx gets 111 refused.`;
    default:
      return `Read the lines just before this one (${journalOf(r)}): \`Main process exited, code=..., status=...\` says how it ended, and its own last lines say why.`;
  }
}

const propsText = (r: SystemdShowRecord): string =>
  Object.entries(r.props)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");

function showMeaning(r: SystemdShowRecord): Reading {
  const base = { kind: "systemd" as const, cause: r.cause, time: r.time };
  const unit = unitOf(r);
  if (r.result !== undefined) {
    return {
      ...base,
      meaning: `\`systemctl show\`: ${unit}'s last result is ${code(r.result)}: ${RESULTS[r.result] ?? "see systemd.exec(5)"}.`,
      next: resultNext(r, r.result),
    };
  }
  if (r.nRestarts !== undefined) {
    return {
      ...base,
      meaning: `\`systemctl show\`: systemd restarted ${unit} automatically ${r.nRestarts} time${r.nRestarts === 1 ? "" : "s"} since it was last started by hand.`,
      next:
        r.nRestarts > 0
          ? `Each restart is a window of 111 refused at nginx. Why did it stop? ${journalOf(r)} shows \`Main process exited\` lines.`
          : "No automatic restarts: if nginx saw refusals, the service was stopped or started by hand, or it listens elsewhere.",
    };
  }
  if (r.execMainStartTimestamp !== undefined || r.props.ActiveEnterTimestamp !== undefined) {
    return {
      ...base,
      meaning: `\`systemctl show\`: when ${unit}'s current process started (${code(propsText(r) || "never")}). An empty value means never.`,
      next: "A start after the first 502 and before the first success means the backend restarted during the incident: look for why it stopped.",
    };
  }
  return {
    ...base,
    meaning: `\`systemctl show\` property of ${unit}: ${code(propsText(r))}.`,
    next: "`systemctl show -p Result,NRestarts,ExecMainStartTimestamp,ExecMainStatus UNIT` tells how and when it last ended and started.",
  };
}

export function systemdMeaning(r: SystemdRecord): Reading {
  if (r.entry === "show") return showMeaning(r);
  const base = { kind: "systemd" as const, cause: r.cause, time: r.time };
  const unit = unitOf(r);
  switch (r.event) {
    case "main_exited": {
      const e = exitMeaning(r);
      return {
        ...base,
        meaning: `${UnitOf(r)}'s main process ${e.what}. nginx gets refused connections (111) until it is running again.`,
        next: `Read its last lines before it ended (${journalOf(r)}, ${WHEN}): ${e.next}. Then check it came back (\`Scheduled restart job\`, \`systemctl show -p NRestarts\`).`,
      };
    }
    case "control_exited": {
      const e = exitMeaning(r);
      return {
        ...base,
        meaning: `A control process of ${unit} (\`ExecStartPre=\`, \`ExecStop=\`, \`ExecReload=\`...) ${e.what}. If it was a start step, the service did not start.`,
        next: `${journalOf(r)} shows which command it was and what it printed.`,
      };
    }
    case "failed":
      return {
        ...base,
        meaning:
          r.result === undefined
            ? `${UnitOf(r)} failed.`
            : `${UnitOf(r)} failed with result ${code(r.result)}: ${RESULTS[r.result] ?? "see systemd.exec(5)"}.`,
        next: resultNext(r, r.result ?? ""),
      };
    case "oom_killed_notice":
      return {
        ...base,
        meaning: `systemd noticed that the OOM killer killed a process of ${unit} (from the cgroup's memory events).`,
        next: `The kernel log ${WHEN} names the victim (\`Killed process <pid>\`); was it the main process or a worker?`,
      };
    case "scheduled_restart":
    case "holdoff_restart":
      return {
        ...base,
        meaning: `systemd is restarting ${unit} (\`Restart=\`)${r.restartCounter === undefined ? "" : `: restart number ${r.restartCounter}`}. While it restarts nginx gets 111 refused${(r.restartCounter ?? 0) >= 3 ? "; this many restarts is a crash loop" : ""}.`,
        next: `Why did it stop? The \`Main process exited\` line just before this one (${journalOf(r)}) says how, and its last output says why.`,
      };
    case "start_limit":
      return {
        ...base,
        meaning: `systemd stopped restarting ${unit}: it failed too often in a short time (\`StartLimitBurst\`). It stays down, so nginx answers 502 (111 refused) until someone starts it.`,
        next: `Read why it kept failing (${journalOf(r)}), fix it, then \`systemctl reset-failed\` and start it.`,
      };
    case "started":
      return {
        ...base,
        meaning: `${UnitOf(r)} started ${WHEN}.`,
        next: "If this is during the incident, the backend restarted: look for why it stopped just before.",
      };
    case "stopped":
      return {
        ...base,
        meaning: `${UnitOf(r)} stopped.`,
        next: "Was it stopped on purpose (`systemctl stop`, a deploy)? If not, the lines before this say why.",
      };
    default: {
      if (r.code !== undefined || r.status !== undefined) {
        const e = exitMeaning(r);
        return {
          ...base,
          meaning: `A process ${e.what}.`,
          next: `Read the lines around this one: ${e.next}.`,
        };
      }
      return {
        ...base,
        meaning: "A systemd message; nothing about a service dying or restarting.",
        next: "Nothing to chase in this line for a 502: look for `Main process exited`, `Failed with result` or `Scheduled restart job`.",
      };
    }
  }
}
