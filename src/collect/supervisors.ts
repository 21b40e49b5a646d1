import { shQuote } from "./shell-quote.js";

/**
 * Read-only shell snippets for the supervisors that are not systemd. Arguments come from the validated
 * config and are quoted here; nothing else reaches them.
 */

/** `supervisorctl [-c CONF]`: without a config it searches supervisord's standard places. */
export function supervisorctl(config: string | undefined): string {
  return config === undefined ? "supervisorctl" : `supervisorctl -c ${shQuote(config)}`;
}

/**
 * `supervisorctl status PROGRAM`: one line, the state and `pid N, uptime H:MM:SS` or why it is not running.
 * It exits non-zero for a program that is not running; its output is still the evidence.
 */
export function supervisordStatusShell(program: string, config: string | undefined): string {
  return `${supervisorctl(config)} status ${shQuote(program)}`;
}

/** The pid supervisord runs the program as (0 when not running), for `ps`. */
export function supervisordPidShell(program: string, config: string | undefined): string {
  return `pid=$(${supervisorctl(config)} pid ${shQuote(program)} 2>/dev/null)`;
}

/**
 * The fields of `pm2 jlist` that tell restarts and exits, for one app. The rest is left on the host: `pm2_env`
 * holds the app's whole environment (secrets included) and PM2's monitoring state.
 */
export const PM2_FIELDS = [
  "status",
  "restart_time",
  "unstable_restarts",
  "pm_uptime",
  "created_at",
  "exit_code",
  "autorestart",
  "max_restarts",
  "min_uptime",
  "exec_mode",
  "pm_exec_path",
] as const;

/** A node one-liner (PM2 runs on node) that keeps PM2_FIELDS of the app named in its first argument. */
export const PM2_FILTER = `let s="";process.stdin.on("data",(d)=>{s+=d}).on("end",()=>{for(const p of JSON.parse(s)){if(p.name!==process.argv[1])continue;const e=p.pm2_env||{};const o={name:p.name,pm_id:p.pm_id,pid:p.pid};for(const k of ${JSON.stringify(PM2_FIELDS)})o[k]=e[k];console.log(JSON.stringify(o))}})`;

/**
 * `pm2 jlist` for one app, only when a PM2 daemon already runs for that home: any pm2 command starts a daemon
 * when none answers, and collection must change nothing. A socket the account may not write is reported as
 * permission denied rather than tried.
 */
export function pm2JlistShell(app: string, home: string, bin: string | undefined): string {
  const h = shQuote(home);
  const pm2 = bin === undefined ? "pm2" : shQuote(bin);
  return [
    `h=${h}`,
    `p=$(cat "$h/pm2.pid" 2>/dev/null)`,
    `case $p in ''|*[!0-9]*) p=none;; esac`,
    `if [ ! -S "$h/rpc.sock" ] || [ ! -d "/proc/$p" ]; then echo "pm2: no PM2 daemon runs for $h (none is started)" >&2; exit 3; fi`,
    `if [ ! -w "$h/rpc.sock" ]; then echo "pm2: $h/rpc.sock: Permission denied" >&2; exit 1; fi`,
    `PM2_HOME="$h" ${pm2} jlist | node -e ${shQuote(PM2_FILTER)} ${shQuote(app)}`,
  ].join("; ");
}

/** The parts of `docker inspect` that tell restarts and exits; not Config, which holds the environment. */
export const DOCKER_INSPECT_FORMAT =
  '{"Name":{{json .Name}},"RestartCount":{{json .RestartCount}},"State":{{json .State}}}';

export function dockerInspectShell(container: string): string {
  return `docker inspect --format ${shQuote(DOCKER_INSPECT_FORMAT)} ${shQuote(container)}`;
}

/**
 * The container's own output since the window start (both streams), newest lines kept by --tail. `since` is a
 * shell word for the window start in epoch seconds (plan.ts HOST_WINDOW_START: the host's clock).
 */
export function dockerLogsShell(container: string, since: string): string {
  return `docker logs --timestamps --since ${since} --tail 20000 ${shQuote(container)} 2>&1`;
}

/**
 * The container's starts, deaths, OOM kills and kills since the window start, from the daemon's event log
 * (which keeps its last 1000 events): every life in the window, where inspect keeps only the last start and
 * the last exit. `--until` the host's now, or the command would wait for new events for ever.
 */
export function dockerEventsShell(container: string, since: string): string {
  const filters = `--filter type=container --filter container=${shQuote(container)} --filter event=start --filter event=die --filter event=oom --filter event=kill`;
  return `docker events --since ${since} --until "$(date +%s)" ${filters} 2>&1`;
}

/** The container's main pid as the host sees it (0 when it is not running), for `ps`. */
export function dockerPidShell(container: string): string {
  return `pid=$(docker inspect --format '{{.State.Pid}}' ${shQuote(container)} 2>/dev/null)`;
}
