import type { Config } from "../../src/config/schema.js";
import { maskSnippet, sectionLines } from "./script-check.js";

/**
 * The read-only command templates, written out with their argument slots masked (`Q`: one single-quoted
 * word). A command section of a script must be one of its template's shapes, exactly; anything a chat text
 * or a webhook could add (`; reboot`, `$(...)`, a pipe) changes the shape and fails.
 */
const CASE_PID = `case "$pid" in Q|0|*[!0-9]*) echo Q; false;; *) LC_ALL=C ps -o pid,lstart,etimes,args -p "$pid";; esac`;
const PARENT = `case "$pid" in Q|0|*[!0-9]*) exit 0;; esac; ppid=$(ps -o ppid= -p "$pid" | tr -d Q); case "$ppid" in Q|0|1|*[!0-9]*) exit 0;; esac; LC_ALL=C ps -o pid,lstart,etimes,args -p "$ppid"`;
const JOURNAL = `--since @"$W_SINCE" -n 20000 -o short-iso --no-pager -q`;
const SHOW =
  "Id,MainPID,NRestarts,ActiveState,SubState,Result,ExecMainCode,ExecMainStatus,ExecMainStartTimestamp,ExecMainExitTimestamp,ActiveEnterTimestamp,InactiveEnterTimestamp";
const PM2 = `h=Q; p=$(cat "$h/pm2.pid" 2>/dev/null); case $p in Q|*[!0-9]*) p=none;; esac; if [ ! -S "$h/rpc.sock" ] || [ ! -d "/proc/$p" ]; then echo "pm2: no PM2 daemon runs for $h (none is started)" >&2; exit 3; fi; if [ ! -w "$h/rpc.sock" ]; then echo "pm2: $h/rpc.sock: Permission denied" >&2; exit 1; fi; PM2_HOME="$h" pm2 jlist | node -e Q Q`;

export const COMMAND_SHAPES: Record<string, (string | RegExp)[]> = {
  addresses: ["ip -o addr show 2>/dev/null || hostname -I"],
  // nginx -T's argv comes whole from the config, each word quoted.
  "nginx-conf": [/^Q( Q)*$/],
  ps: [
    "LC_ALL=C ps -o pid,lstart,etimes,args -C Q",
    `pid=$(cat Q 2>/dev/null); ${CASE_PID}`,
    `pid=$(systemctl show -p MainPID --value Q); ${CASE_PID}`,
    `pid=$(supervisorctl -c Q pid Q 2>/dev/null); ${CASE_PID}`,
    `pid=$(supervisorctl pid Q 2>/dev/null); ${CASE_PID}`,
    `pid=$(docker inspect --format Q Q 2>/dev/null); ${CASE_PID}`,
  ],
  "ps-parent": [
    `pid=$(cat Q 2>/dev/null); ${PARENT}`,
    `pid=$(ps -o pid= -C Q | head -n 1 | tr -d Q); ${PARENT}`,
  ],
  ss: ["ss -ltnpH Q"],
  "systemd-show": [`systemctl show -p ${SHOW} Q`],
  "systemd-journal": [`journalctl -u Q ${JOURNAL}`],
  kernel: [`journalctl -k ${JOURNAL}`, "dmesg", "sudo -n dmesg", "dmesg 2>/dev/null || sudo -n dmesg"],
  "supervisord-status": ["supervisorctl -c Q status Q", "supervisorctl status Q"],
  "pm2-jlist": [PM2],
  "docker-inspect": ["docker inspect --format Q Q"],
  "docker-events": [
    `docker events --since "$W_SINCE" --until "$(date +%s)" --filter type=container --filter container=Q --filter event=start --filter event=die --filter event=oom --filter event=kill 2>&1`,
  ],
  "docker-logs": [`docker logs --timestamps --since "$W_SINCE" --tail 20000 Q 2>&1`],
};

/** Fixed words the templates quote themselves (not from the config). */
const FIXED = new Set([
  "",
  " ",
  "  PID STARTED ELAPSED COMMAND",
  "{{.State.Pid}}",
  `{"Name":{{json .Name}},"RestartCount":{{json .RestartCount}},"State":{{json .State}}}`,
]);

/** Every string and port in the config: the only things a template's slots may hold. */
function configValues(config: Config): { strings: Set<string>; ports: Set<number> } {
  const strings = new Set<string>();
  const ports = new Set<number>();
  const walk = (v: unknown, key: string): void => {
    if (typeof v === "string") strings.add(v);
    else if (typeof v === "number" && key === "port") ports.add(v);
    else if (Array.isArray(v)) for (const x of v) walk(x, key);
    else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, k);
  };
  walk(config.services, "");
  return { strings, ports };
}

function slotAllowed(value: string, config: ReturnType<typeof configValues>): boolean {
  if (FIXED.has(value) || config.strings.has(value)) return true;
  const port = /^sport = :(\d+)$/.exec(value)?.[1];
  if (port !== undefined) return config.ports.has(Number(port));
  // PM2's node filter program is fixed text; PM2's own files are named under its home.
  if (value.startsWith("let s=") && value.includes("JSON.parse(s)")) return true;
  for (const s of config.strings)
    if (s.startsWith("/") && value.startsWith(`${s.replace(/\/$/, "")}/`)) return true;
  return false;
}

/**
 * Throws unless every section of `script` is an allowlisted template, its shape exactly one of COMMAND_SHAPES
 * (for commands) and every argument slot a single-quoted value taken from the config (or a template's own).
 */
export function assertAllowlisted(script: string, config: Config): void {
  const values = configValues(config);
  for (const s of sectionLines(script)) {
    const snippet = s.fn === "w_cmd" ? s.args[1] : s.fn === "w_dmesg" ? s.args[2] : undefined;
    const slots: string[] = [];
    if (snippet !== undefined) {
      const { shape, values: v } = maskSnippet(snippet);
      const shapes = COMMAND_SHAPES[s.template] ?? [];
      const ok = shapes.some((x) => (typeof x === "string" ? x === shape : x.test(shape)));
      if (!ok)
        throw new Error(
          `section ${s.id}: ${JSON.stringify(shape)} is not an allowlisted form of ${s.template}`,
        );
      slots.push(...v);
    } else if (s.fn === "w_logwin" || s.fn === "w_agg") {
      slots.push(s.args[0] ?? "");
    }
    for (const v of slots)
      if (!slotAllowed(v, values))
        throw new Error(`section ${s.id}: ${JSON.stringify(v.slice(0, 80))} is not from the config`);
  }
}
