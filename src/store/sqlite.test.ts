import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MIGRATIONS } from "./migrations.js";
import { SqliteStore } from "./sqlite.js";

let dir: string;
let store: SqliteStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "why502-store-"));
  store = SqliteStore.open(join(dir, "why502.db"));
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const run = (id: string) => ({
  id,
  service: "checkout",
  sinceMs: 1000,
  windowText: "30m",
  requestedBy: "U0ANA",
  source: "slash" as const,
  channel: "C0CHECKOUT",
  parentOutboxId: `${id}.parent`,
});

describe("SqliteStore", () => {
  it("migrates once and keeps its version across opens", async () => {
    expect(store.version()).toBe(MIGRATIONS.length);
    await store.createRun(run("r1"), 10);
    await store.close();
    store = SqliteStore.open(join(dir, "why502.db"));
    expect(store.version()).toBe(MIGRATIONS.length);
    expect((await store.getRun("r1"))?.service).toBe("checkout");
  });

  it("leases a run to one worker; an expired lease lets another take it", async () => {
    await store.createRun(run("r1"), 10);
    const a = await store.claimRun("a", 100, 1000);
    expect(a?.id).toBe("r1");
    expect(a?.attempts).toBe(1);
    expect(await store.claimRun("b", 500, 1000)).toBeUndefined();
    expect(await store.renewRun("r1", "b", 5000)).toBe(false);
    const b = await store.claimRun("b", 1200, 1000);
    expect(b?.id).toBe("r1");
    expect(b?.attempts).toBe(2);
    expect(await store.renewRun("r1", "b", 5000)).toBe(true);
  });

  it("a restart releases every lease: what was in flight is resumed at once", async () => {
    await store.createRun(run("r1"), 10);
    await store.claimRun("old", 100, 60_000);
    await store.enqueue({ id: "p", kind: "post", channel: "C", payload: { text: "x" } }, 100);
    expect(await store.claimOutbox("old", 100, 10, 60_000)).toHaveLength(1);
    await store.close();
    store = SqliteStore.open(join(dir, "why502.db"));
    expect((await store.claimRun("new", 200, 60_000))?.id).toBe("r1");
    expect((await store.claimOutbox("new", 200, 10, 60_000)).map((e) => e.id)).toEqual(["p"]);
  });

  it("requests that arrive together start one run: the others join it", async () => {
    const results = await Promise.all(["a", "b", "c"].map((id) => store.createRunIfIdle(run(id), 10)));
    expect(results.map((r) => r.created)).toEqual([true, false, false]);
    expect(new Set(results.map((r) => r.run.id))).toEqual(new Set(["a"]));
    await store.failRun("a", "x", 20);
    expect((await store.createRunIfIdle(run("d"), 30)).created).toBe(true);
  });

  it("finishing a run keeps its verdicts, diagnosis and gzipped bundle", async () => {
    await store.createRun(run("r1"), 10);
    await store.finishRun("r1", {
      finishedAt: 20,
      durationMs: 10,
      hostsFailed: [{ name: "b2", code: "unreachable" }],
      verdicts: [{ target: "127.0.0.11:18080", cause: "oom_killed" }],
      status: "failing",
      diagnosisJson: '{"d":1}',
      bundleGz: gzipSync('{"b":"x".repeat(10)}'),
    });
    const r = await store.getRun("r1");
    expect(r?.state).toBe("done");
    expect(r?.verdicts).toEqual([{ target: "127.0.0.11:18080", cause: "oom_killed" }]);
    expect(await store.runBundle("r1")).toBe('{"b":"x".repeat(10)}');
    expect(await store.runDiagnosis("r1")).toBe('{"d":1}');
  });

  it("a reply waits for its parent message, and posts to one channel keep their order", async () => {
    await store.enqueue({ id: "parent", kind: "post", channel: "C", payload: { text: "p" } }, 1);
    await store.enqueue(
      { id: "reply", kind: "post", channel: "C", parentId: "parent", payload: { text: "r" } },
      2,
    );
    await store.enqueue(
      { id: "edit", kind: "update", channel: "C", targetId: "parent", payload: { text: "e" } },
      3,
    );
    await store.enqueue({ id: "other", kind: "post", channel: "D", payload: { text: "o" } }, 4);
    expect((await store.claimOutbox("w", 10, 10, 1000)).map((e) => e.id)).toEqual(["parent", "other"]);
    await store.outboxDone("parent", "111.000100", 11);
    await store.outboxDone("other", "111.000200", 11);
    expect((await store.claimOutbox("w", 12, 10, 1000)).map((e) => e.id)).toEqual(["reply", "edit"]);
  });

  it("the parent's ts becomes the run's thread", async () => {
    await store.createRun(run("r1"), 10);
    await store.enqueue({ id: "r1.parent", kind: "post", channel: "C0CHECKOUT", payload: { text: "p" } }, 10);
    await store.outboxDone("r1.parent", "123.000001", 20);
    expect((await store.runByThread("C0CHECKOUT", "123.000001"))?.id).toBe("r1");
  });

  it("pending edits of one message merge into the newest; an id already stored is kept", async () => {
    const a = await store.enqueue(
      {
        id: "e1",
        kind: "update",
        channel: "C",
        targetId: "p",
        coalesceKey: "edit:p",
        payload: { text: "1/3" },
      },
      1,
    );
    const b = await store.enqueue(
      {
        id: "e2",
        kind: "update",
        channel: "C",
        targetId: "p",
        coalesceKey: "edit:p",
        payload: { text: "2/3" },
      },
      2,
    );
    expect(b.id).toBe(a.id);
    expect(b.payload).toEqual({ text: "2/3" });
    await store.enqueue({ id: "x", kind: "post", channel: "C", payload: { text: "first" } }, 3);
    const again = await store.enqueue(
      { id: "x", kind: "post", channel: "C", payload: { text: "second" } },
      4,
    );
    expect(again.payload).toEqual({ text: "first" });
    expect(await store.outboxDepth()).toBe(2);
  });

  it("a message that can never be posted takes what depends on it along", async () => {
    await store.enqueue({ id: "parent", kind: "post", channel: "C", payload: { text: "p" } }, 1);
    await store.enqueue(
      { id: "reply", kind: "post", channel: "C", parentId: "parent", payload: { text: "r" } },
      2,
    );
    await store.enqueue(
      { id: "react", kind: "reaction_add", channel: "C", targetId: "parent", payload: { name: "x" } },
      3,
    );
    await store.outboxDead("parent", "channel_not_found", 5);
    expect((await store.getOutbox("reply"))?.state).toBe("dead");
    expect((await store.getOutbox("react"))?.error).toMatch(/channel_not_found/);
    expect(await store.outboxDepth()).toBe(0);
  });

  it("feedback is one answer per person per run, the latest wins", async () => {
    await store.recordFeedback({ runId: "r1", user: "U1", answer: "yes", causes: ["oom_killed"], at: 1 });
    await store.recordFeedback({ runId: "r1", user: "U1", answer: "no", causes: ["oom_killed"], at: 2 });
    await store.recordFeedback({ runId: "r1", user: "U2", answer: "yes", causes: ["oom_killed"], at: 3 });
    expect((await store.feedback("r1")).map((f) => `${f.user}:${f.answer}`)).toEqual(["U1:no", "U2:yes"]);
  });
});
