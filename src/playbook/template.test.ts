import { describe, expect, it } from "vitest";
import { formatValue, splitTemplate } from "./template.js";

describe("templates", () => {
  it("splits literals and CEL placeholders", () => {
    expect(splitTemplate("pid {{ target.pid }} at {{target.oomTime}}.")).toEqual([
      { literal: "pid ", expr: "target.pid" },
      { literal: " at ", expr: "target.oomTime" },
      { literal: "." },
    ]);
  });

  it("formats values as prose", () => {
    expect(formatValue(2)).toBe("2");
    expect(formatValue(2.0004)).toBe("2");
    expect(formatValue(1.25)).toBe("1.25");
    expect(formatValue(7n)).toBe("7");
    expect(formatValue(["a", "b"])).toBe("a, b");
    expect(formatValue([])).toBe("none");
    expect(formatValue(true)).toBe("yes");
  });
});
