import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadBundle } from "../bundle/load.js";
import type { Bundle } from "../bundle/schema.js";
import { loadPlaybook } from "../playbook/loader.js";
import { diagnoseBundle } from "./diagnose.js";
import { renderText } from "./render/text.js";

// A gateway error log cut at its byte cap: the diagnosis says so in words, which host and log and how many
// bytes were kept, whatever was found in what was read (recorded lab cases, their log marked cut).

const root = new URL("../../", import.meta.url).pathname;
const playbook = loadPlaybook(join(root, "playbooks/why502.yaml"));

function cutCase(name: string): { bundle: Bundle; source: string; bytes: number } {
  const bundle = loadBundle(join(root, "playbooks/cases", name, "bundle.json"));
  const gw = bundle.hosts.find((h) => h.role === "gateway");
  const log = gw?.commands.find((c) => c.kind === "nginx-error");
  if (!log) throw new Error(`case ${name} has no gateway error log`);
  log.truncated = true;
  return { bundle, source: log.source, bytes: Buffer.byteLength(log.stdout) };
}

describe("a cut gateway error log is said in the diagnosis", () => {
  it("with a verdict: the summary still names the host, the log and the bytes kept", () => {
    const { bundle, source, bytes } = cutCase("lab-crash");
    const whole = diagnoseBundle(loadBundle(join(root, "playbooks/cases/lab-crash/bundle.json")), playbook);
    const d = diagnoseBundle(bundle, playbook);
    expect(d.status).toBe("failing");
    expect(d.verdicts).toEqual(whole.verdicts);
    expect(bytes).toBeGreaterThan(0);
    const said = `gw's error log ${source} was cut to its last ${bytes} bytes (byte cap, or rotated files left unread): the window's start is missing, and what it held is not in these verdicts.`;
    expect(d.summary).toBe(`${whole.summary.replace(/\.$/, "")}. ${said}`);
    // shown by the renderers as they stand: the summary line
    expect(renderText(d, { color: false })).toContain(said);
    // a whole log adds nothing
    expect(whole.summary).not.toContain("was cut");
  });

  it("without a verdict: not healthy, and the same words with the bytes", () => {
    const { bundle, source, bytes } = cutCase("lab-healthy");
    const d = diagnoseBundle(bundle, playbook);
    expect(d.status).toBe("unknown");
    expect(d.summary).toContain(
      `gw's error log ${source} was cut to its last ${bytes} bytes (byte cap, or rotated files left unread), so the window's start is missing.`,
    );
    expect(d.summary.match(/was cut/g)).toHaveLength(1);
  });
});
