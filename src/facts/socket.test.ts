import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Bundle, HostBundle } from "../bundle/schema.js";
import { endpointOf, sameSocket } from "./address.js";
import { deriveFacts } from "./derive.js";

const caseBundle = (name: string) =>
  JSON.parse(
    readFileSync(new URL(`../../playbooks/cases/${name}/bundle.json`, import.meta.url), "utf8"),
  ) as Bundle;

/** Real nginx 1.22 lines for unix sockets behind proxy_pass, uwsgi_pass and fastcgi_pass (TZ=Europe/Berlin). */
const UNIX_LINES = readFileSync(
  new URL("../evidence/__fixtures__/nginx-error/captured-1.22-unix.txt", import.meta.url),
  "utf8",
);
const RUN = "/tmp/why502-ngx.uBgA3o/run";

const backendHost = (name: string): HostBundle => ({
  name,
  address: "127.0.0.1",
  role: "backend",
  addresses: [],
  commands: [],
});

/** The captured error log on a gateway, with an inventory naming some of its sockets' instances. */
function capturedWith(sockets: Record<string, string>): Bundle {
  return {
    version: 1,
    service: "capture",
    collectedAt: "2026-11-25T12:27:30.000Z",
    window: { since: "2026-11-25T12:25:00.000Z", until: "2026-11-25T12:27:30.000Z" },
    backends: Object.entries(sockets).map(([host, socket]) => ({ host, address: "127.0.0.1", socket })),
    hosts: [
      {
        name: "gw",
        address: "127.0.0.1",
        role: "gateway",
        addresses: ["127.0.0.1"],
        clock: { now: "2026-11-25T12:27:30.000Z", utcOffsetMinutes: 60, timezone: "Europe/Berlin" },
        commands: [
          {
            id: "nginx-error-log",
            kind: "nginx-error",
            source: "/var/log/nginx/error.log",
            exitCode: 0,
            stdout: UNIX_LINES,
            stderr: "",
            durationMs: 0,
            truncated: false,
          },
        ],
      },
      ...Object.keys(sockets).map(backendHost),
    ],
  };
}

const byAddress = (b: Bundle) => new Map(deriveFacts(b).targets.map((t) => [t.facts.address, t.facts]));

describe("a unix-socket target is matched to the instance configured with that socket", () => {
  it("from nginx's `upstream:` with and without the colon after the path, and `http://unix:/p://`", () => {
    const facts = byAddress(
      capturedWith({
        // upstream: "http://unix:/…/missing.sock://"
        "app-1": `${RUN}/missing.sock`,
        // upstream: "uwsgi://unix:/…/uwsgi-hang.sock" (nothing after the path: a timeout)
        "app-2": `${RUN}/uwsgi-hang.sock`,
        // upstream: "fastcgi://unix:/…/php-fpm.sock:" (the colon, no URI)
        "php-1": `${RUN}/php-fpm.sock`,
        // upstream: "http://unix:/…/denied.sock:/denied/"
        "app-3": `${RUN}/denied.sock`,
      }),
    );
    const owner = (sock: string) => {
      const f = facts.get(`unix:${RUN}/${sock}`);
      return f && [f.kind, f.host, f.pass, f.known];
    };
    expect(owner("missing.sock")).toEqual(["unix", "app-1", "proxy_pass", true]);
    expect(owner("uwsgi-hang.sock")).toEqual(["unix", "app-2", "uwsgi_pass", true]);
    expect(owner("php-fpm.sock")).toEqual(["unix", "php-1", "fastcgi_pass", true]);
    expect(owner("denied.sock")).toEqual(["unix", "app-3", "proxy_pass", true]);
    // No target keeps the colon or the URI nginx wrote after the path.
    expect([...facts.keys()].filter((a) => a.startsWith("unix:") && /\.sock./.test(a))).toEqual([]);
  });

  it("a socket no instance is configured with has no owner, and another instance's socket is not it", () => {
    const facts = byAddress(
      capturedWith({ "app-1": `${RUN}/missing.sock`, "app-2": `${RUN}/missing.sock.old` }),
    );
    expect(facts.get(`unix:${RUN}/missing.sock`)?.host).toBe("app-1");
    expect(facts.get(`unix:${RUN}/busy.sock`)?.host).toBe("");
    expect(facts.get(`unix:${RUN}/stale.sock`)?.host).toBe("");
  });

  it("the config may spell the path another way the kernel reads alike: `/var/run` for `/run`, `//`, `./`", () => {
    const run = RUN.replace(/^\/tmp/, "/var/run");
    const bundle = capturedWith({ "app-1": `/tmp//why502-ngx.uBgA3o/./run/missing.sock` });
    expect(byAddress(bundle).get(`unix:${RUN}/missing.sock`)?.host).toBe("app-1");
    expect(sameSocket("/var/run/php/fpm.sock", "/run/php/fpm.sock")).toBe(true);
    expect(sameSocket(`${run}/a.sock`, `${run}/../run/a.sock`)).toBe(true);
    expect(sameSocket("/run/php/fpm.sock", "/run/php/fpm.sock.old")).toBe(false);
    expect(sameSocket("/var/runner/a.sock", "/runner/a.sock")).toBe(false);
    expect(sameSocket(undefined, "/run/a.sock")).toBe(false);
  });

  it("endpointOf: the path after `unix:`, as nginx's upstream servers and $upstream_addr write it", () => {
    expect(endpointOf("unix:/run/app.sock")).toEqual({ kind: "unix", host: "/run/app.sock", port: 0 });
  });
});

describe("unix-socket backends recorded in the lab (server unix:/path, proxy_pass http://checkout)", () => {
  it("socket-exit: matched through nginx -T's `server unix:` and the error lines; exited, not restarted", () => {
    const bundle = caseBundle("lab-socket-exit");
    const [t, ...others] = deriveFacts(bundle).targets;
    expect(others).toEqual([]);
    const socket = bundle.backends.find((b) => b.socket)?.socket;
    expect(socket).toMatch(/^\/tmp\/why502-lab-\w+\/backends\/checkout-1\/checkout-1\.sock$/);
    expect(t?.facts).toMatchObject({
      address: `unix:${socket}`,
      kind: "unix",
      host: "checkout-1",
      pass: "proxy_pass",
      inConfig: true,
      processKnown: true,
      running: false,
      exited: true,
      exitStatus: 1,
      // One exit and nothing running since: the process was not started again.
      restarted: false,
    });
    // The socket went with the process: nginx found no file, the cause a FastCGI socket would also give.
    expect(t?.errors.fastcgi_socket).toBeGreaterThan(0);
    expect(t?.errors.connection_refused).toBe(0);
  });

  it("socket-crash-restart: the same owner; crashed, restarted and running again", () => {
    const bundle = caseBundle("lab-socket-crash-restart");
    const [t] = deriveFacts(bundle).targets;
    expect(t?.facts).toMatchObject({
      kind: "unix",
      host: "checkout-1",
      pass: "proxy_pass",
      crashed: true,
      restarted: true,
      running: true,
    });
  });
});
