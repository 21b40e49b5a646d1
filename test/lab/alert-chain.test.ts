// The real alert chain against the lab: nginx's access log → mtail → Prometheus → Alertmanager → a webhook.
//   flock /tmp/why502-lab.lock npx vitest run --config test/lab/vitest.lab.config.ts test/lab/alert-chain.test.ts
// With WHY502_RECORD_ALERT_FIXTURES=1 the oom test also writes the firing and the resolved webhook bodies it
// received to test/lab/alerting/fixtures/.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AlertmanagerPayload } from "../../src/alerts/alertmanager.js";
import { ZERO_TIME } from "../../src/alerts/types.js";
import { type AccessLogWatch, watchAccessLog } from "./alerting/access-log-watch.js";
import { type AlertChain, startAlertChain } from "./alerting/alert-chain.js";
import { RECEIVER } from "./alerting/alertmanager.js";
import { ALERT_NAME } from "./alerting/prometheus.js";
import {
  type ReceivedHook,
  startWebhookReceiver,
  type WebhookReceiver,
} from "./alerting/webhook-receiver.js";
import { accessEntries } from "./evidence.js";
import { type Lab, startLab } from "./lab.js";
import { alive } from "./procs.js";
import { runScenario } from "./scenarios.js";
import { waitUntil } from "./wait.js";

const TOKEN = "lab-alertmanager-token";
const FIXTURES = new URL("./alerting/fixtures/", import.meta.url).pathname;
const RECORD = process.env.WHY502_RECORD_ALERT_FIXTURES === "1";
/** short, so the alert resolves within the test; Prometheus scrapes and evaluates every second */
const RATE_WINDOW_S = 10;
const GROUP_KEY = `{}:{alertname="${ALERT_NAME}", service="checkout"}`;

let lab: Lab | undefined;
let chain: AlertChain | undefined;
let receiver: WebhookReceiver | undefined;
let watch: AccessLogWatch | undefined;
let scratch: string | undefined;
afterEach(async () => {
  const [c, l, r, w, s] = [chain, lab, receiver, watch, scratch];
  chain = lab = receiver = watch = scratch = undefined;
  w?.close();
  const pids = c === undefined ? [] : Object.values(c.pids);
  const results = await Promise.allSettled([c?.stop(), l?.stop(), r?.close()]);
  if (s !== undefined) await rm(s, { recursive: true, force: true });
  for (const pid of pids) expect(alive(pid), `pid ${pid} still alive after stop()`).toBe(false);
  const failed = results.find((x) => x.status === "rejected");
  if (failed !== undefined) throw failed.reason;
});

const payloadOf = (h: ReceivedHook) => AlertmanagerPayload.parse(h.json);
const statusOf = (h: ReceivedHook) => AlertmanagerPayload.safeParse(h.json).data?.status;

/** Writes a webhook body as received (pretty-printed) to test/lab/alerting/fixtures/. */
async function record(name: string, h: ReceivedHook): Promise<void> {
  await mkdir(FIXTURES, { recursive: true });
  await writeFile(join(FIXTURES, name), `${JSON.stringify(h.json, null, 2)}\n`);
}

/** mtail's counters as Prometheus reads them: `name{labels}` → value. */
async function mtailMetrics(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^(\w+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m?.[1] !== undefined) out.set(m[1], Number(m[2]));
  }
  return out;
}

describe("the alert chain: nginx's access log → mtail → Prometheus → Alertmanager → webhook", () => {
  it("oom: real 502s page as a firing webhook, and the recovery as a resolved one", async () => {
    lab = await startLab({ scenario: "oom", ssh: false });
    receiver = await startWebhookReceiver();
    chain = await startAlertChain({
      accessLog: lab.nginx.accessLog,
      webhookUrl: receiver.url,
      bearerToken: TOKEN,
      rateWindow: `${RATE_WINDOW_S}s`,
    });
    watch = await watchAccessLog(lab.nginx.accessLog);
    const r = receiver;
    const w = watch;

    const summary = await runScenario(lab, "oom");
    expect(summary.requests.byStatus["502"]).toBeGreaterThan(0);
    const first502 = w.first(502);
    if (first502 === undefined) throw new Error("no 502 in the access log");

    const firing = await r.next((h) => statusOf(h) === "firing", {
      what: "a firing webhook",
      timeoutMs: 20_000,
    });
    console.log(`first 502 in the access log → firing webhook: ${firing.at - first502.at} ms`);
    expect(firing.at).toBeGreaterThanOrEqual(first502.at);
    expect(firing.method).toBe("POST");
    expect(firing.path).toBe("/hooks/alertmanager");
    expect(firing.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(firing.headers["content-type"]).toMatch(/^application\/json/);
    const fired = payloadOf(firing);
    expect(fired).toMatchObject({
      version: "4",
      status: "firing",
      receiver: RECEIVER,
      groupKey: GROUP_KEY,
      groupLabels: { alertname: ALERT_NAME, service: "checkout" },
      commonLabels: { alertname: ALERT_NAME, service: "checkout", severity: "page" },
      externalURL: chain.alertmanagerUrl,
      truncatedAlerts: 0,
    });
    expect(fired.alerts).toHaveLength(1);
    const alert = fired.alerts[0];
    expect(alert?.status).toBe("firing");
    expect(alert?.labels).toEqual({ alertname: ALERT_NAME, service: "checkout", severity: "page" });
    expect(alert?.annotations.summary).toBe("nginx answers 502 for checkout");
    expect(alert?.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(alert?.endsAt).toBe(ZERO_TIME);
    expect(alert?.generatorURL?.startsWith(`${chain.prometheusUrl}/graph?`)).toBe(true);
    const startsAt = Date.parse(alert?.startsAt ?? "");
    // Prometheus's evaluation that saw the first 502 (mtail may count a line moments before it is watched).
    expect(startsAt).toBeGreaterThanOrEqual(first502.at - 500);
    expect(startsAt).toBeLessThanOrEqual(firing.at);

    // mtail counted every line nginx wrote, 502s by the upstream they came from.
    const logged = await accessEntries(lab);
    const target = summary.backends[0]?.target ?? "";
    const bad = logged.filter((e) => e.status === 502);
    expect(bad.some((e) => e.upstream === target)).toBe(true);
    const m = chain.mtailUrl;
    const metrics = await waitUntil(
      async () => {
        const got = await mtailMetrics(m);
        const total = [...got]
          .filter(([k]) => k.startsWith("nginx_responses_total{"))
          .reduce((s, [, v]) => s + v, 0);
        return total === logged.length ? got : undefined;
      },
      { what: `mtail counting ${logged.length} access log lines`, timeoutMs: 5000 },
    );
    expect(metrics.get("nginx_bad_gateway_total")).toBe(bad.length);
    expect(metrics.get(`nginx_responses_total{status="502",upstream="${target}"}`)).toBe(
      bad.filter((e) => e.upstream === target).length,
    );
    expect(metrics.get("nginx_log_lines_unparsed_total")).toBe(0);

    // The backend is back: a new process (the supervisor restarted it) answers the scenario's last requests.
    // No more are sent: the app in oom mode fails again at its 8th request.
    const outcome = summary.backends[0];
    expect(outcome?.pidAfter).toBeDefined();
    expect(outcome?.pidAfter).not.toBe(outcome?.pidBefore);
    const last502 = w.last(502);
    if (last502 === undefined) throw new Error("no 502 in the access log");
    const since = w.lines.slice(w.lines.indexOf(last502) + 1);
    expect(since.some((l) => l.status === 200 && l.line.endsWith(`ua="${target}" us="200"`))).toBe(true);

    const resolved = await r.next((h) => statusOf(h) === "resolved", {
      what: "a resolved webhook",
      timeoutMs: 30_000,
    });
    console.log(`last 502 in the access log → resolved webhook: ${resolved.at - last502.at} ms`);
    console.log(
      `webhooks: ${r.received.map((h) => `${statusOf(h)} +${h.at - first502.at} ms (${payloadOf(h).alerts.length} alert)`).join(", ")}`,
    );
    expect(resolved.headers.authorization).toBe(`Bearer ${TOKEN}`);
    const ended = payloadOf(resolved);
    expect(ended).toMatchObject({
      version: "4",
      status: "resolved",
      groupKey: GROUP_KEY,
      receiver: RECEIVER,
    });
    expect(ended.alerts).toHaveLength(1);
    const gone = ended.alerts[0];
    expect(gone?.status).toBe("resolved");
    expect(gone?.fingerprint).toBe(alert?.fingerprint);
    expect(gone?.startsAt).toBe(alert?.startsAt);
    const endsAt = Date.parse(gone?.endsAt ?? "");
    expect(endsAt).toBeGreaterThan(last502.at);
    expect(endsAt).toBeLessThanOrEqual(resolved.at);
    // It fired for as long as the rate window held the 502s' increase: at least the window less a scrape.
    expect(endsAt - first502.at).toBeGreaterThanOrEqual(RATE_WINDOW_S * 1000 - 2000);

    if (RECORD) {
      await record("alertmanager-firing.json", firing);
      await record("alertmanager-resolved.json", resolved);
    }
  });

  it("fast path: alerts posted to Alertmanager's API reach the webhook; one resolves inside a firing group, then the group resolves", async () => {
    scratch = await mkdtemp(join(tmpdir(), "why502-alert-fast-"));
    const accessLog = join(scratch, "access.log");
    await writeFile(accessLog, "");
    receiver = await startWebhookReceiver();
    chain = await startAlertChain({ accessLog, webhookUrl: receiver.url, service: "payments" });
    const r = receiver;
    const c = chain;

    const labels = { alertname: ALERT_NAME, service: "payments", severity: "page" };
    const one = { labels: { ...labels, instance: "127.0.0.11:18080" }, annotations: { summary: "one" } };
    const two = { labels: { ...labels, instance: "127.0.0.12:18080" }, annotations: { summary: "two" } };
    const startsAt = new Date().toISOString();
    const posted = Date.now();
    await c.postAlerts([
      { ...one, startsAt },
      { ...two, startsAt },
    ]);
    // One POST of two alerts: both reach the webhook in one group, at once or within a group_interval.
    const both = await r.next((h) => statusOf(h) === "firing" && payloadOf(h).alerts.length === 2, {
      what: "a firing webhook with both alerts",
      timeoutMs: 10_000,
    });
    console.log(`postAlerts → first webhook: ${(r.received[0]?.at ?? posted) - posted} ms`);
    const fired = payloadOf(both);
    expect(both.headers.authorization).toBeUndefined();
    expect(fired).toMatchObject({
      status: "firing",
      groupKey: `{}:{alertname="${ALERT_NAME}", service="payments"}`,
      commonLabels: labels,
    });
    expect(fired.alerts.map((a) => a.labels.instance).sort()).toEqual([
      "127.0.0.11:18080",
      "127.0.0.12:18080",
    ]);
    for (const a of fired.alerts) {
      // Go's RFC 3339 drops trailing zeros of the fraction: compare instants, not strings.
      expect(Date.parse(a.startsAt)).toBe(Date.parse(startsAt));
      expect(a.endsAt).toBe(ZERO_TIME);
    }
    const instances = (h: ReceivedHook) => payloadOf(h).alerts.map((a) => [a.labels.instance, a.status]);

    // endsAt in the past resolves an alert. One of two: the group still fires, the resolved one inside it.
    const endOne = new Date().toISOString();
    let seen = r.received.length;
    await c.postAlerts([{ ...one, startsAt, endsAt: endOne }]);
    const partly = await r.next((h) => payloadOf(h).alerts.some((a) => a.status === "resolved"), {
      what: "a webhook with a resolved alert",
      timeoutMs: 10_000,
      after: seen,
    });
    expect(statusOf(partly)).toBe("firing");
    expect(instances(partly)).toEqual([
      ["127.0.0.11:18080", "resolved"],
      ["127.0.0.12:18080", "firing"],
    ]);
    expect(Date.parse(payloadOf(partly).alerts[0]?.endsAt ?? "")).toBe(Date.parse(endOne));

    // Then the other: the group's resolved webhook holds only the alert not yet sent as resolved.
    seen = r.received.length;
    await c.postAlerts([{ ...two, startsAt, endsAt: new Date().toISOString() }]);
    const resolved = await r.next((h) => statusOf(h) === "resolved", {
      what: "a resolved webhook",
      timeoutMs: 10_000,
      after: seen,
    });
    expect(instances(resolved)).toEqual([["127.0.0.12:18080", "resolved"]]);
    expect(r.received.slice(seen).map(statusOf)).toEqual(["resolved"]);
    if (RECORD) await record("alertmanager-partly-resolved.json", partly);
  });
});
