import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { startsWithSlashDate, syslogStampToUtc, unwrap } from "./wrappers.js";

const lines = (name: string) =>
  readFileSync(new URL(`./__fixtures__/nginx-error/${name}`, import.meta.url), "utf8")
    .split("\n")
    .filter((l) => l !== "");
const plain = lines("captured-1.22-http.txt");
const first = (name: string) => lines(name)[0] ?? "";

describe("unwrap: captured wrappers", () => {
  it("leaves a bare nginx line alone", () => {
    const line = plain[1] ?? "";
    const u = unwrap(line);
    expect(u.inner).toBe(line);
    expect(u.wrapperTime).toBeUndefined();
    expect(u.localStamp).toBeUndefined();
  });

  it("docker --timestamps: strips the stamp and keeps it, nanoseconds cut to milliseconds", () => {
    const u = unwrap(first("docker-timestamps.txt"));
    expect(u.inner.startsWith("2026/11/25 13:26:29 [error] 26804#26804: *101 connect() failed")).toBe(true);
    expect(u.wrapperTime).toBe("2026-11-25T12:26:29.488Z");
    expect(u.wrapperMs).toBe(Date.parse("2026-11-25T12:26:29.488Z"));
  });

  it("containerd / CRI-O log files: the stamp, the stream and the partial flag, around a real line", () => {
    const line = plain[1] ?? "";
    const full = unwrap(`2026-11-25T12:26:12.123456789Z stderr F ${line}`);
    expect(full.inner).toBe(line);
    expect(full.wrapperTime).toBe("2026-11-25T12:26:12.123Z");
    expect(unwrap(`2026-11-25T12:26:12.123456789Z stdout P ${line}`).inner).toBe(line);
    // a docker stamp followed by a word that is no stream stays a docker stamp
    expect(unwrap(`2026-11-25T12:26:12.123456789Z stderrF ${line}`).inner).toBe(`stderrF ${line}`);
  });

  it("a runtime's UTC stamp before a Go crash is no syslog host and tag (`fatal error: ...`)", () => {
    const opener = lines("../app/go-fatal.txt")[1] ?? "";
    expect(opener).toBe("fatal error: concurrent map writes");
    expect(unwrap(`2026-11-25T12:28:57.123456789Z ${opener}`).inner).toBe(opener);
    expect(unwrap(`2026-11-25T12:28:57.123456789Z stderr F ${opener}`).inner).toBe(opener);
  });

  it("syslog on the wire: <PRI>, zone-less stamp, host and tag", () => {
    const u = unwrap(first("syslog-wire.txt"));
    expect(u.inner.startsWith("2026/11/25 13:26:29 [error] 26804#26804: *107 ")).toBe(true);
    expect(u.localStamp).toBe("Nov 25 13:26:29");
    expect(u.wrapperTime).toBeUndefined();
  });

  it("rsyslog traditional format, with `tag:` and `tag[pid]:`", () => {
    const all = lines("syslog-rsyslog-traditional.txt");
    const byNginx = unwrap(all[0] ?? "");
    expect(byNginx.localStamp).toBe("Nov 25 13:26:29");
    expect(byNginx.inner.startsWith("2026/11/25 13:26:29 [error]")).toBe(true);
    const byLogger = unwrap(all[7] ?? "");
    expect(byLogger.localStamp).toBe("Nov 25 13:26:32");
    expect(byLogger.inner).toBe(plain[1]);
  });

  it("rsyslog RFC 3339 format: the zoned stamp becomes wrapperTime", () => {
    const all = lines("syslog-rsyslog-rfc3339.txt");
    const u = unwrap(all[0] ?? "");
    expect(u.wrapperTime).toBe("2026-11-25T12:26:29.000Z");
    expect(u.inner.startsWith("2026/11/25 13:26:29 [error]")).toBe(true);
    const micro = unwrap(all[7] ?? "");
    expect(micro.wrapperTime).toBe("2026-11-25T12:26:32.093Z");
    expect(micro.inner).toBe(plain[1]);
  });

  it("compose prefixes, coloured or with the colour's remnant, give back the captured line", () => {
    const wrapped = lines("compose-prefixed.txt");
    const errors = plain.filter((l) => /\[(error|crit|warn)\]/.test(l));
    expect(wrapped).toHaveLength(12);
    wrapped.forEach((line, i) => {
      expect(line).not.toBe(errors[i]);
      expect(unwrap(line).inner).toBe(errors[i]);
    });
  });
});

describe("unwrap: wrapper examples quoted in the reference (section 9)", () => {
  it.each([
    [
      "2017-05-10T06:50:00.434167704Z 2017/05/10 06:50:00 [error] ...",
      "2017/05/10 06:50:00 [error] ...",
      "2017-05-10T06:50:00.434Z",
    ],
    ["2026-02-08T00:40:07.136582+00:00 host systemd[1]: ...", "...", "2026-02-08T00:40:07.136Z"],
  ] as const)("%s", (line, inner, time) => {
    expect(unwrap(line)).toMatchObject({ inner, wrapperTime: time });
  });

  it("journald short format", () => {
    const u = unwrap("Nov 05 15:28:00 app nginx[30523]: nginx: [emerg] ...");
    expect(u.inner).toBe("nginx: [emerg] ...");
    expect(u.localStamp).toBe("Nov 05 15:28:00");
  });

  it("does not take a line of another log for a wrapper", () => {
    const access = '127.0.0.1 - - [25/Nov/2026:13:26:12 +0100] "GET /ok HTTP/1.1" 200 3';
    expect(unwrap(access).inner).toBe(access);
  });
});

describe("syslogStampToUtc", () => {
  it("uses the host offset and the year of now", () => {
    expect(syslogStampToUtc("Nov 25 13:26:29", 60, "2026-11-25T13:00:00.000Z")).toBe(
      "2026-11-25T12:26:29.000Z",
    );
    expect(syslogStampToUtc("Aug 30 06:58:55.050705", 0, "2026-09-01T00:00:00.000Z")).toBe(
      "2026-08-30T06:58:55.050Z",
    );
  });

  it("puts a December stamp read in January in the year before", () => {
    expect(syslogStampToUtc("Dec 31 23:59:59", 0, "2027-01-01T00:10:00.000Z")).toBe(
      "2026-12-31T23:59:59.000Z",
    );
  });

  it("gives undefined for month names it does not know and impossible dates", () => {
    expect(syslogStampToUtc("avril 16 21:08:50", 0, "2026-05-01T00:00:00.000Z")).toBeUndefined();
    expect(syslogStampToUtc("Feb 30 10:00:00", 0, "2026-05-01T00:00:00.000Z")).toBeUndefined();
    expect(syslogStampToUtc("garbage", 0, undefined)).toBeUndefined();
  });
});

describe("startsWithSlashDate", () => {
  it("spots the nginx/Go log date and nothing else", () => {
    expect(startsWithSlashDate("2026/11/25 13:26:29 [error]")).toBe(true);
    expect(startsWithSlashDate("2026-11-25T12:26:29Z 2026/11/25")).toBe(false);
    expect(startsWithSlashDate("Nov 25 13:26:29")).toBe(false);
    expect(startsWithSlashDate("")).toBe(false);
  });
});
