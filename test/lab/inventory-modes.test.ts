import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import type { Bundle } from "../../src/bundle/schema.js";
import { diagnoseCli, labPerTest } from "./diagnose-cli.js";
import { type Lab, startLab } from "./lab.js";
import { labConfig } from "./lab-config.js";
import { runScenario } from "./scenarios.js";

const labs = labPerTest();

interface ConfigShape {
  services: {
    checkout: {
      gateways: { error_log?: string; access_log?: string }[];
      backends: Record<string, unknown>;
    };
  };
}

async function diagnoseWith(l: Lab, since: string, edit: (c: ConfigShape) => void) {
  const config = labConfig(l.info) as ConfigShape;
  edit(config);
  const path = join(l.dir, "why502-modes.yaml");
  writeFileSync(path, stringify(config));
  const save = join(l.dir, "bundle.json");
  const { diagnosis } = await diagnoseCli<{ verdicts: { target: string; cause: string }[] }>(path, since, [
    "--save",
    save,
  ]);
  const bundle = JSON.parse(readFileSync(save, "utf8")) as Bundle;
  return { verdicts: diagnosis.verdicts.map((v) => `${v.target} ${v.cause}`).sort(), bundle };
}

describe("inventory modes against the lab", () => {
  it("discover: the log paths come from nginx -T", async () => {
    const lab = labs.started(await startLab({ scenario: "stale-upstream" }));
    const summary = await runScenario(lab, "stale-upstream");
    const { verdicts, bundle } = await diagnoseWith(lab, summary.startedAt, (c) => {
      const gw = c.services.checkout.gateways[0];
      if (gw) {
        gw.error_log = "discover";
        gw.access_log = "discover";
      }
    });
    expect(verdicts).toEqual([`${lab.staleTarget} stale_upstream`]);
    const gw = bundle.hosts.find((h) => h.role === "gateway");
    // nginx -T runs once: the second round reads only the logs it named.
    expect(gw?.commands.filter((c) => c.id === "nginx-conf")).toHaveLength(1);
    expect(gw?.clock?.now).toBeDefined();
    expect(gw?.commands.map((c) => [c.id, c.source])).toEqual(
      expect.arrayContaining([
        ["nginx-error-log", lab.info.gateway.nginx.errorLog],
        ["nginx-access-log", lab.info.gateway.nginx.accessLog],
      ]),
    );
  });

  it("from_upstream: every server of the nginx upstream is asked, and one that does not answer is evidence", async () => {
    const lab = labs.started(await startLab({ scenario: "stale-upstream" }));
    const summary = await runScenario(lab, "stale-upstream");
    const { verdicts, bundle } = await diagnoseWith(lab, summary.startedAt, (c) => {
      c.services.checkout.backends = { from_upstream: true, port: 18080 };
    });
    const stale = lab.staleTarget.split(":")[0] ?? "";
    const backendHosts = bundle.hosts.filter((h) => h.role === "backend");
    expect(backendHosts.map((h) => [h.name, h.failure?.code ?? "ok"]).sort()).toEqual(
      [...summary.servers.map((s) => [s.split(":")[0], s === lab.staleTarget ? "unreachable" : "ok"])].sort(),
    );
    // With no instance list there is nothing to call the address stale against: the host not answering is the evidence.
    expect(verdicts).toEqual([`${stale}:18080 host_unreachable`]);
  });
});
