import { describe, expect, it } from "vitest";
import { tempFiles } from "../../test/support/temp-files.js";
import { userErrorOf } from "../../test/support/user-error.js";
import { YAML_LIMITS } from "../yaml-document.js";
import { loadConfig, parseConfig } from "./load.js";

const service = "services:\n  a:\n    gateways: [{ host: gw1 }]\n    backends: { from_upstream: true }\n";

const errorOf = (text: string) => userErrorOf(() => parseConfig(text, "why502.yaml"), "config");

/** Ten anchors, each a list of ten aliases of the one before: 10^10 values written out. */
function aliasBomb(): string {
  const lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
  for (let i = 1; i <= 10; i++)
    lines.push(
      `l${i}: &l${i} [${Array(10)
        .fill(`*l${i - 1}`)
        .join(", ")}]`,
    );
  return `${lines.join("\n")}\n${service}`;
}

describe("config files an attacker or an unlucky day would write", () => {
  const { file } = tempFiles("why502-config-");

  it("refuses an alias bomb at the alias that crosses the limit", () => {
    // An alias of l3 stands for 11,111 values (lists count too); with those of l1 to l3 before it, the count
    // crosses 100,000 at the eighth alias on line 5.
    expect(errorOf(aliasBomb())).toBe(
      "why502.yaml:5:45: aliases here stand for more than 100000 values written out; write the values, or use fewer and smaller aliases.",
    );
  });

  it("still reads anchors and aliases used as people use them", () => {
    const text = `logs: &logs [/var/log/a.log]\n${service.replace("from_upstream: true", "from_upstream: true, app_logs: *logs")}`;
    expect(errorOf(text)).toBe('why502.yaml:1:1: config: unknown key "logs".');
    const shared = `hosts:\n  gw1: &gw { address: 10.0.0.1, port: 2222 }\n  gw2: *gw\n${service}`;
    expect(parseConfig(shared, "why502.yaml").hosts.gw2?.port).toBe(2222);
  });

  it("refuses an alias to a missing anchor", () => {
    expect(errorOf(`hosts: *nothing\n${service}`)).toMatch(/^why502\.yaml:1:8: invalid YAML: /);
  });

  it("refuses nesting deeper than the limit with its place, flow or block, instead of overflowing the stack", () => {
    const flow = `${service}defaults: ${"[".repeat(20_000)}${"]".repeat(20_000)}\n`;
    expect(errorOf(flow)).toBe(
      `why502.yaml:5:${11 + YAML_LIMITS.maxDepth - 1}: lists and maps are nested deeper than ${YAML_LIMITS.maxDepth} levels here.`,
    );
    let block = `${service}defaults:\n`;
    for (let i = 0; i < 200; i++) block += `${" ".repeat(2 * i + 2)}k${i}:\n`;
    expect(errorOf(block)).toMatch(
      /^why502\.yaml:\d+:\d+: lists and maps are nested deeper than 64 levels here\.$/,
    );
  });

  it("loads a map of 40,000 keys in linear time", { timeout: 25_000 }, () => {
    // Each key used to be compared with every key before it: this took minutes.
    let text = "hosts:\n";
    for (let i = 0; i < 40_000; i++) text += `  h${i}: {}\n`;
    expect(Object.keys(parseConfig(text + service, "why502.yaml").hosts)).toHaveLength(40_000);
  });

  it("refuses a file over the size limit without reading it, saying the limit", () => {
    let text = `${service}hosts:\n`;
    for (let i = 0; text.length < 4 * 1024 * 1024; i++)
      text += `  host-${i}: { address: 10.0.${i % 250}.1 }\n`;
    const path = file("big.yaml", text);
    const size = Buffer.byteLength(text);
    expect(() => loadConfig(path)).toThrow(
      `${path}: the config has ${size} bytes, more than the ${YAML_LIMITS.maxBytes} (1 MiB) a config may have.`,
    );
    expect(errorOf(text)).toMatch(
      /: the config has \d+ bytes, more than the 1048576 \(1 MiB\) a config may have\.$/,
    );
  });

  it("keeps refusing duplicate keys, at the second one", () => {
    expect(errorOf(`hosts:\n  gw1: {}\n  gw1: { port: 2 }\n${service}`)).toBe(
      'why502.yaml:3:3: invalid YAML: the key "gw1" appears twice in this map; keys must be unique.',
    );
    // 1 and "1" are one key once the file is data.
    expect(errorOf(`hosts:\n  1: {}\n  "1": {}\n${service}`)).toMatch(
      /^why502\.yaml:3:3: .*"1" appears twice/,
    );
  });

  it("refuses a __proto__ key rather than letting it replace an object's prototype", () => {
    expect(errorOf(`hosts:\n  __proto__: { address: 10.0.0.1 }\n${service}`)).toBe(
      'why502.yaml:2:3: the key "__proto__" is not accepted.',
    );
  });

  it("refuses a second document", () => {
    expect(errorOf(`${service}---\n${service}`)).toBe(
      "why502.yaml:5:1: invalid YAML: a second document starts here; the file must hold one.",
    );
  });

  it("reads CRLF line ends as LF, errors at the same place", () => {
    const crlf = (s: string) => s.replace(/\n/g, "\r\n");
    expect(parseConfig(crlf(`hosts:\n  gw1: { port: 2222 }\n${service}`), "w.yaml").hosts.gw1?.port).toBe(
      2222,
    );
    expect(errorOf(crlf(`hosts:\n  gw1: { port: x }\n${service}`))).toBe(
      "why502.yaml:2:16: hosts.gw1.port: expected number, received string.",
    );
  });

  it("points an unknown key at the key itself, not at its map", () => {
    expect(errorOf(`${service}ssh:\n  user: why502\n  pasword: x\n`)).toBe(
      'why502.yaml:7:3: ssh: unknown key "pasword".',
    );
    expect(errorOf(`hostz: {}\n${service}`)).toBe('why502.yaml:1:1: config: unknown key "hostz".');
  });
});

describe("config fields that reach a host", () => {
  const gateway = (argv: string) =>
    `services:\n  a:\n    gateways:\n      - host: gw1\n        nginx_t: ${argv}\n    backends: { from_upstream: true }\n`;

  it.each([
    ["[nginx, -T]"],
    ["[sudo, -n, nginx, -T]"],
    ["[sudo, -n, /usr/sbin/nginx, -T, -p, /srv/nginx, -c, /srv/nginx/nginx.conf]"],
    ["[/usr/local/nginx/sbin/nginx, -c, /etc/nginx/nginx.conf, -T]"],
  ])("accepts nginx_t %s, a read of nginx's config", (argv) => {
    expect(parseConfig(gateway(argv), "why502.yaml").services.a?.gateways[0]?.nginx_t[0]).toMatch(
      /nginx|sudo/,
    );
  });

  it.each([
    ["[sh, -c, 'cat /etc/shadow']", '"sh" is not nginx'],
    ["[/tmp/evilnginx, -T]", '"/tmp/evilnginx" is not nginx'],
    ["[sudo, nginx, -T]", "sudo must be followed by -n"],
    ["[nginx, -g, 'daemon off;', -T]", '"-g" is not accepted here'],
    ["[nginx, -s, stop]", '"-s" is not accepted here'],
    ["[nginx, -c, conf, -T]", "-c needs an absolute path"],
    ["[nginx, -p, /a]", "-T is missing"],
    ["[nginx, -T, -T]", "-T appears twice"],
  ])("refuses nginx_t %s with its place", (argv, why) => {
    expect(errorOf(gateway(argv))).toBe(
      `why502.yaml:5:18: services.a.gateways[0].nginx_t: expected [sudo, -n,] nginx [, -p, DIR] [, -c, FILE], -T with nginx by name or absolute path: ${why}.`,
    );
  });

  it.each([["-oProxyCommand=sh -c id"], ["-J evil"], ["bastion -v"], ["ops@$(id)"], ["a;b"], ["ok,-oX=y"]])(
    "refuses the jump host %s, globally and per host",
    (jump) => {
      const why =
        "expected a jump host as [user@]host[:port] (or several joined by commas), not an option or shell text.";
      expect(errorOf(`ssh:\n  jump: '${jump}'\n${gateway("[nginx, -T]")}`)).toBe(
        `why502.yaml:2:9: ssh.jump: ${why}`,
      );
      expect(errorOf(`hosts:\n  h: { jump: '${jump}' }\n${gateway("[nginx, -T]")}`)).toBe(
        `why502.yaml:2:14: hosts.h.jump: ${why}`,
      );
    },
  );

  it("accepts jump hosts as ProxyJump writes them", () => {
    for (const jump of ["bastion", "ops@bastion.example.com:2222", "[2001:db8::1]:22", "a@b,c@d:2"])
      expect(parseConfig(`ssh:\n  jump: '${jump}'\n${gateway("[nginx, -T]")}`, "w.yaml").ssh.jump).toBe(jump);
    expect(
      parseConfig(`hosts:\n  h: { jump: false }\n${gateway("[nginx, -T]")}`, "w.yaml").hosts.h?.jump,
    ).toBe(false);
  });
});

describe("names from chat and webhooks", () => {
  it("refuses a jump host's port outside 1-65535 with its place", () => {
    expect(errorOf(`ssh:\n  jump: 'ops@127.0.0.1:99999'\n${service}`)).toBe(
      "why502.yaml:2:9: ssh.jump: expected a jump host's port to be 1-65535.",
    );
  });

  it("finds no service or host named after Object's members", () => {
    const config = parseConfig(`hosts:\n  gw1: { address: 127.0.0.1 }\n${service}`, "w.yaml");
    for (const name of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
      expect(config.services[name]).toBeUndefined();
      expect(config.hosts[name]).toBeUndefined();
    }
    expect(Object.keys(config.services)).toEqual(["a"]);
  });
});
