import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { alertmanager } from "./alertmanager.js";
import { generic } from "./generic.js";

const fixture = (name: string) =>
  JSON.parse(
    readFileSync(new URL(`../../test/lab/alerting/fixtures/${name}`, import.meta.url), "utf8"),
  ) as unknown;

describe("Alertmanager's webhook, as Alertmanager 0.25 really sent it in the lab", () => {
  it("a firing: one alert per fingerprint, the zero endsAt read as none", () => {
    const p = alertmanager.schema.parse(fixture("alertmanager-firing.json"));
    const alerts = alertmanager.toAlerts(p);
    expect(alerts.length).toBeGreaterThan(0);
    for (const a of alerts) {
      expect(a).toMatchObject({ source: "alertmanager", status: "firing", labels: { service: "checkout" } });
      expect(a.key).toMatch(/^[0-9a-f]{16}$/);
      expect(Date.parse(a.startsAt ?? "")).not.toBeNaN();
      expect(a.endsAt).toBeUndefined();
    }
  });

  it("a resolution keeps the firing's fingerprint and start; a partly resolved group says so per alert", () => {
    const firing = alertmanager.toAlerts(alertmanager.schema.parse(fixture("alertmanager-firing.json")));
    const resolved = alertmanager.toAlerts(alertmanager.schema.parse(fixture("alertmanager-resolved.json")));
    expect(resolved.every((a) => a.status === "resolved" && a.endsAt !== undefined)).toBe(true);
    expect(resolved.map((a) => [a.key, a.startsAt])).toEqual(firing.map((a) => [a.key, a.startsAt]));
    const partly = alertmanager.schema.parse(fixture("alertmanager-partly-resolved.json"));
    expect(partly.status).toBe("firing");
    expect(alertmanager.toAlerts(partly).map((a) => a.status)).toContain("resolved");
  });

  it("the generic hook takes one alert or a list, and refuses unknown fields", () => {
    expect(
      generic.toAlerts(generic.schema.parse({ service: "checkout", status: "firing" }))[0],
    ).toMatchObject({
      key: "checkout",
      labels: { service: "checkout" },
    });
    expect(
      generic.schema.safeParse({ service: "checkout", status: "firing", command: "rm -rf /" }).success,
    ).toBe(false);
  });
});
