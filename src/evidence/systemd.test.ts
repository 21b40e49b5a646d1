import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseText } from "./run.js";
import {
  type SystemdJournalRecord,
  type SystemdRecord,
  type SystemdShowRecord,
  systemdParser,
  systemdTimestamp,
} from "./systemd.js";
import type { ParseContext } from "./types.js";

const fixture = (name: string) =>
  readFileSync(new URL(`./__fixtures__/systemd/${name}`, import.meta.url), "utf8");
const ctx = (extra: Partial<ParseContext> = {}): ParseContext => ({
  host: "backend-1",
  source: "journalctl",
  utcOffsetMinutes: 60,
  now: "2026-11-25T12:00:00.000Z",
  ...extra,
});
const parse = (name: string, extra: Partial<ParseContext> = {}) =>
  parseText(systemdParser, fixture(name), ctx(extra));
const journal = (records: SystemdRecord[]) =>
  records.filter((r): r is SystemdJournalRecord => r.entry === "journal");
const shows = (records: SystemdRecord[]) => records.filter((r): r is SystemdShowRecord => r.entry === "show");
const pick = (r: SystemdJournalRecord | undefined) =>
  r && {
    event: r.event,
    unit: r.unit,
    code: r.code,
    status: r.status,
    statusName: r.statusName,
    signal: r.signal,
    result: r.result,
    restartCounter: r.restartCounter,
    mainPid: r.mainPid,
    cause: r.cause,
  };
const fields = (f: Partial<ReturnType<typeof pick> & object>) => ({
  event: "other",
  unit: undefined,
  code: undefined,
  status: undefined,
  statusName: undefined,
  signal: undefined,
  result: undefined,
  restartCounter: undefined,
  mainPid: undefined,
  cause: undefined,
  ...f,
});

describe("systemdParser on journal wordings (lines copied verbatim from the reference)", () => {
  it("reads main-process exit statuses: exit codes, signals, and `n/a` names", () => {
    const { records, unreadable } = parse("journal-exit-statuses.txt");
    expect(unreadable).toEqual([]);
    const j = journal(records);
    expect(j).toHaveLength(10);
    expect(pick(j[0])).toEqual(
      fields({
        event: "main_exited",
        unit: "X.service",
        code: "exited",
        status: 1,
        statusName: "FAILURE",
        cause: "service_exit",
      }),
    );
    expect(j[0]).toMatchObject({ line: 1, message: j[0]?.text, host: "backend-1", source: "journalctl" });
    expect(j[0]?.time).toBeUndefined();
    // The other rows are the bare `code=..., status=...` parts of the reference's table.
    expect(j.slice(1).map((r) => [r.code, r.status, r.statusName, r.signal])).toEqual([
      ["exited", 2, "INVALIDARGUMENT", undefined],
      ["exited", 3, "NOTIMPLEMENTED", undefined],
      ["killed", 9, "KILL", "KILL"],
      ["dumped", 11, "SEGV", "SEGV"],
      ["killed", 11, "SEGV", "SEGV"],
      ["dumped", 6, "ABRT", "ABRT"],
      ["dumped", 31, "SYS", "SYS"],
      [undefined, 255, "n/a", undefined],
      [undefined, 9, "n/a", undefined],
    ]);
    expect(j.slice(1).every((r) => r.event === "other" && r.cause === undefined)).toBe(true);
    for (const r of records) expect(systemdParser.schema.safeParse(r).success).toBe(true);
  });

  it("reads unit results, the OOM notice, scheduled restarts and the start limit", () => {
    const { records, unreadable } = parse("journal-unit-results.txt", { options: { unit: "app.service" } });
    expect(unreadable).toEqual([]);
    expect(journal(records).map(pick)).toEqual([
      fields({ event: "failed", unit: "app.service", result: "signal", cause: "service_killed" }),
      fields({ event: "oom_killed_notice", unit: "app.service", cause: "oom_kill" }),
      fields({ event: "scheduled_restart", unit: "app.service", restartCounter: 3, cause: "restart" }),
      fields({ event: "start_limit", unit: "app.service", cause: "service_exit" }),
    ]);
  });

  it("reads the older wordings: lowercase main process, hold-off, control process without a comma", () => {
    const { records, unreadable } = parse("journal-old-wordings.txt");
    expect(unreadable).toEqual([]);
    expect(journal(records).map(pick)).toEqual([
      fields({
        event: "main_exited",
        code: "dumped",
        status: 11,
        statusName: "SEGV",
        signal: "SEGV",
        cause: "segfault",
      }),
      fields({ event: "holdoff_restart", cause: "restart" }),
      fields({ event: "holdoff_restart", unit: "iot.service", cause: "restart" }),
      fields({ event: "control_exited", code: "exited", status: 1, cause: "service_exit" }),
    ]);
  });

  it("reads `systemctl status` Main PID and Active lines", () => {
    const { records, unreadable } = parse("status.txt", { source: "systemctl status" });
    expect(unreadable).toEqual([]);
    const j = journal(records);
    expect(j.map(pick)).toEqual([
      fields({
        event: "main_exited",
        mainPid: 11607,
        code: "exited",
        status: 1,
        statusName: "FAILURE",
        cause: "service_exit",
      }),
      fields({
        event: "main_exited",
        mainPid: 69646,
        code: "killed",
        status: 15,
        signal: "TERM",
        cause: "service_killed",
      }),
      fields({ event: "failed", result: "oom-kill", cause: "oom_kill" }),
    ]);
    expect(j[2]?.time).toBe("2025-10-04T21:13:58.000Z");
    expect(j[0]?.time).toBeUndefined();
  });

  it("reads journal and syslog prefixes: RFC 3339, short, short-precise, bare identifier", () => {
    const { records, unreadable } = parse("journal-prefixed.txt");
    expect(unreadable).toEqual([]);
    const j = journal(records);
    expect(j.map((r) => [r.event, r.time, r.identifier, r.identifierPid, r.message])).toEqual([
      ["other", "2026-02-08T00:40:07.136Z", "systemd", 1, "..."],
      ["other", "2026-11-05T14:28:00.000Z", "nginx", 30523, "nginx: [emerg] ..."],
      ["other", "2026-08-30T05:58:55.050Z", "kernel", undefined, "oom-kill:..."],
      ["other", undefined, "systemd-oomd", 70, "oomd attempting to kill 113 with KILL"],
    ]);
    expect(j.every((r) => r.cause === undefined)).toBe(true);
  });

  it("puts a year-less stamp in the previous year when the current year would make it future", () => {
    const { records } = parse("journal-prefixed.txt", { now: "2027-01-02T00:00:00.000Z" });
    expect(records[1]?.time).toBe("2026-11-05T14:28:00.000Z");
    const zoned = parse("journal-prefixed.txt", { utcOffsetMinutes: -300 });
    expect(zoned.records[0]?.time).toBe("2026-02-08T00:40:07.136Z");
    expect(zoned.records[1]?.time).toBe("2026-11-05T20:28:00.000Z");
  });
});

describe("systemdParser on `systemctl show` (format reconstructed from documentation, not captured)", () => {
  it("reads `show -p` Key=Value lines, naming the unit from ctx.options.unit", () => {
    const { records, unreadable } = parse("show-p-oom-kill.txt", {
      source: "systemctl show",
      options: { unit: "app.service" },
    });
    expect(unreadable).toEqual([]);
    expect(records).toHaveLength(1);
    const [show] = shows(records);
    expect(show).toEqual({
      host: "backend-1",
      source: "systemctl show",
      line: 1,
      text: fixture("show-p-oom-kill.txt").trimEnd(),
      entry: "show",
      unit: "app.service",
      result: "oom-kill",
      nRestarts: 3,
      execMainStartTimestamp: "2017-03-15T10:01:59.000Z",
      activeEnterTimestamp: "2017-03-15T10:01:59.000Z",
      time: "2017-03-15T10:01:59.000Z",
      cause: "oom_kill",
      props: {
        Result: "oom-kill",
        NRestarts: "3",
        ExecMainStartTimestamp: "Wed 2017-03-15 11:01:59 CET",
        ActiveEnterTimestamp: "Wed 2017-03-15 11:01:59 CET",
      },
    });
    expect(systemdParser.schema.safeParse(show).success).toBe(true);
  });

  it("reads empty values as never", () => {
    const { records, unreadable } = parse("show-p-never-started.txt");
    expect(unreadable).toEqual([]);
    const [show] = shows(records);
    expect(show).toMatchObject({ result: "success", nRestarts: 0, props: { ExecMainStartTimestamp: "" } });
    expect(show?.execMainStartTimestamp).toBeUndefined();
    expect(show?.activeEnterTimestamp).toBeUndefined();
    expect(show?.time).toBeUndefined();
    expect(show?.cause).toBeUndefined();
    expect(show?.unit).toBeUndefined();
  });

  it("splits several units at blank lines and names them by Id", () => {
    const { records, unreadable } = parse("show-several-units.txt", { options: { unit: "ignored.service" } });
    expect(unreadable).toEqual([]);
    const [app, worker] = shows(records);
    expect(records).toHaveLength(2);
    expect(app).toMatchObject({
      line: 1,
      unit: "app.service",
      mainPid: 11607,
      execMainCode: "exited",
      execMainStatus: 1,
      result: "exit-code",
      nRestarts: 2,
      activeState: "failed",
      subState: "failed",
      execMainExitTimestamp: "2017-03-15T10:02:30.000Z",
      inactiveEnterTimestamp: "2017-03-15T10:02:30.000Z",
      cause: "service_exit",
    });
    expect(worker).toMatchObject({
      line: 14,
      unit: "worker.service",
      mainPid: 69646,
      execMainCode: "dumped",
      execMainStatus: 11,
      result: "core-dump",
      execMainStartTimestamp: "2025-10-04T21:13:58.000Z",
      execMainExitTimestamp: "2025-10-04T21:14:19.000Z",
      cause: "segfault",
    });
    expect(worker?.text.split("\n")).toHaveLength(12);
  });
});

describe("systemdParser on malformed input", () => {
  it("reports cut lines, a cut timestamp and binary bytes without throwing", () => {
    const { records, unreadable } = parse("malformed.txt");
    expect(unreadable.slice(0, 4)).toEqual([
      { line: 1, text: "X.service: Main process exited, code=exi", reason: "truncated exit status" },
      {
        line: 2,
        text: "Main PID: 11607 (code=exi",
        reason: "not a systemd show, status or journal line",
      },
      {
        line: 3,
        text: "Scheduled restart job, restart counter is at",
        reason: "not a systemd show, status or journal line",
      },
      { line: 4, text: "ExecMainStartTimestamp=Wed 2017-03-", reason: "unreadable timestamp" },
    ]);
    expect(unreadable.slice(4).every((u) => u.line >= 5)).toBe(true);
    expect(unreadable.some((u) => u.text.startsWith("\u007fELF"))).toBe(true);
    expect(shows(records)).toHaveLength(1);
    expect(shows(records)[0]).toMatchObject({ line: 4, props: { ExecMainStartTimestamp: "Wed 2017-03-" } });
    expect(shows(records)[0]?.execMainStartTimestamp).toBeUndefined();
  });
});

describe("systemdTimestamp", () => {
  it("uses the zone abbreviation, not the host offset, when it knows it", () => {
    expect(systemdTimestamp("Wed 2017-03-15 11:01:59 CET", -300)).toBe("2017-03-15T10:01:59.000Z");
    expect(systemdTimestamp("Sat 2025-10-04 21:13:58 UTC", 120)).toBe("2025-10-04T21:13:58.000Z");
  });

  it("falls back to the host offset for an abbreviation it does not know, and rejects non-dates", () => {
    expect(systemdTimestamp("Wed 2017-03-15 11:01:59 QQQ", 120)).toBe("2017-03-15T09:01:59.000Z");
    expect(systemdTimestamp("Wed 2017-03-", 0)).toBeUndefined();
    expect(systemdTimestamp("n/a", 0)).toBeUndefined();
  });
});
