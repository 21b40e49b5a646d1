import { describe, expect, it } from "vitest";
import { loadBundle } from "../bundle/load.js";
import { deriveFacts } from "./derive.js";

const bundle = (name: string) =>
  loadBundle(new URL(`../../playbooks/cases/${name}/bundle.json`, import.meta.url).pathname);

describe("the listener of a target", () => {
  it("a JVM's dual-stack socket on the target's IPv4 address (`[::ffff:127.0.0.11]:18080`) is listening there", () => {
    const b = bundle("lab-heap-exhausted");
    const ss = b.hosts.find((h) => h.name === "checkout-1")?.commands.find((c) => c.id === "ss");
    expect(ss?.stdout).toMatch(/\[::ffff:127\.0\.0\.11\]:18080/);
    const [target] = deriveFacts(b).targets;
    expect(target?.facts).toMatchObject({
      address: "127.0.0.11:18080",
      listenerKnown: true,
      listening: true,
    });
  });
});
