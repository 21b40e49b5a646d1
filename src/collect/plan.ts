import type { HostRole } from "../bundle/schema.js";
import type { Config, Gateway, KernelLog, ProcessSpec, Service } from "../config/schema.js";
import type { EvidenceKind } from "../evidence/types.js";
import type { SectionSpec } from "./script.js";
import { shQuote } from "./shell-quote.js";
import {
  dockerEventsShell,
  dockerInspectShell,
  dockerLogsShell,
  dockerPidShell,
  pm2JlistShell,
  supervisordPidShell,
  supervisordStatusShell,
} from "./supervisors.js";

/**
 * The read-only allowlist. Every command why502 ever runs on a host is one of these templates; arguments
 * come only from the validated config and are quoted with shQuote. Nothing from Slack or a webhook reaches
 * here: those only pick a service name, which must exist in the config.
 */
export const TEMPLATE_IDS = [
  "clock",
  "addresses",
  "nginx-conf",
  "nginx-error-log",
  "nginx-access-log",
  "nginx-access-aggregate",
  "ps",
  "ss",
  "systemd-show",
  "systemd-journal",
  "journal-file",
  "kernel",
  "app-log",
  "supervisord-status",
  "supervisord-log",
  "pm2-jlist",
  "pm2-log",
  "docker-inspect",
  "docker-events",
  "docker-logs",
  "ps-parent",
] as const;
export type TemplateId = (typeof TEMPLATE_IDS)[number];

/** One section of a host's collection script, and how to read its output. */
export interface PlannedSection {
  template: TemplateId;
  spec: SectionSpec;
  /** Parser of the output; undefined for clock and addresses, which the runner reads itself. */
  kind?: EvidenceKind;
  /** File or command the text comes from (the records' `source`). */
  source: string;
  /** What runs, for `why502 plan` and the audit trail. */
  display: string;
  options?: Record<string, string>;
  /** Other parsers that read the same output. */
  alsoParseAs?: EvidenceKind[];
}

export interface HostPlan {
  /** Inventory name. */
  name: string;
  role: HostRole;
  sections: PlannedSection[];
}

const SMALL = 256 * 1024;
const CMD_TIMEOUT = 5;

function command(
  template: TemplateId,
  id: string,
  shell: string,
  kind: EvidenceKind | undefined,
  source: string,
  maxBytes = SMALL,
): PlannedSection {
  const section: PlannedSection = {
    template,
    spec: { id, type: "command", shell, maxBytes, timeoutSeconds: CMD_TIMEOUT },
    source,
    display: shell,
  };
  if (kind) section.kind = kind;
  return section;
}

function logWindow(
  template: TemplateId,
  id: string,
  path: string,
  kind: EvidenceKind,
  maxBytes: number,
): PlannedSection {
  return {
    template,
    spec: { id, type: "log-window", path, maxBytes, rotated: true },
    kind,
    source: path,
    display: `read ${path} (and rotated files) from the window start, at most ${maxBytes} bytes`,
  };
}

function common(): PlannedSection[] {
  return [
    {
      template: "clock",
      spec: { id: "clock", type: "clock" },
      source: "clock",
      display: "date; cat /proc/uptime; zone name",
    },
    command("addresses", "addresses", "ip -o addr show 2>/dev/null || hostname -I", undefined, "ip -o addr"),
  ];
}

/** Sections for one gateway. `paths` are the log paths, already discovered from nginx -T when configured so. */
export function gatewaySections(
  gw: Gateway,
  paths: { errorLog?: string; accessLog?: string },
  maxBytes: number,
): PlannedSection[] {
  const argv = gw.nginx_t.map(shQuote).join(" ");
  return [
    ...common(),
    command("nginx-conf", "nginx-conf", argv, "nginx-conf", gw.nginx_t.join(" "), 2 * 1024 * 1024),
    ...gatewayLogSections(gw, paths, maxBytes),
  ];
}

/** The error and access log windows of one gateway (a second round when their paths come from nginx -T). */
export function gatewayLogSections(
  gw: Gateway,
  paths: { errorLog?: string; accessLog?: string },
  maxBytes: number,
): PlannedSection[] {
  const out: PlannedSection[] = [];
  if (paths.errorLog)
    out.push(logWindow("nginx-error-log", "nginx-error-log", paths.errorLog, "nginx-error", maxBytes));
  if (paths.accessLog) {
    const s = logWindow("nginx-access-log", "nginx-access-log", paths.accessLog, "nginx-access", maxBytes);
    if (gw.log_format) s.options = { format: gw.log_format };
    out.push(s);
  }
  return out;
}

/** ps of the service's process; with no live pid it prints only the header, so "not running" is evidence too. */
function psShell(p: ProcessSpec): string | undefined {
  const ps = "LC_ALL=C ps -o pid,lstart,etimes,args";
  if ("name" in p) return `${ps} -C ${shQuote(p.name)}`;
  // PM2 keeps its pids to itself (`pm2 jlist` has them).
  if ("pm2" in p) return undefined;
  let pid: string;
  if ("systemd_unit" in p) pid = `pid=$(systemctl show -p MainPID --value ${shQuote(p.systemd_unit)})`;
  else if ("supervisord" in p) pid = supervisordPidShell(p.supervisord, p.config);
  else if ("docker" in p) pid = dockerPidShell(p.docker);
  else pid = `pid=$(cat ${shQuote(p.pid_file)} 2>/dev/null)`;
  return `${pid}; case "$pid" in ''|0|*[!0-9]*) echo '  PID STARTED ELAPSED COMMAND'; false;; *) ${ps} -p "$pid";; esac`;
}

function psSource(p: ProcessSpec): string {
  if ("name" in p) return `ps -C ${p.name}`;
  if ("systemd_unit" in p) return `ps (MainPID of ${p.systemd_unit})`;
  if ("supervisord" in p) return `ps (pid of supervisord program ${p.supervisord})`;
  if ("docker" in p) return `ps (pid of container ${p.docker})`;
  if ("pm2" in p) return `ps (PM2 app ${p.pm2})`;
  return `ps (pid in ${p.pid_file})`;
}

/**
 * The window start as a shell word for windowed commands (`journalctl --since "@$W_SINCE"`): epoch seconds in
 * the host's own clock, which the script sets from the collector's window start and the host's offset
 * (script.ts), so a host whose clock is off still reads its whole window.
 */
export const HOST_WINDOW_START = '"$W_SINCE"';

/** What `plan` and the audit trail show for a command reading from HOST_WINDOW_START. */
function sinceShown(section: PlannedSection, sinceEpoch: number): PlannedSection {
  section.display = `${section.display} (W_SINCE: the window start ${sinceEpoch}, in the host's clock)`;
  return section;
}

/**
 * With no supervisor configured (a pid file or a process name), the process's parent, if it has one other than
 * init: supervisord, PM2's daemon or a container shim there says who restarts it, though the config does not.
 */
function parentShell(p: ProcessSpec): string | undefined {
  let pid: string;
  if ("pid_file" in p) pid = `pid=$(cat ${shQuote(p.pid_file)} 2>/dev/null)`;
  else if ("name" in p) pid = `pid=$(ps -o pid= -C ${shQuote(p.name)} | head -n 1 | tr -d ' ')`;
  else return undefined;
  return [
    pid,
    `case "$pid" in ''|0|*[!0-9]*) exit 0;; esac`,
    `ppid=$(ps -o ppid= -p "$pid" | tr -d ' ')`,
    `case "$ppid" in ''|0|1|*[!0-9]*) exit 0;; esac`,
    `LC_ALL=C ps -o pid,lstart,etimes,args -p "$ppid"`,
  ].join("; ");
}

/** What a supervisor other than systemd says about the process: its status and its own log. */
function supervisorSections(p: ProcessSpec, sinceEpoch: number, maxBytes: number): PlannedSection[] {
  if ("supervisord" in p) {
    const status = supervisordStatusShell(p.supervisord, p.config);
    return [
      command(
        "supervisord-status",
        "supervisord-status",
        status,
        "supervisord",
        `supervisorctl status ${p.supervisord}`,
      ),
      logWindow("supervisord-log", "supervisord-log", p.log, "supervisord", maxBytes),
    ];
  }
  if ("pm2" in p) {
    return [
      command("pm2-jlist", "pm2-jlist", pm2JlistShell(p.pm2, p.home, p.bin), "pm2", `pm2 jlist (${p.pm2})`),
      logWindow("pm2-log", "pm2-log", `${p.home.replace(/\/$/, "")}/pm2.log`, "pm2", maxBytes),
    ];
  }
  if ("docker" in p) {
    return [
      command(
        "docker-inspect",
        "docker-inspect",
        dockerInspectShell(p.docker),
        "docker",
        `docker inspect ${p.docker}`,
      ),
      sinceShown(
        command(
          "docker-events",
          "docker-events",
          dockerEventsShell(p.docker, HOST_WINDOW_START),
          "docker",
          `docker events ${p.docker}`,
        ),
        sinceEpoch,
      ),
      sinceShown(
        command(
          "docker-logs",
          "docker-logs",
          dockerLogsShell(p.docker, HOST_WINDOW_START),
          "app",
          `docker logs ${p.docker}`,
          maxBytes,
        ),
        sinceEpoch,
      ),
    ];
  }
  return [];
}

/** PM2 keeps each app's stdout and stderr in its home unless the app's config says otherwise. */
function defaultAppLogs(p: ProcessSpec | undefined): string[] {
  if (p === undefined || !("pm2" in p)) return [];
  const home = p.home.replace(/\/$/, "");
  return [`${home}/logs/${p.pm2}-out.log`, `${home}/logs/${p.pm2}-error.log`];
}

/** journalctl's window is bounded by --since; -n keeps the newest lines when it is still too long. */
const JOURNAL_TAIL = "-n 20000 -o short-iso --no-pager -q";

const SHOW_PROPS =
  "Id,MainPID,NRestarts,ActiveState,SubState,Result,ExecMainCode,ExecMainStatus,ExecMainStartTimestamp,ExecMainExitTimestamp,ActiveEnterTimestamp,InactiveEnterTimestamp";

function kernelSection(k: KernelLog, sinceEpoch: number, maxBytes: number): PlannedSection {
  if (typeof k === "object") return logWindow("kernel", "kernel", k.file, "kernel", maxBytes);
  if (k === "journal") {
    return sinceShown(
      command(
        "kernel",
        "kernel",
        `journalctl -k --since @${HOST_WINDOW_START} ${JOURNAL_TAIL}`,
        "kernel",
        "journalctl -k",
        maxBytes,
      ),
      sinceEpoch,
    );
  }
  const shell =
    k === "dmesg" ? "dmesg" : k === "sudo-dmesg" ? "sudo -n dmesg" : "dmesg 2>/dev/null || sudo -n dmesg";
  return {
    template: "kernel",
    spec: { id: "kernel", type: "dmesg-window", shell, maxBytes, timeoutSeconds: CMD_TIMEOUT },
    kind: "kernel",
    source: "dmesg",
    display: `${shell} (lines since the window start)`,
  };
}

export interface BackendTarget {
  host: string;
  port: number;
  /** Listens on this unix socket instead of the port: `ss -ltnp` has nothing to say about it. */
  socket?: string | undefined;
  process?: ProcessSpec | undefined;
  appLogs: string[];
  journalFile?: string | undefined;
  kernelLog: KernelLog;
}

/** Sections for one backend host. */
export function backendSections(b: BackendTarget, sinceEpoch: number, maxBytes: number): PlannedSection[] {
  const out = common();
  const ps = b.process && psShell(b.process);
  if (b.process && ps) out.push(command("ps", "ps", ps, "ps", psSource(b.process)));
  const parent = b.process && parentShell(b.process);
  if (b.process && parent)
    out.push(command("ps-parent", "ps-parent", parent, "ps", `parent of ${psSource(b.process)}`));
  if (b.socket === undefined)
    out.push(
      command("ss", "ss", `ss -ltnpH ${shQuote(`sport = :${b.port}`)}`, "ss", `ss -ltnp sport = :${b.port}`),
    );
  if (b.process && "systemd_unit" in b.process) {
    const unit = shQuote(b.process.systemd_unit);
    out.push(
      command(
        "systemd-show",
        "systemd-show",
        `systemctl show -p ${SHOW_PROPS} ${unit}`,
        "systemd",
        `systemctl show ${b.process.systemd_unit}`,
      ),
    );
    // A unit's journal also holds the service's own stdout and stderr: crash stacks, last words.
    const journal = sinceShown(
      command(
        "systemd-journal",
        "systemd-journal",
        `journalctl -u ${unit} --since @${HOST_WINDOW_START} ${JOURNAL_TAIL}`,
        "systemd",
        `journalctl -u ${b.process.systemd_unit}`,
        maxBytes,
      ),
      sinceEpoch,
    );
    journal.alsoParseAs = ["app"];
    out.push(journal);
  }
  if (b.process) out.push(...supervisorSections(b.process, sinceEpoch, maxBytes));
  if (b.journalFile) out.push(logWindow("journal-file", "journal-file", b.journalFile, "systemd", maxBytes));
  out.push(kernelSection(b.kernelLog, sinceEpoch, maxBytes));
  const appLogs = b.appLogs.length > 0 ? b.appLogs : defaultAppLogs(b.process);
  appLogs.forEach((path, i) => {
    out.push(logWindow("app-log", `app-log-${i + 1}`, path, "app", maxBytes));
  });
  return out;
}

/** The backend targets of a service whose instances the config lists. */
export function configuredBackends(config: Config, service: Service): BackendTarget[] {
  const b = service.backends;
  return (b.instances ?? []).map((i) => ({
    host: i.host,
    port: i.port ?? b.port ?? 80,
    ...((i.socket ?? b.socket) ? { socket: i.socket ?? b.socket } : {}),
    process: i.process ?? b.process,
    appLogs: i.app_logs ?? b.app_logs ?? [],
    journalFile: i.journal_file ?? b.journal_file,
    kernelLog: i.kernel_log ?? b.kernel_log ?? config.defaults.kernel_log,
  }));
}
