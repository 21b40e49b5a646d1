import { describe, expect, it } from "vitest";
import { SlackSettings } from "../config/schema.js";
import { mayDiagnose, ruleFor } from "./access.js";

const settings = SlackSettings.parse({
  access: {
    checkout: { channels: ["C0CHECKOUT"], users: ["U0ANA"], usergroups: ["S0SRE"] },
    "*": { channels: ["C0OPS"] },
  },
});
const members = async (g: string) => (g === "S0SRE" ? ["U0BOB"] : []);

describe("access rules", () => {
  it("a service's own rule, else *, else anyone", async () => {
    expect(ruleFor(settings, "checkout")?.users).toEqual(["U0ANA"]);
    expect(ruleFor(settings, "search")?.channels).toEqual(["C0OPS"]);
    expect(ruleFor(SlackSettings.parse({}), "search")).toBeUndefined();
    expect(await mayDiagnose(undefined, "x", { user: "U1", channel: "C1" }, members)).toEqual({ ok: true });
  });

  it("users and user group members may, in the listed channels; the refusal says who and where", async () => {
    const rule = ruleFor(settings, "checkout");
    expect(await mayDiagnose(rule, "checkout", { user: "U0ANA", channel: "C0CHECKOUT" }, members)).toEqual({
      ok: true,
    });
    expect(await mayDiagnose(rule, "checkout", { user: "U0BOB", channel: "C0CHECKOUT" }, members)).toEqual({
      ok: true,
    });
    expect(await mayDiagnose(rule, "checkout", { user: "U0EVE", channel: "C0CHECKOUT" }, members)).toEqual({
      ok: false,
      reason: "checkout can be diagnosed only by <@U0ANA>, <!subteam^S0SRE>: ask one of them.",
    });
    expect(await mayDiagnose(rule, "checkout", { user: "U0ANA", channel: "C0RANDOM" }, members)).toEqual({
      ok: false,
      reason: "checkout can be diagnosed only in <#C0CHECKOUT>.",
    });
  });
});
