import { once } from "node:events";
import { SocketModeClient } from "@slack/socket-mode";
import { ErrorCode, type Logger, LogLevel, WebClient, type WebClientOptions } from "@slack/web-api";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { DEFAULT_SCOPES, type StandIn, type StandInOptions, startSlackStandIn } from "./standin.js";

let standIn: StandIn;
const cleanups: (() => Promise<unknown>)[] = [];

beforeEach(async () => {
  standIn = await startSlackStandIn();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await standIn.close();
});

async function restart(opts: StandInOptions): Promise<void> {
  await standIn.close();
  standIn = await startSlackStandIn(opts);
}

const C = "C0CHECKOUT";

/** The clients log Slack's `[ERROR]` messages; the tests assert on them instead. */
const quiet: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  setLevel: () => {},
  getLevel: () => LogLevel.ERROR,
  setName: () => {},
};

function client(opts: WebClientOptions & { token?: string } = {}): WebClient {
  const { token = "xoxb-standin", ...rest } = opts;
  return new WebClient(token, {
    slackApiUrl: standIn.url,
    logger: quiet,
    retryConfig: { retries: 0 },
    ...rest,
  });
}

/** The Slack error name a rejected call carries, or the WebClient error code when there is none. */
async function slackError(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    const e = error as { code?: string; data?: { error?: string } };
    return e.data?.error ?? e.code ?? String(error);
  }
  throw new Error("expected the call to fail");
}

async function rejection(call: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await call;
  } catch (error) {
    return error as Record<string, unknown>;
  }
  throw new Error("expected the call to fail");
}

const section = (text: string) => ({ type: "section", text: { type: "mrkdwn", text } });

describe("Web API: messages", () => {
  test("a post and a reply come back from history and replies; metadata only with include_all_metadata", async () => {
    const slack = client();
    const metadata = { event_type: "why502_diagnosis", event_payload: { case: "upstream-refused" } };
    const parent = await slack.chat.postMessage({ channel: C, text: "502 on checkout", metadata });
    expect(parent.ts).toMatch(/^\d{10}\.\d{6}$/);
    const reply = await slack.chat.postMessage({ channel: C, text: "evidence", thread_ts: parent.ts });
    expect(Number(reply.ts)).toBeGreaterThan(Number(parent.ts));

    const plain = await slack.conversations.history({ channel: C });
    expect(plain.messages?.map((m) => m.text)).toEqual(["502 on checkout"]);
    expect(plain.messages?.[0]).not.toHaveProperty("metadata");
    expect(plain.messages?.[0]).toMatchObject({ reply_count: 1, thread_ts: parent.ts, bot_id: "B0WHY502" });

    const full = await slack.conversations.history({ channel: C, include_all_metadata: true });
    expect(full.messages?.[0]?.metadata).toEqual(metadata);

    const thread = await slack.conversations.replies({ channel: C, ts: parent.ts ?? "" });
    expect(thread.messages?.map((m) => m.text)).toEqual(["502 on checkout", "evidence"]);
    expect(thread.messages?.[0]).not.toHaveProperty("metadata");
    const threadWithMeta = await slack.conversations.replies({
      channel: C,
      ts: parent.ts ?? "",
      include_all_metadata: true,
    });
    expect(threadWithMeta.messages?.[0]?.metadata).toEqual(metadata);

    expect(standIn.messages(C)[0]).toMatchObject({ reply_count: 1, metadata });
    expect(standIn.replies(C, parent.ts ?? "").map((m) => m.text)).toEqual(["evidence"]);
    const sent = standIn.calls.find((c) => c.method === "chat.postMessage");
    expect(sent?.params.metadata).toEqual(metadata);
  });

  test("history is newest first and pages with a cursor", async () => {
    const slack = client();
    for (const text of ["one", "two", "three"]) await slack.chat.postMessage({ channel: C, text });
    const first = await slack.conversations.history({ channel: C, limit: 2 });
    expect(first.messages?.map((m) => m.text)).toEqual(["three", "two"]);
    expect(first.has_more).toBe(true);
    const cursor = first.response_metadata?.next_cursor ?? "";
    const second = await slack.conversations.history({ channel: C, limit: 2, cursor });
    expect(second.messages?.map((m) => m.text)).toEqual(["one"]);
    expect(second.has_more).toBe(false);
  });

  test("a broadcast reply shows in the channel as thread_broadcast", async () => {
    const slack = client();
    const parent = await slack.chat.postMessage({ channel: C, text: "parent" });
    await slack.chat.postMessage({
      channel: C,
      text: "also here",
      thread_ts: parent.ts ?? "",
      reply_broadcast: true,
    });
    const history = await slack.conversations.history({ channel: C });
    expect(history.messages?.[0]).toMatchObject({ text: "also here", subtype: "thread_broadcast" });
  });

  test("chat.update records the edit; text left out keeps the old text", async () => {
    const slack = client();
    const posted = await slack.chat.postMessage({
      channel: C,
      text: "diagnosing…",
      blocks: [section("diagnosing…")],
    });
    await slack.chat.update({ channel: C, ts: posted.ts ?? "", blocks: [section("upstream refused")] });
    const [message] = standIn.messages(C);
    expect(message?.text).toBe("diagnosing…");
    expect(message?.blocks).toEqual([section("upstream refused")]);
    expect(message?.edits).toHaveLength(1);
    const history = await slack.conversations.history({ channel: C });
    expect(history.messages?.[0]?.edited).toBeDefined();
  });

  test("an ephemeral message is stored apart, for its user", async () => {
    const result = await client().chat.postEphemeral({ channel: C, user: "U0BOB", text: "only you" });
    expect(standIn.ephemerals(C)).toEqual([
      { channel: C, user: "U0BOB", message_ts: result.message_ts, text: "only you" },
    ]);
    expect(standIn.messages(C)).toEqual([]);
  });

  test("auth.test names the bot and the scopes come back in x-oauth-scopes", async () => {
    const result = await client().auth.test();
    expect(result).toMatchObject({ ok: true, user_id: "U0WHY502", bot_id: "B0WHY502", team_id: "T0WHY502" });
    expect(result.response_metadata?.scopes).toEqual(DEFAULT_SCOPES);
  });

  test("conversations.info and usergroups.users.list", async () => {
    await restart({ usergroups: { S0ONCALL: ["U0ANA"] } });
    const slack = client();
    const info = await slack.conversations.info({ channel: C });
    expect(info.channel).toMatchObject({ id: C, name: "checkout-oncall", is_member: true });
    expect((await slack.usergroups.users.list({ usergroup: "S0ONCALL" })).users).toEqual(["U0ANA"]);
    expect(await slackError(slack.usergroups.users.list({ usergroup: "S0NONE" }))).toBe("no_such_subteam");
  });
});

describe("Web API: Slack's errors", () => {
  beforeEach(async () => {
    await restart({
      channels: [
        { id: C, name: "checkout-oncall", members: ["U0ANA"] },
        { id: "C0OUTSIDE", name: "outside", botIsMember: false },
        { id: "G0SECRET", name: "secret", botIsMember: false, isPrivate: true },
      ],
      scopes: DEFAULT_SCOPES.filter((s) => s !== "chat:write.public"),
    });
  });

  test("auth: no token, a wrong token, an app token on a bot method, a missing scope", async () => {
    expect(await slackError(client({ token: "" }).auth.test())).toBe("not_authed");
    expect(await slackError(client({ token: "xoxb-wrong" }).auth.test())).toBe("invalid_auth");
    expect(await slackError(client({ token: "xapp-standin" }).auth.test())).toBe("not_allowed_token_type");
    const error = await rejection(
      client().reactions.add({ channel: C, timestamp: "1.000001", name: "eyes" }),
    );
    expect(error.data).toMatchObject({ error: "message_not_found" });
    await restart({ scopes: ["chat:write"] });
    const scoped = await rejection(
      client().reactions.add({ channel: C, timestamp: "1.000001", name: "eyes" }),
    );
    expect(scoped.data).toMatchObject({ error: "missing_scope", needed: "reactions:write" });
  });

  test("unknown_method", async () => {
    expect(await slackError(client().apiCall("chat.postMesage", { channel: C, text: "x" }))).toBe(
      "unknown_method",
    );
  });

  test("chat.postMessage: channel, membership, text", async () => {
    const slack = client();
    expect(await slackError(slack.chat.postMessage({ channel: "C0NOPE", text: "x" }))).toBe(
      "channel_not_found",
    );
    expect(await slackError(slack.chat.postMessage({ channel: "C0OUTSIDE", text: "x" }))).toBe(
      "not_in_channel",
    );
    expect(await slackError(slack.chat.postMessage({ channel: "G0SECRET", text: "x" }))).toBe(
      "channel_not_found",
    );
    expect(await slackError(slack.chat.postMessage({ channel: C, text: "" }))).toBe("no_text");
    expect(await slackError(slack.chat.postMessage({ channel: C, text: "x".repeat(40_001) }))).toBe(
      "msg_too_long",
    );
    await slack.chat.postMessage({ channel: C, text: "x".repeat(40_000) });
  });

  test("chat:write.public lets the bot post to a public channel it is not in, never a private one", async () => {
    await restart({ channels: [{ id: "C0OUTSIDE", name: "outside", botIsMember: false }] });
    const posted = await client().chat.postMessage({ channel: "C0OUTSIDE", text: "x" });
    expect(posted.channel).toBe("C0OUTSIDE");
  });

  test("chat.postMessage: metadata and thread_ts", async () => {
    const slack = client();
    const badMeta = slack.chat.postMessage({
      channel: C,
      text: "x",
      metadata: { event_payload: {} } as never,
    });
    expect(await slackError(badMeta)).toBe("invalid_metadata_format");
    const rawMeta = slack.apiCall("chat.postMessage", { channel: C, text: "x", metadata: "{not json" });
    expect(await slackError(rawMeta)).toBe("invalid_metadata_format");
    expect(await slackError(slack.chat.postMessage({ channel: C, text: "x", thread_ts: "0" }))).toBe(
      "invalid_thread_ts",
    );
  });

  test("a reply to a ts that names no message is accepted, like Slack, and shows nowhere", async () => {
    const slack = client();
    const orphan = await slack.chat.postMessage({ channel: C, text: "lost", thread_ts: "1700000000.000100" });
    expect(orphan.ok).toBe(true);
    expect((await slack.conversations.history({ channel: C })).messages).toEqual([]);
    const replies = slack.conversations.replies({ channel: C, ts: "1700000000.000100" });
    expect(await slackError(replies)).toBe("thread_not_found");
  });

  test("chat.update: unknown ts, someone else's message, text limit", async () => {
    const slack = client();
    expect(await slackError(slack.chat.update({ channel: C, ts: "1700000000.000100", text: "x" }))).toBe(
      "message_not_found",
    );
    const human = standIn.postAsUser(C, "U0ANA", "why 502?");
    expect(await slackError(slack.chat.update({ channel: C, ts: human.ts, text: "x" }))).toBe(
      "cant_update_message",
    );
    const mine = await slack.chat.postMessage({ channel: C, text: "x" });
    expect(
      await slackError(slack.chat.update({ channel: C, ts: mine.ts ?? "", text: "y".repeat(4001) })),
    ).toBe("msg_too_long");
  });

  test("chat.postEphemeral to someone outside the channel", async () => {
    const call = client().chat.postEphemeral({ channel: C, user: "U0BOB", text: "x" });
    expect(await slackError(call)).toBe("user_not_in_channel");
  });

  test("reactions: already_reacted, invalid_name, message_not_found, no_reaction", async () => {
    const slack = client();
    const { ts = "" } = await slack.chat.postMessage({ channel: C, text: "x" });
    await slack.reactions.add({ channel: C, timestamp: ts, name: "eyes" });
    expect(standIn.messages(C)[0]?.reactions).toEqual(["eyes"]);
    expect(await slackError(slack.reactions.add({ channel: C, timestamp: ts, name: "eyes" }))).toBe(
      "already_reacted",
    );
    expect(await slackError(slack.reactions.add({ channel: C, timestamp: ts, name: ":eyes:" }))).toBe(
      "invalid_name",
    );
    expect(await slackError(slack.reactions.add({ channel: C, timestamp: ts, name: "eyez" }))).toBe(
      "invalid_name",
    );
    const missing = slack.reactions.add({ channel: C, timestamp: "1700000000.000100", name: "eyes" });
    expect(await slackError(missing)).toBe("message_not_found");
    await slack.reactions.remove({ channel: C, timestamp: ts, name: "eyes" });
    expect(await slackError(slack.reactions.remove({ channel: C, timestamp: ts, name: "eyes" }))).toBe(
      "no_reaction",
    );
  });

  test("conversations: not_in_channel and thread_not_found", async () => {
    const slack = client();
    expect(await slackError(slack.conversations.history({ channel: "C0OUTSIDE" }))).toBe("not_in_channel");
    expect(await slackError(slack.conversations.replies({ channel: C, ts: "1700000000.000100" }))).toBe(
      "thread_not_found",
    );
  });

  test("a JSON body must carry its token in the Authorization header and gets missing_charset", async () => {
    const post = (headers: Record<string, string>, body: object) =>
      fetch(`${standIn.url}auth.test`, { method: "POST", headers, body: JSON.stringify(body) }).then((r) =>
        r.json(),
      );
    expect(await post({ "content-type": "application/json" }, { token: "xoxb-standin" })).toMatchObject({
      ok: false,
      error: "not_authed",
      warning: "missing_charset",
    });
    const ok = await post(
      { "content-type": "application/json; charset=utf-8", authorization: "Bearer xoxb-standin" },
      {},
    );
    expect(ok).toMatchObject({ ok: true });
    expect(ok).not.toHaveProperty("warning");
  });
});

describe("Web API: Block Kit limits", () => {
  test("51 blocks", async () => {
    const blocks = Array.from({ length: 51 }, () => ({ type: "divider" }));
    const error = await rejection(client().chat.postMessage({ channel: C, text: "x", blocks }));
    expect(error.data).toMatchObject({
      error: "invalid_blocks",
      errors: ["no more than 50 items allowed [json-pointer:/blocks]"],
      response_metadata: { messages: ["[ERROR] no more than 50 items allowed [json-pointer:/blocks]"] },
    });
    await client().chat.postMessage({ channel: C, text: "x", blocks: blocks.slice(1) });
  });

  test("a section of 3001 characters, a header of 151, an unknown block type, a long button", async () => {
    const post = (blocks: object[]) =>
      rejection(client().apiCall("chat.postMessage", { channel: C, text: "x", blocks }));
    expect((await post([section("a".repeat(3001))])).data).toMatchObject({
      errors: ["must be less than 3001 characters [json-pointer:/blocks/0/text/text]"],
    });
    await client().chat.postMessage({ channel: C, text: "x", blocks: [section("a".repeat(3000))] });
    const header = { type: "header", text: { type: "plain_text", text: "h".repeat(151) } };
    expect((await post([header])).data).toMatchObject({
      errors: ["must be less than 151 characters [json-pointer:/blocks/0/text/text]"],
    });
    expect((await post([{ type: "sectoin" }])).data).toMatchObject({
      error: "invalid_blocks",
      errors: ["unsupported type: sectoin [json-pointer:/blocks/0/type]"],
    });
    const button = { type: "button", action_id: "rerun", text: { type: "plain_text", text: "b".repeat(76) } };
    expect((await post([{ type: "actions", elements: [button] }])).data).toMatchObject({
      errors: ["must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]"],
    });
  });

  test("about 13,000 characters of text across blocks is msg_blocks_too_long", async () => {
    const blocks = Array.from({ length: 5 }, () => section("a".repeat(2600)));
    expect(await slackError(client().chat.postMessage({ channel: C, text: "x", blocks }))).toBe(
      "msg_blocks_too_long",
    );
    const ts = (await client().chat.postMessage({ channel: C, text: "x" })).ts ?? "";
    expect(await slackError(client().chat.update({ channel: C, ts, blocks }))).toBe("msg_blocks_too_long");
  });
});

describe("faults", () => {
  test("429 carries Retry-After to WebClient and the call is not performed", async () => {
    standIn.fault("chat.postMessage", { kind: "429", retryAfter: 7 });
    const slack = client({ rejectRateLimitedCalls: true });
    const error = await rejection(slack.chat.postMessage({ channel: C, text: "x" }));
    expect(error).toMatchObject({ code: ErrorCode.RateLimitedError, retryAfter: 7 });
    expect(standIn.messages(C)).toEqual([]);
    expect(standIn.calls[0]).toMatchObject({ method: "chat.postMessage", status: 429, fault: "429" });
    await slack.chat.postMessage({ channel: C, text: "x" });
    expect(standIn.messages(C)).toHaveLength(1);
  });

  test("500, and an outage until down(false)", async () => {
    standIn.fault("*", { kind: "500" }, 2);
    const slack = client();
    expect(await rejection(slack.auth.test())).toMatchObject({ code: ErrorCode.HTTPError, statusCode: 500 });
    expect(await rejection(slack.auth.test())).toMatchObject({ code: ErrorCode.HTTPError, statusCode: 500 });
    await slack.auth.test();
    standIn.down(true, "drop");
    expect(await slackError(slack.chat.postMessage({ channel: C, text: "x" }))).toBe(ErrorCode.RequestError);
    standIn.down(false);
    await slack.chat.postMessage({ channel: C, text: "x" });
    expect(standIn.messages(C)).toHaveLength(1);
  });

  test("drop: the socket closes unanswered and nothing is stored", async () => {
    standIn.fault("chat.postMessage", { kind: "drop" });
    expect(await slackError(client().chat.postMessage({ channel: C, text: "x" }))).toBe(
      ErrorCode.RequestError,
    );
    expect(standIn.messages(C)).toEqual([]);
  });

  test("accept-then-drop: the client sees a failure although Slack stored the message", async () => {
    standIn.fault("chat.postMessage", { kind: "accept-then-drop" });
    expect(await slackError(client().chat.postMessage({ channel: C, text: "x" }))).toBe(
      ErrorCode.RequestError,
    );
    expect(standIn.messages(C).map((m) => m.text)).toEqual(["x"]);
  });

  test("accept-then-hang: the message is stored, the answer never comes, the client times out", async () => {
    standIn.fault("chat.postMessage", { kind: "accept-then-hang" });
    const hung = once(standIn.events, "hang");
    const call = client({ timeout: 300 }).chat.postMessage({ channel: C, text: "stored anyway" });
    await hung;
    expect(standIn.messages(C).map((m) => m.text)).toEqual(["stored anyway"]);
    expect(await slackError(call)).toBe(ErrorCode.RequestError);
    expect(standIn.calls[0]).toMatchObject({ fault: "accept-then-hang" });
    expect(standIn.calls[0]?.status).toBeUndefined();
  });

  test("waitFor rejects with the last calls when the condition never holds", async () => {
    await client().auth.test();
    await expect(standIn.waitFor(() => standIn.messages(C).length > 0, 50)).rejects.toThrow(
      /not met within 50 ms; last calls: auth\.test → 200/,
    );
  });
});

describe("files", () => {
  test("filesUploadV2 with thread_ts puts the file, bytes intact, in the thread", async () => {
    const slack = client();
    const parent = await slack.chat.postMessage({ channel: C, text: "502 on checkout" });
    const content = "upstream: connect() failed (111: Connection refused)\n";
    await slack.filesUploadV2({
      channel_id: C,
      thread_ts: parent.ts ?? "",
      filename: "evidence.txt",
      title: "Evidence",
      content,
      initial_comment: "the evidence",
    });
    const [fileMessage] = standIn.replies(C, parent.ts ?? "");
    expect(fileMessage?.text).toBe("the evidence");
    expect(fileMessage?.files.map((f) => [f.name, f.title, f.size])).toEqual([
      ["evidence.txt", "Evidence", Buffer.byteLength(content)],
    ]);
    expect(fileMessage?.files[0]?.content.toString("utf8")).toBe(content);
    expect(standIn.messages(C)[0]?.reply_count).toBe(1);
    expect(standIn.calls.map((c) => c.method)).toEqual([
      "chat.postMessage",
      "files.getUploadURLExternal",
      "upload",
      "files.completeUploadExternal",
    ]);
  });

  test("completing a file that was never uploaded is file_not_found", async () => {
    const slack = client();
    const { file_id = "" } = await slack.files.getUploadURLExternal({ filename: "a.txt", length: 3 });
    const complete = slack.files.completeUploadExternal({ files: [{ id: file_id }], channel_id: C });
    expect(await slackError(complete)).toBe("file_not_found");
  });

  test("an upload whose size differs from the declared length is refused", async () => {
    const slack = client();
    const { upload_url = "" } = await slack.files.getUploadURLExternal({ filename: "a.txt", length: 3 });
    const res = await fetch(upload_url, { method: "POST", body: "four" });
    expect(res.status).toBe(400);
    expect(await res.text()).toBe("length mismatch: declared 3, received 4");
  });
});

describe("response_url", () => {
  test("takes five posts, then answers 404 used_url", async () => {
    const url = standIn.responseUrl();
    const post = (n: number) =>
      fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ text: `reply ${n}` }),
      });
    for (const n of [1, 2, 3, 4, 5]) expect((await post(n)).status).toBe(200);
    const sixth = await post(6);
    expect([sixth.status, await sixth.text()]).toEqual([404, "used_url"]);
    expect(standIn.responses.map((r) => r.body)).toEqual(
      [1, 2, 3, 4, 5].map((n) => ({ text: `reply ${n}` })),
    );
    expect(standIn.responses[0]?.url).toBe(url);
  });
});

describe("Socket Mode", () => {
  function socketClient(opts: { appToken?: string; clientPingTimeout?: number } = {}): SocketModeClient {
    const sm = new SocketModeClient({
      appToken: opts.appToken ?? "xapp-standin",
      logger: quiet,
      clientOptions: { slackApiUrl: standIn.url },
      ...(opts.clientPingTimeout !== undefined && { clientPingTimeout: opts.clientPingTimeout }),
    });
    cleanups.push(() => sm.disconnect());
    return sm;
  }

  test("connects through apps.connections.open, gets hello, acks an envelope", async () => {
    const sm = socketClient();
    sm.on("slash_commands", async ({ ack, body }) => {
      await ack({ text: `checking ${(body as { text: string }).text}` });
    });
    await sm.start();
    expect(standIn.socketConnections()).toBe(1);
    const open = standIn.calls.find((c) => c.method === "apps.connections.open");
    expect(open?.response).toMatchObject({
      url: expect.stringMatching(/^ws:\/\/127\.0\.0\.1:\d+\/link\/\?ticket=/),
    });
    const ack = await standIn.sendEnvelope("slash_commands", { command: "/why502", text: "checkout" });
    expect(ack.payload).toEqual({ text: "checking checkout" });
    expect(ack.ackMs).toBeGreaterThanOrEqual(0);
  });

  test("an envelope nobody acks rejects after its timeout", async () => {
    const sm = socketClient();
    await sm.start();
    const event = { type: "app_mention", user: "U0ANA", text: "<@U0WHY502> why", ts: "1.000001", channel: C };
    await expect(standIn.sendEnvelope("events_api", { event }, { ackTimeoutMs: 100 })).rejects.toThrow(
      /not acked within 100 ms/,
    );
  });

  test("with no client connected, sendEnvelope rejects at once", async () => {
    await expect(standIn.sendEnvelope("interactive", {})).rejects.toThrow(
      /no Socket Mode client is connected/,
    );
  });

  test("a wrong app token is invalid_auth and the client gives up", async () => {
    const sm = socketClient({ appToken: "xapp-wrong" });
    expect(await slackError(sm.start())).toBe("invalid_auth");
  });

  test("after disconnect(refresh_requested) the client opens a new connection", async () => {
    const sm = socketClient({ clientPingTimeout: 300 });
    await sm.start();
    standIn.disconnectSockets();
    const opens = () => standIn.calls.filter((c) => c.method === "apps.connections.open").length;
    await standIn.waitFor(() => opens() === 2 && standIn.socketConnections() === 1);
    sm.on("interactive", async ({ ack }) => ack());
    const ack = await standIn.sendEnvelope("interactive", { type: "block_actions" });
    expect(ack.payload).toEqual({});
  });
});
