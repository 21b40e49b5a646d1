import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { localCheckoutConfig } from "../../test/support/local-checkout.js";
import { rotatedLog } from "../../test/support/rotated-log.js";
import { collect as collectScript, logWin, nginxLine, TRACE, wall } from "../../test/support/run-script.js";
import { tempFiles } from "../../test/support/temp-files.js";
import { deriveFacts } from "../facts/derive.js";
import { collect } from "./collect.js";
import { resolveHost } from "./hosts.js";
import { LocalTransport } from "./local-transport.js";

// Lines read from a rotated file are cited with that file's name: the log window says which file each run of
// its lines came from (parts=), and the evidence takes its source from there.

const { dir } = tempFiles("why502-rotated-source-");

const T0 = Date.UTC(2026, 10, 24, 0, 0, 0) / 1000;
const lines = (text: string) => text.split("\n").length - 1;
const { block, from } = rotatedLog(T0);

describe("the log window says which file each run of lines came from", () => {
  it("through .2.gz, .1 and the log itself, oldest first, with their line counts", async () => {
    const base = join(dir, "numbered", "error.log");
    mkdirSync(join(dir, "numbered"));
    writeFileSync(`${base}.3.gz`, Buffer.from("not gzip, and before the window: never read"));
    writeFileSync(`${base}.2.gz`, gzipSync(block(1000, 300)));
    writeFileSync(`${base}.1`, block(2000, 300));
    writeFileSync(base, block(3000, 300));
    const { get } = await collectScript([logWin("log", base)], T0 + 1100, { env: { TZ: "UTC" } });
    const got = get("log");
    const oldest = from(block(1000, 300), 1100);
    expect(got.stdout === oldest + block(2000, 300) + block(3000, 300)).toBe(true);
    expect(got.parts).toEqual([
      { suffix: ".2.gz", lines: lines(oldest) },
      { suffix: ".1", lines: lines(block(2000, 300)) },
      { suffix: "@", lines: lines(block(3000, 300)) },
    ]);
  });

  it("for dated names, and for what the byte cap left of them", async () => {
    const base = join(dir, "dated", "error.log");
    mkdirSync(join(dir, "dated"));
    writeFileSync(`${base}-20261122.gz`, gzipSync(block(1000, 300)));
    writeFileSync(`${base}-20261123`, block(2000, 300));
    writeFileSync(base, block(3000, 300));
    const newer = block(2000, 300) + block(3000, 300);
    const { get } = await collectScript([logWin("log", base, Buffer.byteLength(newer) + 3000)], T0 + 1000, {
      env: { TZ: "UTC" },
    });
    const got = get("log");
    expect(got.truncated).toBe(true);
    const kept = got.stdout.slice(0, got.stdout.length - newer.length);
    expect(got.parts).toEqual([
      { suffix: "-20261122.gz", lines: lines(kept) },
      { suffix: "-20261123", lines: 300 + lines(TRACE) * 4 },
      { suffix: "@", lines: 300 + lines(TRACE) * 4 },
    ]);
  });

  it("says nothing when all of it came from the log itself", async () => {
    const base = join(dir, "single.log");
    writeFileSync(base, block(3000, 300));
    const { get } = await collectScript([logWin("log", base)], T0 + 3100, { env: { TZ: "UTC" } });
    expect(get("log").parts).toEqual([{ suffix: "@", lines: lines(from(block(3000, 300), 3100)) }]);
  });
});

describe("evidence from a rotated file names it", () => {
  it("a gateway whose failing lines were rotated to error.log.1: cited as error.log.1, the new ones as error.log", async () => {
    const now = Math.floor(Date.now() / 1000);
    const logs = join(dir, "gw");
    mkdirSync(logs);
    const errorLog = join(logs, "error.log");
    const offset = -new Date(now * 1000).getTimezoneOffset();
    const line = (ago: number, conn: number, upstream: string) =>
      nginxLine(wall(now - ago, offset), conn).replace("http://172.21.0.19:9000/", upstream);
    writeFileSync(
      `${errorLog}.1`,
      line(100, 1, "http://172.21.0.19:9000/") + line(90, 2, "http://172.21.0.19:9000/"),
    );
    writeFileSync(errorLog, line(30, 3, "http://172.21.0.20:9000/"));
    writeFileSync(join(logs, "access.log"), "");
    const config = localCheckoutConfig(errorLog, join(logs, "access.log"));
    const bundle = await collect(
      config,
      { service: "checkout", sinceMs: (now - 300) * 1000 },
      {
        resolve: (name: string) => resolveHost(config, name, { home: dir, username: "root" }),
        connect: async () => new LocalTransport(),
        now: Date.now,
        nonce: () => "RotatedS0urce0000001",
      },
    );
    const cmd = bundle.hosts.find((h) => h.name === "gw")?.commands.find((c) => c.id === "nginx-error-log");
    expect(cmd?.parts).toEqual([
      { source: `${errorLog}.1`, lines: 2 },
      { source: errorLog, lines: 1 },
    ]);
    const facts = deriveFacts(bundle);
    const cited = (address: string) =>
      facts.targets.find((t) => t.facts.address === address)?.cite.errors.map((r) => `${r.source}:${r.line}`);
    expect(cited("172.21.0.19:9000")).toEqual([`${errorLog}.1:1`, `${errorLog}.1:2`]);
    expect(cited("172.21.0.20:9000")).toEqual([`${errorLog}:1`]);
  });
});
