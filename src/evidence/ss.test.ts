import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseText } from "./run.js";
import { type SsRecord, splitAddress, ssParser } from "./ss.js";
import type { ParseContext } from "./types.js";

const fixture = (name: string) => readFileSync(new URL(`./__fixtures__/ss/${name}`, import.meta.url), "utf8");
const ctx: ParseContext = { host: "backend-1", source: "ss -ltnp", utcOffsetMinutes: 0 };
const parse = (name: string) => parseText(ssParser, fixture(name), ctx);
const onPort = (records: SsRecord[], port: number) => records.filter((r) => r.localPort === port);

// Pids of the processes scripts/capture/ps-ss.sh started for this capture (same run as the ps fixtures).
const MASTER = 30269;
const WORKERS = [30275, 30276];
const NODE = 30270;
const PYTHON = 30271;
const BOUND = 30272;
const UDP = 30273;
const CLIENT = 30315;
/** The processes of a socket, in pid order (ss lists them in /proc scan order). */
const byPid = (r: SsRecord | undefined) => [...(r?.processes ?? [])].sort((a, b) => a.pid - b.pid);
const nginx = (fd: number) =>
  [MASTER, ...WORKERS].sort((a, b) => a - b).map((pid) => ({ name: "nginx", pid, fd }));

/** What every listener capture shows: port -> [address, interface, peer]. */
const LISTENERS: Record<number, [string, string | undefined, string]> = {
  18400: ["127.0.0.1", undefined, "0.0.0.0:*"],
  18401: ["127.0.0.1", undefined, "0.0.0.0:*"],
  18402: ["::1", undefined, "[::]:*"],
  18403: ["127.0.0.1", undefined, "0.0.0.0:*"],
  18404: ["0.0.0.0", undefined, "0.0.0.0:*"],
  18405: ["::", undefined, "[::]:*"],
  18406: ["*", undefined, "*:*"],
  18407: ["127.0.0.1", "lo", "0.0.0.0:*"],
  18408: ["127.0.0.1", undefined, "0.0.0.0:*"],
};

function expectListeners(records: SsRecord[]) {
  expect(records).toHaveLength(10);
  for (const r of records) {
    const [address, iface, peer] = LISTENERS[r.localPort] ?? [];
    expect(r).toMatchObject({ state: "LISTEN", recvQ: 0, localAddress: address, peer });
    expect(r.interface).toBe(iface);
    expect(ssParser.schema.safeParse(r).success).toBe(true);
  }
  expect(onPort(records, 18408)).toHaveLength(2);
  expect(onPort(records, 18403)[0]?.sendQ).toBe(5);
  expect(onPort(records, 18407)[0]?.sendQ).toBe(128);
  expect(onPort(records, 18400)[0]?.sendQ).toBe(511);
}

describe("ssParser on real iproute2 6.1 ss output", () => {
  it("reads `ss -ltnp` as root: glued `PortProcess` header, addresses of every family, pids", () => {
    const { records, unreadable } = parse("ltnp.txt");
    expect(unreadable).toEqual([]);
    expectListeners(records);
    expect(onPort(records, 18400)[0]).toMatchObject({ host: "backend-1", source: "ss -ltnp" });
    expect(byPid(onPort(records, 18400)[0])).toEqual(nginx(4));
    expect(byPid(onPort(records, 18405)[0])).toEqual(nginx(7));
    expect(onPort(records, 18402)[0]?.processes).toEqual([{ name: "node", pid: NODE, fd: 19 }]);
    expect(onPort(records, 18403)[0]?.processes).toEqual([{ name: "python3", pid: PYTHON, fd: 3 }]);
    expect(onPort(records, 18407)[0]?.processes).toEqual([{ name: "python3", pid: BOUND, fd: 3 }]);
    expect(records.every((r) => r.time === undefined && r.cause === undefined)).toBe(true);
  });

  it("reads `ss -ltnpH` without a header", () => {
    const { records, unreadable } = parse("ltnpH.txt");
    expect(unreadable).toEqual([]);
    expectListeners(records);
    expect(records[0]?.line).toBe(1);
    expect(byPid(onPort(records, 18406)[0])).toEqual(nginx(8));
  });

  it("reads `ss -ltn` (no -p): no processes", () => {
    const { records, unreadable } = parse("ltn.txt");
    expect(unreadable).toEqual([]);
    expectListeners(records);
    expect(records.every((r) => r.processes.length === 0)).toBe(true);
  });

  it("reads `ss -ltnp` as an unprivileged user: the Process column stays empty", () => {
    const { records, unreadable } = parse("ltnp-not-root.txt");
    expect(unreadable).toEqual([]);
    expectListeners(records);
    expect(records.every((r) => r.processes.length === 0)).toBe(true);
  });

  it("reads `ss -tanp`: established connections with numeric peers", () => {
    const { records, unreadable } = parse("tanp-all-states.txt");
    expect(unreadable).toEqual([]);
    const estab = records.filter((r) => r.state === "ESTAB");
    expect(estab).toHaveLength(2);
    const server = estab.find((r) => r.localPort === 18401);
    const client = estab.find((r) => r.localPort !== 18401);
    expect(server?.peer).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(server?.processes).toHaveLength(1);
    expect(server?.processes[0]?.name).toBe("nginx");
    expect(WORKERS).toContain(server?.processes[0]?.pid);
    expect(client).toMatchObject({
      peer: "127.0.0.1:18401",
      processes: [{ name: "python3", pid: CLIENT, fd: 3 }],
    });
    expect(client?.localPort).toBe(Number(server?.peer.split(":")[1]));
  });
});

describe("ssParser on ss with the Netid column", () => {
  it("reads `ss -ltunp`: Netid first, a UDP socket in UNCONN", () => {
    const { records, unreadable } = parse("ltunp-netid.txt");
    expect(unreadable).toEqual([]);
    expect(records).toHaveLength(11);
    expectListeners(records.filter((r) => r.netid === "tcp"));
    expect(onPort(records, 18409)).toEqual([
      expect.objectContaining({
        netid: "udp",
        state: "UNCONN",
        localAddress: "127.0.0.1",
        peer: "0.0.0.0:*",
        processes: [{ name: "python3", pid: UDP, fd: 3 }],
      }),
    ]);
  });
});

describe("ssParser on the net-tools netstat fallback", () => {
  it("reads `netstat -ltnp` as root: pid and the cut program name, no fd", () => {
    const { records, unreadable } = parse("netstat-ltnp.txt");
    expect(unreadable).toEqual([]);
    expect(records).toHaveLength(10);
    expect(onPort(records, 18400)[0]).toMatchObject({
      netid: "tcp",
      state: "LISTEN",
      recvQ: 0,
      sendQ: 0,
      localAddress: "127.0.0.1",
      peer: "0.0.0.0:*",
      // netstat cuts `PID/Program name` to 19 characters.
      processes: [{ name: "nginx: master process".slice(0, 19 - `${MASTER}/`.length), pid: MASTER }],
    });
    expect(onPort(records, 18405)[0]).toMatchObject({ netid: "tcp6", localAddress: "::", peer: ":::*" });
    expect(onPort(records, 18402)[0]).toMatchObject({
      localAddress: "::1",
      processes: [{ name: "node", pid: NODE }],
    });
    expect(onPort(records, 18402)[0]?.processes[0]?.fd).toBeUndefined();
  });

  it("reads `netstat -ltnp` as an unprivileged user: `-` means no process", () => {
    const { records, unreadable } = parse("netstat-ltnp-not-root.txt");
    expect(unreadable).toEqual([]);
    expect(records).toHaveLength(10);
    expect(records.every((r) => r.processes.length === 0 && r.state === "LISTEN")).toBe(true);
  });
});

describe("ssParser on malformed input", () => {
  it("reports cut rows, ss's own errors and binary bytes without throwing", () => {
    const text = fixture("malformed.txt");
    const { records, unreadable } = parseText(ssParser, text, ctx);
    expect(records).toEqual([]);
    expect(unreadable.slice(0, 3)).toMatchObject([
      { line: 2, reason: "truncated row" },
      { line: 3, reason: "truncated row" },
      { line: 4, text: "ss: unrecognized option '--bogus'", reason: "not an ss or netstat row" },
    ]);
    expect(unreadable.some((u) => u.text.startsWith("\u007fELF"))).toBe(true);
    const nonBlank = text.split("\n").filter((l) => l.trim() !== "").length;
    expect(unreadable).toHaveLength(nonBlank - 1);
  });
});

describe("splitAddress", () => {
  it("splits every address form the captures show", () => {
    expect(splitAddress("127.0.0.1%lo:18407")).toEqual({
      address: "127.0.0.1",
      port: "18407",
      interface: "lo",
    });
    expect(splitAddress("[::1]:18402")).toEqual({ address: "::1", port: "18402", interface: undefined });
    expect(splitAddress(":::18405")).toEqual({ address: "::", port: "18405", interface: undefined });
    expect(splitAddress("*:18406")).toEqual({ address: "*", port: "18406", interface: undefined });
    expect(splitAddress("0.0.0.0:*")).toEqual({ address: "0.0.0.0", port: "*", interface: undefined });
    expect(splitAddress("18407")).toBeUndefined();
  });
});
