import { describe, expect, it } from "vitest";
import { loadBundle } from "../bundle/load.js";
import type { Bundle } from "../bundle/schema.js";
import { diagnoseBundle } from "../diagnosis/diagnose.js";
import { loadPlaybook } from "../playbook/loader.js";

const root = new URL("../../", import.meta.url).pathname;
const playbook = loadPlaybook(`${root}playbooks/why502.yaml`);

/**
 * The lab's oom case (checkout-1 OOM-killed and restarted, recorded over SSH) with checkout-1's connection
 * lost in the middle of its collection: the sections in `kept` arrived whole, the next one was cut, the rest
 * never came; the host failure as collect.ts writes it.
 */
function lostDuring(kept: string[]): Bundle {
  const bundle = loadBundle(`${root}playbooks/cases/lab-oom/bundle.json`);
  const host = bundle.hosts.find((h) => h.name === "checkout-1");
  if (!host) throw new Error("the case has checkout-1");
  const cut = host.commands.find((c) => !kept.includes(c.id));
  host.commands = [
    ...host.commands.filter((c) => kept.includes(c.id)),
    ...(cut
      ? [
          {
            ...cut,
            stdout: cut.stdout.slice(0, 40),
            failure: {
              code: "unreachable" as const,
              message: "the connection was lost before the section finished",
            },
          },
        ]
      : []),
  ];
  host.failure = {
    code: "unreachable",
    message: `The connection to checkout-1 (127.0.0.11:2222) was lost while a command was running; what arrived before is kept (partial: ${kept.length} of 5 sections).`,
  };
  return bundle;
}

describe("a backend host lost in the middle of its collection", () => {
  it("is diagnosed from what arrived when that shows the process died: the kernel's OOM kill", () => {
    const d = diagnoseBundle(lostDuring(["ps", "ss", "journal-file", "kernel"]), playbook);
    expect(d.verdicts.map((v) => `${v.target} ${v.cause}`)).toEqual(["127.0.0.11:18080 oom_killed"]);
    const evidence = d.verdicts[0]?.evidence.map((e) => e.text).join("\n") ?? "";
    expect(evidence).toContain("Memory cgroup out of memory: Killed process");
    // The host's loss is still said, in the hosts table and on the decision path.
    expect(d.hosts.find((h) => h.name === "checkout-1")?.failure?.code).toBe("unreachable");
    expect(d.trace.find((t) => t.step === "reachable")?.value).toMatch(
      /^in part \(unreachable during collection\)/,
    );
  });

  it("stays a host that did not answer when what arrived does not say why the process ended", () => {
    // ps shows the process started again after the first 502: a restart, but its cause was in what was lost.
    const d = diagnoseBundle(lostDuring(["ps", "ss"]), playbook);
    expect(d.verdicts.map((v) => `${v.target} ${v.cause}`)).toEqual(["127.0.0.11:18080 host_unreachable"]);
    // Nothing of the arrived sections is cited for it: they prove nothing.
    const fromHost = d.verdicts[0]?.evidence.filter((e) => e.host === "checkout-1") ?? [];
    expect(fromHost.map((e) => e.source)).toEqual(["ssh"]);
  });
});
