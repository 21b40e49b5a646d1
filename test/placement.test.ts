import { describe, expect, it } from "vitest";
import { loadBundle } from "../src/bundle/load.js";
import { diagnoseBundle } from "../src/diagnosis/diagnose.js";
import { loadPlaybook } from "../src/playbook/loader.js";

const root = new URL("../", import.meta.url).pathname;
const playbook = loadPlaybook(`${root}playbooks/why502.yaml`);
const stale = () => loadBundle(`${root}playbooks/cases/lab-stale-upstream/bundle.json`);
const verdicts = (b: ReturnType<typeof stale>) =>
  diagnoseBundle(b, playbook).verdicts.map((v) => `${v.target} ${v.cause}`);

describe("placement: inventories name hosts, nginx logs IPs", () => {
  it("matches an instance by the IPs its name resolved to", () => {
    const b = stale();
    const [first, second] = b.backends;
    if (!first || !second) throw new Error("the case has two backends");
    first.address = "checkout-1.internal";
    first.addresses = ["127.0.0.11"];
    second.address = "checkout-2.internal";
    second.addresses = ["127.0.0.12"];
    expect(verdicts(b)).toEqual(["127.0.0.13:18080 stale_upstream"]);
  });

  it("does not call an address stale while an instance's name could not be resolved", () => {
    const b = stale();
    const second = b.backends[1];
    if (!second) throw new Error("the case has two backends");
    second.address = "checkout-2.internal";
    const host = b.hosts.find((h) => h.name === second.host);
    if (host) host.addresses = ["checkout-2.internal"];
    expect(verdicts(b)).toEqual(["127.0.0.13:18080 inconclusive"]);
  });
});
