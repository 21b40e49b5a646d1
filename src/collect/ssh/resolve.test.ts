import { describe, expect, it } from "vitest";
import { type Lookup, resolveWithin } from "./resolve.js";

/** A resolver that answers only when the test says so, counting the lookups it holds at once. */
function heldResolver() {
  const held = new Map<string, () => void>();
  let most = 0;
  const asked: string[] = [];
  const waiting = new Map<string, () => void>();
  /** Resolves when the resolver is asked for `name`. */
  const whenAsked = (name: string) =>
    asked.includes(name) ? Promise.resolve() : new Promise<void>((resolve) => waiting.set(name, resolve));
  const lookup: Lookup = (name) =>
    new Promise((resolve) => {
      asked.push(name);
      waiting.get(name)?.();
      held.set(name, () => resolve(["127.0.0.1"]));
      most = Math.max(most, held.size);
    });
  const answer = (name: string) => {
    held.get(name)?.();
    held.delete(name);
  };
  return { lookup, asked, answer, whenAsked, most: () => most };
}

describe("resolveWithin", () => {
  it("holds at most two system lookups at once, however many names hang", async () => {
    const r = heldResolver();
    const names = ["a.example", "b.example", "c.example", "d.example", "e.example"];
    // Each caller gives up after 20 ms; the lookups themselves cannot be cancelled and stay held.
    const answers = await Promise.all(names.map((n) => resolveWithin(n, 20, r.lookup)));
    expect(answers).toEqual(names.map(() => "timeout"));
    expect(r.asked).toEqual(["a.example", "b.example"]);
    expect(r.most()).toBe(2);

    // One hanging lookup ends: the first name waiting takes its place, still two at a time.
    r.answer("a.example");
    await r.whenAsked("c.example");
    expect(r.asked).toEqual(["a.example", "b.example", "c.example"]);
    r.answer("b.example");
    r.answer("c.example");
    await r.whenAsked("e.example");
    expect(r.asked).toEqual(names);
    r.answer("d.example");
    r.answer("e.example");
    // Every slot is free again: a new name is looked up at once.
    await expect(resolveWithin("f.example", 1000, async () => ["127.0.0.2"])).resolves.toEqual(["127.0.0.2"]);
    expect(r.most()).toBe(2);
  });

  it("asks once for a name that several callers want at the same time", async () => {
    let calls = 0;
    const lookup: Lookup = async () => {
      calls++;
      return ["127.0.0.3"];
    };
    const out = await Promise.all([1, 2, 3].map(() => resolveWithin("Same.Example", 1000, lookup)));
    expect(out).toEqual([["127.0.0.3"], ["127.0.0.3"], ["127.0.0.3"]]);
    expect(calls).toBe(1);
  });
});
