import { describe, expect, it } from "vitest";
import { MAIN_EXT } from "../../test/lab/nginx.js";
import { fixtureFormat } from "../../test/support/access-log.js";
import { aggregateFields, fieldsArgument } from "./aggregate-fields.js";

describe("aggregateFields: where $time_local, $status and $upstream_addr sit in a line", () => {
  it("combined: the time from the end of the first stretch ($remote_user may hold blanks), no upstream", () => {
    expect(aggregateFields(fixtureFormat("combined"))).toEqual({
      parts: 7,
      time: { part: 1, word: -2, prefix: 1, suffix: 1 },
      status: { part: 3, word: 1, prefix: 0, suffix: 0 },
      upstream: null,
      json: false,
    });
  });

  it("main_ext (the fixture's and the lab's): the upstream list is the 16th stretch, quoted", () => {
    const want = {
      parts: 19,
      time: { part: 1, word: -2, prefix: 1, suffix: 1 },
      status: { part: 3, word: 1, prefix: 0, suffix: 0 },
      upstream: { part: 16, word: 1, prefix: 0, suffix: 0 },
      json: false,
    };
    expect(aggregateFields(fixtureFormat("main_ext"))).toEqual(want);
    // the lab's nginx.conf writes it between single quotes
    expect(aggregateFields(MAIN_EXT.slice(1, -1))).toEqual(want);
    expect(fieldsArgument(want)).toBe("19 1 -2 1 3 1 0 16 1 0 0 0");
  });

  it("escape=json: the quotes of the JSON keys are stretches too", () => {
    const f = aggregateFields(fixtureFormat("json"));
    expect(f).toMatchObject({
      time: { part: 4, word: 1, prefix: 0 },
      status: { part: 19, word: 1, prefix: 1, suffix: 1 },
      upstream: { part: 34, word: 1 },
      json: true,
    });
  });

  it("an unquoted upstream list after one-word values is counted from the start, with its literals", () => {
    const f = aggregateFields(
      '[$time_local] $remote_addr "$request" $status $request_time ua=$upstream_addr; "$http_user_agent"',
    );
    expect(f).toEqual({
      parts: 5,
      time: { part: 1, word: 1, prefix: 1, suffix: 1 },
      status: { part: 3, word: 1, prefix: 0, suffix: 0 },
      upstream: { part: 3, word: 3, prefix: 3, suffix: 1 },
      json: false,
    });
  });

  it("says why a format cannot be counted", () => {
    expect(aggregateFields(fixtureFormat("iso_msec"))).toEqual({
      error: "the log_format has no $time_local",
    });
    expect(aggregateFields('$remote_addr [$time_local] "$request"')).toEqual({
      error: "the log_format has no $status",
    });
    expect(aggregateFields("$remote_user $status $http_user_agent [$time_local]")).toMatchObject({
      error: expect.stringContaining("$status has values that may hold blanks on both sides"),
    });
    expect(aggregateFields('[$time_local] "$request" $status:$upstream_addr')).toMatchObject({
      error: "$status shares a word with another variable, so its position is not fixed",
    });
  });

  it("upstream_time has no $upstream_addr: every response counts under -", () => {
    expect(aggregateFields(fixtureFormat("upstream_time"))).toMatchObject({ upstream: null });
  });
});
