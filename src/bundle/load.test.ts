import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isUserError } from "../errors.js";
import { loadBundle, MAX_BUNDLE_BYTES, parseBundleText } from "./load.js";

const root = new URL("../../", import.meta.url).pathname;
const oom = readFileSync(join(root, "playbooks/cases/lab-oom/bundle.json"), "utf8");
const dir = mkdtempSync(join(tmpdir(), "why502-bundle-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The one-sentence message and hint a person reads, or a failure when nothing (or a stack) was thrown. */
function refusal(f: () => unknown): { message: string; hint: string | undefined } {
  try {
    f();
  } catch (e) {
    if (isUserError(e)) return { message: e.message, hint: e.hint };
    throw e;
  }
  throw new Error("expected a refusal");
}

/** A file of `bytes` bytes that takes no disk: sparse, all zeros. */
function sparse(name: string, bytes: number): string {
  const path = join(dir, name);
  writeFileSync(path, "");
  truncateSync(path, bytes);
  return path;
}

describe("loadBundle: a bundle too large to read", () => {
  it("over the limit Node can read (about 540 MB) is refused as too large, not as missing", () => {
    const path = sparse("huge.json", 540_000_000);
    const r = refusal(() => loadBundle(path));
    expect(r.message).toBe(
      `${path}: the bundle has 540000000 bytes, more than the ${MAX_BUNDLE_BYTES} bytes (512 MiB) why502 reads.`,
    );
    expect(r.hint).toMatch(
      /^Collect it again with a shorter --since or a smaller defaults\.max_bytes, or cut it/,
    );
  });

  it("the limit is checked before reading: a real bundle over a small limit is refused", () => {
    const path = join(dir, "small.json");
    writeFileSync(path, oom);
    expect(refusal(() => loadBundle(path, undefined, 1000)).message).toBe(
      `${path}: the bundle has ${Buffer.byteLength(oom)} bytes, more than the 1000 bytes why502 reads.`,
    );
    expect(loadBundle(path).service).toBe("checkout");
  });

  it("a text too long for Node found only while reading (a pipe has no size) is refused the same way", () => {
    const path = sparse("just-over.json", MAX_BUNDLE_BYTES + 1);
    expect(refusal(() => loadBundle(path, undefined, Number.POSITIVE_INFINITY)).message).toBe(
      `${path}: the bundle holds more than the ${MAX_BUNDLE_BYTES} bytes (512 MiB) why502 reads.`,
    );
  });

  it("a missing file is still said to be missing", () => {
    expect(refusal(() => loadBundle(join(dir, "nope.json"))).message).toBe(
      `Cannot read bundle ${join(dir, "nope.json")}: the file does not exist or is not readable.`,
    );
  });
});

describe("parseBundleText: host names", () => {
  it("refuses a host name given twice, naming both places", () => {
    const b = JSON.parse(oom);
    b.hosts[2].name = b.hosts[1].name;
    const r = refusal(() => parseBundleText(JSON.stringify(b), "dup.json"));
    expect(r.message).toBe(
      'dup.json: hosts[2].name: "checkout-1" is already the name of hosts[1], and a host appears once in a bundle.',
    );
    expect(r.hint).toBe("Merge the two entries' commands into one host, or rename one; see docs/bundle.md.");
  });

  it("a gateway copied under its own name is refused too, however many copies", () => {
    const b = JSON.parse(oom);
    for (let i = 0; i < 500; i++) b.hosts.push(b.hosts[0]);
    expect(refusal(() => parseBundleText(JSON.stringify(b), "dup.json")).message).toMatch(
      /^dup\.json: hosts\[3\]\.name: "gw" is already the name of hosts\[0\]/,
    );
  });
});
