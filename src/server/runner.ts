import { promisify } from "node:util";
import { gzip } from "node:zlib";
import type { Config } from "../config/schema.js";
import { maskSecrets, redactPatterns } from "../diagnosis/mask.js";
import { maskBundle } from "../diagnosis/mask-bundle.js";
import type { Diagnosis } from "../diagnosis/types.js";
import { isUserError } from "../errors.js";
import type { InvestigateEnv } from "../investigate/hosts-env.js";
import {
  type Diagnoser,
  type InvestigateDeps,
  investigate,
  serviceHosts,
} from "../investigate/investigate.js";
import {
  diagnosisReply,
  failedReply,
  investigatingMessage,
  type ParentState,
  parentDoneMessage,
  parentFailedMessage,
  REACTIONS,
  requester,
} from "../slack/messages.js";
import type { Run, Store } from "../store/types.js";
import type { Logger } from "./log.js";
import type { Metrics } from "./metrics.js";
import type { OutboxWriter } from "./outbox-writer.js";

export interface RunnerOptions {
  /** Collection answered otherwise (the demo's recorded bundles). */
  collect?: InvestigateDeps["collect"];
  store: Store;
  outbox: OutboxWriter;
  config: Config;
  env: InvestigateEnv;
  diagnose: Diagnoser;
  log: Logger;
  metrics: Metrics;
  owner: string;
  now?: () => number;
  concurrency?: number;
  leaseMs?: number;
}

const MAX_ATTEMPTS = 3;
const gzipAsync = promisify(gzip);

/** The parent message's outbox id of a run that started a thread. */
export const parentIdOf = (runId: string) => `${runId}.parent`;

/**
 * Runs queued investigations (rows in the store, leased while they run), and turns each result into outbox
 * entries: the thread reply, the parent's edit, its reaction. Ids are derived from the run, so a run done
 * twice (its worker died after posting but before it was marked done) owes Slack nothing new.
 */
export class Runner {
  private readonly o: Required<Omit<RunnerOptions, "now" | "collect">> &
    Pick<RunnerOptions, "collect"> & { now: () => number };
  private active = 0;
  private stopped = false;
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(opts: RunnerOptions) {
    this.o = { concurrency: 4, leaseMs: 60_000, now: Date.now, ...opts };
  }

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.wake(), 1000);
    this.timer.unref();
    this.wake();
  }

  wake(): void {
    if (this.stopped) return;
    this.fill().catch((e: unknown) => {
      // The store is down (PostgreSQL restarting): the next tick tries again.
      this.o.log.warn({ err: e instanceof Error ? e.message : String(e) }, "cannot claim runs; retrying");
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled([...this.inFlight]);
  }

  /** Resolves when no run is in progress (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private filling = false;
  private async fill(): Promise<void> {
    if (this.filling) return;
    this.filling = true;
    try {
      while (!this.stopped && this.active < this.o.concurrency) {
        const run = await this.o.store.claimRun(this.o.owner, this.o.now(), this.o.leaseMs);
        if (!run) break;
        this.active++;
        const p = this.execute(run)
          .catch((e: unknown) => {
            // The store went away mid-run: the run keeps its lease, and is taken up again when it expires.
            this.o.log.error(
              { run_id: run.id, err: e instanceof Error ? e.message : String(e) },
              "run interrupted",
            );
          })
          .finally(() => {
            this.active--;
            this.inFlight.delete(p);
            this.wake();
          });
        this.inFlight.add(p);
      }
    } finally {
      this.filling = false;
    }
  }

  private parentState(run: Run, progress?: ParentState["progress"]): ParentState {
    return {
      service: run.service,
      windowText: run.windowText,
      requestedBy: requester(run.requestedBy),
      progress,
    };
  }

  private async execute(run: Run): Promise<void> {
    const { store, outbox, log } = this.o;
    const channel = run.channel;
    const parentId = run.parentOutboxId;
    if (!channel || !parentId) {
      await store.failRun(run.id, "the run has no Slack channel to report into", this.o.now());
      return;
    }
    // The parent may not have been recorded if the process died right after the run was: owe it again.
    if (parentId === parentIdOf(run.id)) {
      await outbox.post(parentId, channel, investigatingMessage(this.parentState(run)), { runId: run.id });
    }
    if (run.attempts > MAX_ATTEMPTS) {
      await this.fail(run, `gave up after ${MAX_ATTEMPTS} attempts (the bot restarted during each)`);
      return;
    }
    const renew = setInterval(() => {
      store.renewRun(run.id, this.o.owner, this.o.now() + this.o.leaseMs).catch(() => {
        // Not renewed this time; the next renewal (or another replica after the lease) carries on.
      });
    }, this.o.leaseMs / 3);
    renew.unref();
    const hosts = serviceHosts(this.o.config, run.service);
    const done = new Set<string>();
    const failed: string[] = [];
    let edits = 0;
    try {
      const result = await investigate(
        { service: run.service, sinceMs: run.sinceMs, requestedBy: run.requestedBy },
        {
          ...(this.o.collect ? { collect: this.o.collect } : {}),
          config: this.o.config,
          env: this.o.env,
          diagnose: this.o.diagnose,
          now: this.o.now,
          onProgress: (p) => {
            if ((p.state !== "done" && p.state !== "failed") || done.has(p.host)) return;
            done.add(p.host);
            if (p.state === "failed") failed.push(`${p.host} (${p.detail ?? "failed"})`);
            const msg = investigatingMessage(
              this.parentState(run, { done: done.size, total: hosts.length, failed: [...failed] }),
            );
            outbox.edit(`${run.id}.progress.${++edits}`, channel, parentId, msg, run.id).catch(() => {
              // A progress edit lost to a store outage: the final edit says more anyway.
            });
          },
        },
      );
      await this.report(run, channel, parentId, result.diagnosis, result.durationMs);
      // The worker masks and compresses the bundle; from sources (tests) it is done here, off the hot path.
      const bundleGz =
        result.archive ??
        (await gzipAsync(JSON.stringify(maskBundle(result.bundle, redactPatterns(this.o.config)).bundle)));
      await store.finishRun(run.id, {
        finishedAt: this.o.now(),
        durationMs: result.durationMs,
        hostsFailed: result.diagnosis.hosts
          .filter((h) => !h.ok)
          .map((h) => ({ name: h.name, code: h.failure?.code ?? "failed" })),
        verdicts: result.diagnosis.verdicts.map((v) => ({ target: v.target, cause: v.cause })),
        status: result.diagnosis.status,
        diagnosisJson: JSON.stringify(result.diagnosis),
        bundleGz,
      });
      this.observe(run, result.diagnosis, result.durationMs, hosts, {
        queued_ms: result.startedAt - run.createdAt,
        collect_ms: result.collectMs,
        diagnose_ms: result.durationMs - result.collectMs,
      });
    } catch (e) {
      const why = isUserError(e) ? e.message : "an unexpected error (it is in the bot's log)";
      log.error({ run_id: run.id, service: run.service, err: e }, "investigation failed");
      this.o.metrics.runsFailed.inc();
      await this.fail(run, why);
    } finally {
      clearInterval(renew);
    }
  }

  /** Thread reply, parent edit and reactions for a finished diagnosis. */
  private async report(run: Run, channel: string, parentId: string, d: Diagnosis, durationMs: number) {
    const { outbox, store } = this.o;
    const previous = run.previousRunId ? await store.getRun(run.previousRunId) : undefined;
    const key = (r: { target: string; cause: string }[]) =>
      r
        .map((v) => `${v.target} ${v.cause}`)
        .sort()
        .join("\n");
    const changed =
      previous?.state === "done" &&
      (key(previous.verdicts) !== key(d.verdicts.map((v) => ({ target: v.target, cause: v.cause }))) ||
        previous.status !== d.status);
    if (run.postPolicy === "if_changed" && previous?.state === "done" && !changed) {
      // An alert fired again after the cooldown and nothing changed: the thread stays quiet.
      this.o.log.info({ run_id: run.id, incident_id: run.incidentId }, "verdicts unchanged: nothing posted");
      return;
    }
    const reply = diagnosisReply(d, {
      runId: run.id,
      durationMs,
      requestedBy: requester(run.requestedBy),
      broadcast: changed,
    });
    await outbox.post(`${run.id}.reply`, channel, reply, { runId: run.id, parentId });
    // An incident that closed meanwhile keeps its closing line on the parent.
    const incident = run.incidentId ? await store.getIncident(run.incidentId) : undefined;
    if (incident && incident.state !== "open") return;
    await outbox.edit(
      `${run.id}.final`,
      channel,
      parentId,
      parentDoneMessage(d, this.parentState(run), durationMs),
      run.id,
    );
    const now = REACTIONS[d.status];
    const before = previous?.status ? REACTIONS[previous.status] : undefined;
    if (before && before !== now)
      await outbox.react(`${run.id}.unreact`, channel, parentId, before, false, run.id);
    await outbox.react(`${run.id}.react`, channel, parentId, now, true, run.id);
    await outbox.react(`${run.id}.done`, channel, parentId, REACTIONS.running, false, run.id);
  }

  private async fail(run: Run, reason: string): Promise<void> {
    const { outbox, store } = this.o;
    // A reason can quote what a host answered: it is masked as host text is, for Slack and the store.
    const why = maskSecrets(reason, redactPatterns(this.o.config)).text;
    if (run.channel && run.parentOutboxId) {
      await outbox.react(`${run.id}.done`, run.channel, run.parentOutboxId, REACTIONS.running, false, run.id);
      await outbox.post(`${run.id}.reply`, run.channel, failedReply(run.service, why), {
        runId: run.id,
        parentId: run.parentOutboxId,
      });
      await outbox.edit(
        `${run.id}.final`,
        run.channel,
        run.parentOutboxId,
        parentFailedMessage(this.parentState(run), why),
        run.id,
      );
    }
    await store.failRun(run.id, why, this.o.now());
  }

  private observe(
    run: Run,
    d: Diagnosis,
    durationMs: number,
    hosts: string[],
    legs: Record<string, number>,
  ): void {
    const { metrics, log } = this.o;
    const verdicts = d.verdicts.map((v) => v.cause);
    for (const v of verdicts.length ? verdicts : [d.status])
      metrics.diagnoses.inc({ verdict: v, source: run.source });
    metrics.diagnosisSeconds.observe(durationMs / 1000);
    const failedHosts = d.hosts.filter((h) => !h.ok);
    for (const h of failedHosts) metrics.hostsFailed.inc({ reason: h.failure?.code ?? "failed" });
    log.info(
      {
        run_id: run.id,
        who: run.requestedBy,
        source: run.source,
        service: run.service,
        where: run.channel,
        window: run.windowText,
        hosts,
        hosts_failed: failedHosts.map((h) => `${h.name}:${h.failure?.code ?? "failed"}`),
        status: d.status,
        verdicts: d.verdicts.map((v) => `${v.target} ${v.cause}`),
        duration_ms: durationMs,
        ...legs,
        incident_id: run.incidentId,
        masked: d.masked,
      },
      "diagnosis",
    );
  }
}
