import { type ChildProcess, execFile, spawn } from "node:child_process";
import { chmod, chown, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { accepts } from "./ports.js";
import { alive, childrenOf, signal, terminate } from "./procs.js";
import { waitUntil } from "./wait.js";

const execFileAsync = promisify(execFile);

export const NGINX = "/usr/sbin/nginx";

/** The reference's lab format (nginx-502-signatures.md section 4): combined + XFF + upstream timings. */
export const MAIN_EXT =
  `'$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent ` +
  `"$http_referer" "$http_user_agent" "$http_x_forwarded_for" rt=$request_time ` +
  `uct="$upstream_connect_time" uht="$upstream_header_time" urt="$upstream_response_time" ` +
  `ua="$upstream_addr" us="$upstream_status"'`;

export interface NginxOptions {
  /** prefix directory (created) */
  dir: string;
  listenAddress: string;
  listenPort: number;
  upstreamName: string;
  /** "addr:port" of each server line */
  servers: string[];
  /** group that may read the logs (the lab's ssh user is in it) */
  logGroupId: number;
  /** extra environment of the master and its workers (a skewed clock: skew.ts) */
  env?: Record<string, string>;
}

export interface Nginx {
  binary: string;
  pid: number;
  dir: string;
  confPath: string;
  /** the file holding the upstream and server blocks (included by confPath) */
  siteConfPath: string;
  errorLog: string;
  accessLog: string;
  pidFile: string;
  /** argv of `nginx -T` for this instance */
  testArgs: string[];
  servers(): string[];
  /** Rewrites the upstream's server lines, checks the config, reloads, and resolves once only new workers serve. */
  setServers(servers: string[]): Promise<void>;
  workerPids(): number[];
  stop(): Promise<void>;
}

function siteConf(opts: NginxOptions, servers: string[]): string {
  return [
    `upstream ${opts.upstreamName} {`,
    ...servers.map((s) => `    server ${s} max_fails=0;`),
    "}",
    "",
    "server {",
    `    listen ${opts.listenAddress}:${opts.listenPort};`,
    `    server_name ${opts.upstreamName}.lab;`,
    "",
    "    location / {",
    `        proxy_pass http://${opts.upstreamName};`,
    "        proxy_next_upstream off;",
    "        proxy_read_timeout 10s;",
    "        proxy_set_header Host $host;",
    "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
    "    }",
    "}",
    "",
  ].join("\n");
}

function mainConf(dir: string, logs: { error: string; access: string }, site: string, user: string): string {
  return [
    `user ${user};`,
    "worker_processes 1;",
    `pid ${join(dir, "nginx.pid")};`,
    `error_log ${logs.error} error;`,
    "",
    "events {",
    "    worker_connections 512;",
    "}",
    "",
    "http {",
    `    log_format main_ext ${MAIN_EXT};`,
    `    access_log ${logs.access} main_ext;`,
    "    default_type application/octet-stream;",
    "    keepalive_timeout 65;",
    ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map(
      (t) => `    ${t}_temp_path ${join(dir, "tmp", t)};`,
    ),
    "",
    `    include ${site};`,
    "}",
    "",
  ].join("\n");
}

async function workerUser(): Promise<string> {
  try {
    await execFileAsync("id", ["-u", "www-data"]);
    return "www-data adm";
  } catch {
    return "nobody adm";
  }
}

/** Starts nginx in the foreground (`daemon off`) as our child, so its master pid is ours to stop. */
export async function startNginx(opts: NginxOptions): Promise<Nginx> {
  const dir = opts.dir;
  const logsDir = join(dir, "logs");
  const confDir = join(dir, "conf");
  await mkdir(join(dir, "tmp"), { recursive: true });
  await mkdir(logsDir, { recursive: true });
  await mkdir(confDir, { recursive: true });
  // Like Debian's /var/log/nginx: root:adm, files 0640, so group adm reads them.
  for (const d of [dir, logsDir]) {
    await chown(d, 0, opts.logGroupId);
    await chmod(d, 0o750);
  }
  const errorLog = join(logsDir, "error.log");
  const accessLog = join(logsDir, "access.log");
  for (const f of [errorLog, accessLog]) {
    await writeFile(f, "", { flag: "a" });
    await chown(f, 0, opts.logGroupId);
    await chmod(f, 0o640);
  }
  const confPath = join(confDir, "nginx.conf");
  const siteConfPath = join(confDir, `${opts.upstreamName}.conf`);
  let servers = [...opts.servers];
  await writeFile(siteConfPath, siteConf(opts, servers));
  await writeFile(
    confPath,
    mainConf(dir, { error: errorLog, access: accessLog }, siteConfPath, await workerUser()),
  );
  const pidFile = join(dir, "nginx.pid");
  const base = ["-p", dir, "-c", confPath, "-e", errorLog];

  const child: ChildProcess = spawn(NGINX, [...base, "-g", "daemon off;"], {
    stdio: ["ignore", "ignore", "pipe"],
    ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (d: string) => {
    stderr += d;
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not spawn ${NGINX}`);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    const workers = childrenOf(pid);
    if (alive(pid)) {
      // SIGTERM is nginx's fast shutdown: the master ends its workers, then itself.
      await terminate([pid], "SIGTERM", 5000);
      await exited;
    }
    await terminate(workers, "SIGKILL", 2000);
  };

  try {
    await waitUntil(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`nginx exited (${child.exitCode ?? child.signalCode}): ${stderr.trim()}`);
        }
        return (await accepts(opts.listenAddress, opts.listenPort)) ? true : undefined;
      },
      { what: `nginx on ${opts.listenAddress}:${opts.listenPort}`, timeoutMs: 10_000 },
    );
  } catch (err) {
    await stop();
    throw err;
  }

  const workerPids = () => childrenOf(pid).filter(alive);

  const setServers = async (next: string[]): Promise<void> => {
    await writeFile(siteConfPath, siteConf(opts, next));
    // `nginx -t` first, as `systemctl reload` setups do: a broken config would keep the old one running.
    await execFileAsync(NGINX, [...base, "-t", "-q"]);
    const before = workerPids();
    const errorsBefore = (await readFile(errorLog, "utf8")).length;
    signal(pid, "SIGHUP");
    await waitUntil(
      async () => {
        const emerg = (await readFile(errorLog, "utf8")).slice(errorsBefore).match(/.*\[emerg\].*/);
        if (emerg) throw new Error(`nginx reload failed: ${emerg[0]}`);
        const now = workerPids();
        return now.length > 0 && !now.some((w) => before.includes(w)) ? true : undefined;
      },
      { what: "nginx reload (new workers up, old workers gone)", timeoutMs: 15_000 },
    );
    servers = [...next];
  };

  return {
    binary: NGINX,
    pid,
    dir,
    confPath,
    siteConfPath,
    errorLog,
    accessLog,
    pidFile,
    testArgs: ["-T", "-p", dir, "-c", confPath],
    servers: () => [...servers],
    setServers,
    workerPids,
    stop,
  };
}

export async function nginxVersion(binary = NGINX): Promise<string> {
  const { stderr } = await execFileAsync(binary, ["-v"]);
  return stderr.trim().replace(/^nginx version: /, "");
}
