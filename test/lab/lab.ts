import { existsSync, readFileSync, rmdirSync, rmSync } from "node:fs";
import { chmod, chown, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runAll } from "../../src/collect/host-output.js";
import type { Backend } from "./backend.js";
import { type LabInfo, type ScenarioName, ScenarioName as ScenarioNameSchema } from "./lab-info.js";
import {
  DMESG,
  ensureLabUser,
  groupId,
  installSudoers,
  LAB_USER,
  removeSudoers,
  SUDO_DMESG_ARGS,
} from "./lab-user.js";
import { MAIN_EXT, type Nginx, nginxVersion, startNginx } from "./nginx.js";
import { assertFree } from "./ports.js";
import { alive, childrenOf } from "./procs.js";
import {
  BACKEND_PORT,
  backendAddresses,
  GATEWAY_ADDRESS,
  GATEWAY_PORT,
  planBackends,
  SSH_PORT,
  staleAddress,
  UPSTREAM,
} from "./scenario-plan.js";
import { type LabSkew, skewEnv, skewSshdConfig } from "./skew.js";
import { type SshdGroup, startSshdGroup } from "./sshd-group.js";
import { startUnder } from "./supervised.js";

/** Backends started side by side (the bench variant has fifty). */
const BACKEND_STARTS_AT_ONCE = 8;

export interface LabOptions {
  scenario?: ScenarioName;
  /** default 2; more than 9 is the bench variant on 127.0.0.41.. */
  backends?: number;
  /** login user of the lab's sshd; default "why502" (created if missing) */
  sshUser?: string;
  /** start sshd; default true */
  ssh?: boolean;
  /** memory cgroup limit of every backend; default "64M"; null runs them without a cgroup */
  memoryLimit?: string | null;
  /** keep the lab dir (logs, lab.json) after stop() */
  keepDir?: boolean;
  /** one host whose clock is off (needs libfaketime: skew.ts) */
  skew?: LabSkew;
  /** sshd_config `Match` blocks of a test's own (a host's sessions with a PATH of stand-ins) */
  sshdMatch?: string[];
}

export interface Lab {
  dir: string;
  jsonPath: string;
  info: LabInfo;
  nginx: Nginx;
  backends: Backend[];
  sshd: SshdGroup | null;
  /** "addr:port" in the backend range where nothing lives */
  staleTarget: string;
  stop(): Promise<void>;
}

export async function startLab(opts: LabOptions = {}): Promise<Lab> {
  const scenario = opts.scenario === undefined ? undefined : ScenarioNameSchema.parse(opts.scenario);
  const count = opts.backends ?? 2;
  const addresses = backendAddresses(count);
  const plans = planBackends(scenario, count);
  const memoryLimit = opts.memoryLimit === undefined ? "64M" : (opts.memoryLimit ?? undefined);
  const sshUser = opts.sshUser ?? LAB_USER;
  const adm = await groupId("adm");
  const names = addresses.map((_, i) => `${UPSTREAM}-${i + 1}`);
  const skewed = opts.skew;
  if (skewed && skewed.host !== "gateway" && !names.includes(skewed.host))
    throw new Error(`lab skew: no host ${skewed.host} (gateway, ${names.join(", ")})`);
  const envOf = (host: string) => (skewed?.host === host ? { env: skewEnv(skewed.seconds) } : {});
  const skewAddress =
    skewed?.host === "gateway" ? GATEWAY_ADDRESS : addresses[names.indexOf(skewed?.host ?? "")];
  await assertFree([
    { host: GATEWAY_ADDRESS, port: GATEWAY_PORT },
    ...(opts.ssh === false ? [] : [GATEWAY_ADDRESS, ...addresses].map((host) => ({ host, port: SSH_PORT }))),
    ...addresses.map((host) => ({ host, port: BACKEND_PORT })),
  ]);

  const dir = await mkdtemp(join(tmpdir(), "why502-lab-"));
  await chown(dir, 0, adm);
  await chmod(dir, 0o750);

  const backends: Backend[] = [];
  let nginx: Nginx | undefined;
  let sshd: SshdGroup | null = null;
  let stopping: Promise<void> | undefined;
  let sudoInstalled = false;

  const killNow = (): void => {
    for (const b of backends) b.killNow();
    if (nginx !== undefined) {
      for (const pid of [nginx.pid, ...childrenOf(nginx.pid)]) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone
        }
      }
    }
    removeCgroupsSync(backends);
    for (const s of sshd?.instances ?? []) rmSync(s.dir, { recursive: true, force: true });
    if (!opts.keepDir) rmSync(dir, { recursive: true, force: true });
    if (sudoInstalled) removeSudoers();
  };
  process.once("exit", killNow);

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const errors: unknown[] = [];
      const attempt = async (f: () => Promise<void>) => {
        try {
          await f();
        } catch (err) {
          errors.push(err);
        }
      };
      await Promise.all(backends.map((b) => attempt(() => b.stop())));
      if (nginx !== undefined) await attempt(() => (nginx as Nginx).stop());
      if (sshd !== null) await attempt(() => (sshd as SshdGroup).stop());
      if (sudoInstalled) removeSudoers();
      process.removeListener("exit", killNow);
      if (!opts.keepDir) await attempt(() => rm(dir, { recursive: true, force: true }));
      if (errors.length > 0) throw new AggregateError(errors, `lab stop: ${errors.length} step(s) failed`);
    })();
    return stopping;
  };

  try {
    let sudo: string[] = [];
    if (opts.ssh !== false) {
      if (sshUser !== "root") await ensureLabUser(sshUser);
      sshd = await startSshdGroup({
        addresses: [GATEWAY_ADDRESS, ...addresses],
        port: SSH_PORT,
        user: sshUser,
        dir,
        ...(count > 9 ? { maxStartups: "200:30:400" } : {}),
        extraConfig: [
          ...(skewed && skewAddress ? skewSshdConfig(skewAddress, skewed.seconds) : []),
          ...(opts.sshdMatch ?? []),
        ],
      });
    }

    // A few at a time: each backend's start is bounded (10 s to "ready"), and fifty node processes started at
    // once on two loaded cores can take longer than that between them without anything being wrong.
    const started = await runAll(
      plans.map((plan, i) => ({ plan, i })),
      BACKEND_STARTS_AT_ONCE,
      ({ plan, i }): Promise<PromiseSettledResult<Backend>> =>
        startUnder(plan.supervisor, {
          name: `${UPSTREAM}-${i + 1}`,
          address: addresses[i] as string,
          port: BACKEND_PORT,
          mode: plan.mode,
          appArgs: plan.appArgs,
          dir: join(dir, "backends", `${UPSTREAM}-${i + 1}`),
          logGroupId: adm,
          ...(memoryLimit === undefined ? {} : { memoryLimit: plan.memoryLimit ?? memoryLimit }),
          ...(plan.runtime === undefined ? {} : { runtime: plan.runtime }),
          ...(plan.socket
            ? { socket: join(dir, "backends", `${UPSTREAM}-${i + 1}`, `${UPSTREAM}-${i + 1}.sock`) }
            : {}),
          ...(plan.restart === undefined ? {} : { restart: plan.restart }),
          ...envOf(`${UPSTREAM}-${i + 1}`),
        }).then(
          (value) => ({ status: "fulfilled", value }),
          (reason: unknown) => ({ status: "rejected", reason }),
        ),
    );
    for (const r of started) if (r.status === "fulfilled") backends.push(r.value);
    const failed = started.find((r) => r.status === "rejected");
    if (failed !== undefined) throw failed.reason;

    // "addr:port", or "unix:/path" for a backend on a socket.
    const servers = backends.map((b) => b.info.target);
    nginx = await startNginx({
      dir: join(dir, "nginx"),
      listenAddress: GATEWAY_ADDRESS,
      listenPort: GATEWAY_PORT,
      upstreamName: UPSTREAM,
      servers,
      logGroupId: adm,
      ...envOf("gateway"),
    });

    if (opts.ssh !== false && sshUser !== "root") {
      sudo = await installSudoers(sshUser, [
        ...SUDO_DMESG_ARGS.map((args) => [DMESG, ...args]),
        [nginx.binary, ...nginx.testArgs],
      ]);
      sudoInstalled = sudo.length > 0;
    }

    const info: LabInfo = {
      dir,
      scenario: scenario ?? null,
      createdAt: new Date().toISOString(),
      gateway: {
        host: GATEWAY_ADDRESS,
        listen: `${GATEWAY_ADDRESS}:${GATEWAY_PORT}`,
        upstream: UPSTREAM,
        servers,
        nginx: {
          binary: nginx.binary,
          version: await nginxVersion(nginx.binary),
          prefix: nginx.dir,
          conf: nginx.confPath,
          siteConf: nginx.siteConfPath,
          masterPid: nginx.pid,
          pidFile: nginx.pidFile,
          errorLog: nginx.errorLog,
          accessLog: nginx.accessLog,
          logFormat: `main_ext ${MAIN_EXT}`,
          testCommand: [nginx.binary, ...nginx.testArgs].join(" "),
        },
      },
      ssh:
        sshd === null
          ? null
          : {
              port: sshd.port,
              user: sshd.user,
              addresses: sshd.addresses,
              keyPath: sshd.userKeyPath,
              publicKey: sshd.userPublicKey,
              knownHostsPath: sshd.knownHostsPath,
              instances: sshd.instances.map((s) => ({
                pid: s.pid,
                addresses: s.addresses,
                hostPublicKey: s.hostPublicKey,
                logPath: s.logPath,
              })),
              sudo,
            },
      backends: backends.map((b) => b.info),
      cgroups: backends.flatMap((b) => (b.info.cgroup === null ? [] : [b.info.cgroup])),
    };
    const jsonPath = join(dir, "lab.json");
    await writeFile(jsonPath, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o644 });

    return {
      dir,
      jsonPath,
      info,
      nginx,
      backends,
      sshd,
      staleTarget: `${staleAddress(addresses)}:${BACKEND_PORT}`,
      stop,
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

/** For the exit handler: the SIGKILLed processes leave their cgroups within moments. */
function removeCgroupsSync(backends: Backend[]): void {
  const deadline = Date.now() + 2000;
  for (const b of backends) {
    const cg = b.info.cgroup;
    if (cg === null) continue;
    while (existsSync(cg)) {
      const procs = readFileSync(join(cg, "cgroup.procs"), "utf8")
        .split("\n")
        .filter((p) => p !== "" && alive(Number(p)));
      if (procs.length === 0 || Date.now() > deadline) {
        try {
          rmdirSync(cg);
        } catch {
          // still busy
        }
        break;
      }
    }
  }
}
