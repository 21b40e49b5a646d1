import { renderEvidenceReport } from "../diagnosis/render/report.js";
import type { Diagnosis } from "../diagnosis/types.js";
import type { OutboxWriter } from "../server/outbox-writer.js";
import type { Run, Store } from "../store/types.js";

/** What the evidence upload reads and writes. */
export interface EvidenceDeps {
  store: Store;
  outbox: OutboxWriter;
  now: () => number;
}

/** Upload the run's masked bundle and its evidence report into the thread, once per run. */
export async function uploadEvidence(
  deps: EvidenceDeps,
  run: Run,
  user: string,
): Promise<string | undefined> {
  if (!run.channel || !run.parentOutboxId) return "This run has no thread to upload into.";
  if (run.state !== "done") return "The diagnosis is still running: ask again when it has landed.";
  const id = `${run.id}.evidence`;
  if (await deps.store.getOutbox(id))
    return "The full evidence of this run is already in the thread (or on its way).";
  const [diagnosisJson, bundleJson] = await Promise.all([
    deps.store.runDiagnosis(run.id),
    deps.store.runBundle(run.id),
  ]);
  if (!diagnosisJson || !bundleJson) return "The evidence of this run was not kept.";
  const d = JSON.parse(diagnosisJson) as Diagnosis;
  const base = `why502-${run.service}-${run.id.slice(0, 8)}`;
  await deps.outbox.add({
    id,
    kind: "upload",
    channel: run.channel,
    parentId: run.parentOutboxId,
    runId: run.id,
    payload: {
      initial_comment: `Full evidence for ${run.service}, asked by <@${user}>: the collected bundle (secrets masked; replay it with \`why502 diagnose ${run.service} --bundle ${base}.bundle.json\`) and a report with every cited line and the decision path.`,
      files: [
        {
          filename: `${base}.report.md`,
          title: `why502 ${run.service}: evidence report`,
          content: renderEvidenceReport(d),
        },
        { filename: `${base}.bundle.json`, title: `why502 ${run.service}: bundle`, content: bundleJson },
      ],
    },
  });
  await deps.store.recordAction({ runId: run.id, user, action: "evidence", at: deps.now() });
  return undefined;
}
