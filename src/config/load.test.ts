import { describe, expect, it } from "vitest";
import { userErrorOf } from "../../test/support/user-error.js";
import { parseConfig } from "./load.js";

const good = `
ssh:
  user: why502
  identity_file: ~/.ssh/why502_ed25519
  known_hosts: ~/.ssh/why502_known_hosts
  connect_timeout: 3s
hosts:
  gw1: { address: 10.0.0.5 }
services:
  checkout:
    upstream: checkout
    gateways:
      - host: gw1
        error_log: /var/log/nginx/error.log
        access_log: /var/log/nginx/access.log
    backends:
      port: 8080
      process: { systemd_unit: checkout.service }
      app_logs: [/var/log/checkout/app.log]
      instances:
        - host: be1
        - host: be2
          port: 8081
`;

const errorOf = (text: string) => userErrorOf(() => parseConfig(text, "why502.yaml"), "config");

describe("config", () => {
  it("reads a typical setup with defaults filled in", () => {
    const c = parseConfig(good, "why502.yaml");
    expect(c.ssh.connect_timeout).toBe(3000);
    expect(c.ssh.command_timeout).toBe(10_000);
    expect(c.defaults.window).toBe(30 * 60_000);
    expect(c.defaults.deadline).toBe(20_000);
    expect(c.services.checkout?.backends.instances?.[1]?.port).toBe(8081);
    expect(c.ssh.known_hosts).toBe("~/.ssh/why502_known_hosts");
  });

  it("names file, line, column and key for a wrong type", () => {
    expect(errorOf(good.replace("port: 8081", "port: eighty"))).toBe(
      "why502.yaml:23:17: services.checkout.backends.instances[1].port: expected number, received string.",
    );
  });

  it("says what a duration should look like", () => {
    expect(errorOf(good.replace("connect_timeout: 3s", "connect_timeout: soon"))).toBe(
      "why502.yaml:6:20: ssh.connect_timeout: expected a duration like 500ms, 20s, 30m or 1h.",
    );
  });

  it("rejects unknown keys, naming them", () => {
    expect(errorOf(good.replace("  user: why502", "  user: why502\n  pasword: x"))).toMatch(
      /^why502\.yaml:\d+:\d+: ssh: unknown key "pasword"\.$/,
    );
  });

  it("rejects a path that would carry a newline into a command", () => {
    expect(
      errorOf(good.replace("app_logs: [/var/log/checkout/app.log]", 'app_logs: ["/var/log/a\\nrm -rf /"]')),
    ).toMatch(/services\.checkout\.backends\.app_logs\[0\]: expected one line of text\.$/);
  });

  it("requires backends to be listed or taken from the upstream", () => {
    const text = good.replace(/ {6}instances:\n {8}- host: be1\n {8}- host: be2\n {10}port: 8081\n/, "");
    expect(errorOf(text)).toMatch(
      /services\.checkout\.backends: expected either instances \(a list of hosts\) or from_upstream: true\.$/,
    );
  });

  it("rejects a service name with shell syntax", () => {
    expect(errorOf(good.replace("  checkout:\n", "  'checkout;rm -rf /':\n"))).toMatch(
      /^why502\.yaml:10:3: services\.checkout;rm -rf \/: invalid name: expected a service name/,
    );
  });

  it("reports invalid YAML with its position", () => {
    expect(errorOf("services:\n  a: [\n")).toMatch(/^why502\.yaml:\d+:\d+: invalid YAML: /);
  });
});

describe("config redact", () => {
  it("takes extra patterns to mask, and none when absent", () => {
    expect(parseConfig(good, "why502.yaml").redact.patterns).toEqual([]);
    const c = parseConfig(
      `${good}redact:\n  patterns: ['tok_[A-Za-z0-9]{20}', 'ACME-\\d+']\n`,
      "why502.yaml",
    );
    expect(c.redact.patterns).toEqual(["tok_[A-Za-z0-9]{20}", "ACME-\\d+"]);
  });

  it("rejects a pattern that does not compile, with its place", () => {
    const lines = good.split("\n").length;
    expect(errorOf(`${good}redact:\n  patterns: ['ok', 'tok_(']\n`)).toBe(
      `why502.yaml:${lines + 1}:20: redact.patterns[1]: expected a regular expression that compiles (JavaScript syntax).`,
    );
  });

  it("rejects an empty or overlong pattern and unknown keys", () => {
    expect(errorOf(`${good}redact:\n  patterns: ['']\n`)).toMatch(
      /redact\.patterns\[0\]: expected a regular expression, not an empty string\.$/,
    );
    expect(errorOf(`${good}redact:\n  patterns: ['${"a".repeat(513)}']\n`)).toMatch(
      /redact\.patterns\[0\]: expected a regular expression of at most 512 characters\.$/,
    );
    expect(errorOf(`${good}redact:\n  pattern: ['a']\n`)).toMatch(/redact: unknown key "pattern"\.$/);
  });
});
