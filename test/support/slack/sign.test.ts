import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { App, LogLevel } from "@slack/bolt";
import { afterEach, beforeEach, expect, test } from "vitest";
import { appMentionBody, blockActionsBody, signSlackRequest, slashCommandBody } from "./sign.js";
import { type StandIn, startSlackStandIn } from "./standin.js";

const SECRET = "standin-signing-secret";
let standIn: StandIn;
let app: App;
let endpoint: string;

beforeEach(async () => {
  standIn = await startSlackStandIn();
  app = new App({
    signingSecret: SECRET,
    token: "xoxb-standin",
    clientOptions: { slackApiUrl: standIn.url, retryConfig: { retries: 0 } },
    logLevel: LogLevel.ERROR,
  });
  app.command("/why502", async ({ ack, respond, command }) => {
    await ack();
    await respond({ text: `checking ${command.text}` });
  });
  app.event("app_mention", async ({ event, say }) => {
    await say({ text: "on it", thread_ts: event.ts });
  });
  app.action("rerun", async ({ ack, respond, body }) => {
    await ack();
    await respond({ text: `rerun by ${body.user.id}` });
  });
  const server = (await app.start({ port: 0, host: "127.0.0.1" })) as Server;
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
  // Bolt calls auth.test as soon as it is built; let it finish before the stand-in can close.
  await standIn.waitFor(() => standIn.calls.some((c) => c.method === "auth.test" && c.status === 200));
});

afterEach(async () => {
  await app.stop();
  await standIn.close();
});

const post = (body: string, headers = signSlackRequest(SECRET, body)) =>
  fetch(endpoint, { method: "POST", headers, body });

test("signs Slack's documented example to Slack's documented signature", () => {
  const body =
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V" +
    "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=" +
    "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN" +
    "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
  expect(signSlackRequest("8f742231b10e8888abcd99yyyzzz85a5", body, 1531420618)).toEqual({
    "x-slack-signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    "x-slack-request-timestamp": "1531420618",
    "content-type": "application/x-www-form-urlencoded",
  });
});

test("a signed slash command reaches the handler and respond() lands on the response_url", async () => {
  const response_url = standIn.responseUrl();
  const res = await post(slashCommandBody({ text: "checkout api", response_url }));
  expect(res.status).toBe(200);
  const reply = await standIn.waitFor(() => standIn.responses[0]);
  expect(reply).toEqual({
    url: response_url,
    body: expect.objectContaining({ text: "checking checkout api" }),
  });
});

test("a signed app_mention makes the bot answer in the thread of the mention", async () => {
  const mention = standIn.postAsUser("C0CHECKOUT", "U0ANA", "<@U0WHY502> why 502?");
  const res = await post(appMentionBody({ text: mention.text, ts: mention.ts }));
  expect(res.status).toBe(200);
  const [answer] = await standIn.waitFor(() => {
    const replies = standIn.replies("C0CHECKOUT", mention.ts);
    return replies.length > 0 && replies;
  });
  expect(answer?.text).toBe("on it");
});

test("a signed block_actions payload reaches the action handler", async () => {
  const response_url = standIn.responseUrl();
  const res = await post(
    blockActionsBody({ action_id: "rerun", message_ts: "1764000000.000100", response_url }),
  );
  expect(res.status).toBe(200);
  const reply = await standIn.waitFor(() => standIn.responses[0]);
  expect(reply.body).toMatchObject({ text: "rerun by U0ANA" });
});

test("a wrong secret or a stale timestamp is refused with 401", async () => {
  const body = slashCommandBody({ text: "x", response_url: standIn.responseUrl() });
  expect((await post(body, signSlackRequest("wrong-secret", body))).status).toBe(401);
  const stale = Math.floor(Date.now() / 1000) - 6 * 60;
  expect((await post(body, signSlackRequest(SECRET, body, stale))).status).toBe(401);
  expect(standIn.responses).toEqual([]);
});
