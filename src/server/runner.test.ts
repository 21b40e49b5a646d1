import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { fuzzConfig } from "../../test/fuzz/fuzz-config.js";
import { CORPUS, CUSTOM_PATTERN, leaks, PLANTED } from "../../test/secrets/corpus.js";
import { UserError } from "../errors.js";
import { SqliteStore } from "../store/sqlite.js";
import type { NewOutbox } from "../store/types.js";
import { createMetrics } from "./metrics.js";
import { OutboxWriter } from "./outbox-writer.js";
import { Runner } from "./runner.js";

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const dir = mkdtempSync(join(tmpdir(), "why502-runner-"));
const store = SqliteStore.open(join(dir, "why502.db"));
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Every outbox entry the runner wrote, in order. */
const sent: NewOutbox[] = [];
class RecordingOutbox extends OutboxWriter {
  override add(e: NewOutbox) {
    sent.push(e);
    return super.add(e);
  }
}

describe("a run that fails", () => {
  it("masks the reason it quotes from a host, in Slack and in the store", async () => {
    // Every planted line of the corpus in one reason, as a bundle or command error could quote host text.
    const reason = `gw: the host answered: ${CORPUS.map((c) => c.text).join("\n")}`;
    let entered: () => void = () => undefined;
    const collecting = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const runner = new Runner({
      collect: async () => {
        entered();
        throw new UserError("bad_input", reason);
      },
      diagnose: async () => {
        throw new Error("not reached: collection fails first");
      },
      store,
      outbox: new RecordingOutbox(
        store,
        () => undefined,
        () => NOW,
      ),
      config: fuzzConfig({ redact: { patterns: [CUSTOM_PATTERN] } }),
      env: {},
      log: pino({ level: "silent" }),
      metrics: createMetrics(async () => 0),
      owner: "test",
      now: () => NOW,
    });
    await store.createRun(
      {
        id: "run-1",
        service: "checkout",
        sinceMs: NOW - 1_800_000,
        windowText: "30m",
        requestedBy: "U0TEST",
        source: "slash",
        channel: "C0TEST",
        parentOutboxId: "run-1.parent",
      },
      NOW,
    );
    runner.wake();
    await collecting;
    await runner.idle();

    const run = await store.getRun("run-1");
    expect(run?.state).toBe("failed");
    // The reason is kept (what failed, and the lines around the secrets), only the secrets are masked.
    expect(run?.error).toContain("connect() failed (111: Connection refused)");
    expect(leaks(run?.error ?? "", PLANTED)).toEqual([]);

    const reply = sent.find((e) => e.id === "run-1.reply");
    const edit = sent.find((e) => e.id === "run-1.final");
    expect(JSON.stringify(reply?.payload)).toContain("Connection refused");
    expect(JSON.stringify(edit?.payload)).toContain("Connection refused");
    expect(leaks(JSON.stringify(sent.map((e) => e.payload)), PLANTED)).toEqual([]);
  });
});
