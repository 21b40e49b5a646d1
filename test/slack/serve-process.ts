import { type ChildProcess, spawn } from "node:child_process";
import { request } from "node:http";
import { fileURLToPath } from "node:url";
import { gone } from "../support/gone.js";
import {
  appMentionBody,
  appMentionEvent,
  blockActionsBody,
  blockActionsPayload,
  eventCallbackPayload,
  signSlackRequest,
  slashCommandBody,
  slashCommandPayload,
} from "../support/slack/sign.js";
import type { StandIn } from "../support/slack/standin.js";

const bin = fileURLToPath(new URL("../../bin/why502.js", import.meta.url));

export const SIGNING_SECRET = "standin-signing-secret";
export const BOT_TOKEN = "xoxb-standin";
export const APP_TOKEN = "xapp-standin";

export interface Serve {
  mode: "http" | "socket";
  pid: number;
  port: number;
  child: ChildProcess;
  /** Everything serve wrote to stderr (its JSON log lines and the start line). */
  stderr(): string;
  logLines(): Record<string, unknown>[];
  /** Resolves with the exit code (or signal) once the process ended. */
  exited: Promise<number | string>;
}

/** `why502 serve` as a real process: HTTP mode, or Socket Mode against the stand-in's WebSocket. */
export async function startServe(opts: {
  config: string;
  mode: "http" | "socket";
  env?: Record<string, string>;
  cwd?: string;
}): Promise<Serve> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/root",
    USER: process.env.USER ?? "root",
    LOG_LEVEL: "info",
    SLACK_BOT_TOKEN: BOT_TOKEN,
    ...(opts.mode === "http" ? { SLACK_SIGNING_SECRET: SIGNING_SECRET } : { SLACK_APP_TOKEN: APP_TOKEN }),
    ...opts.env,
  };
  const child = spawn(
    process.execPath,
    [bin, "serve", "--config", opts.config, "--port", "0", "--host", "127.0.0.1"],
    {
      env,
      cwd: opts.cwd,
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let err = "";
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"));
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (d: string) => {
      err += d;
      const m = /health and metrics on port (\d+)/.exec(err);
      if (m) resolve(Number(m[1]));
    });
    void exited.then((code) => reject(new Error(`serve exited (${code}) before it served:\n${err}`)));
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error("serve has no pid");
  return {
    mode: opts.mode,
    pid,
    port,
    child,
    stderr: () => err,
    logLines: () =>
      err
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    exited,
  };
}

/** Resolves with the first JSON log line of serve matching `match`, as soon as serve writes it. */
export function waitForLog(
  s: Serve,
  match: (line: Record<string, unknown>) => boolean,
  timeoutMs = 20_000,
): Promise<Record<string, unknown>> {
  const found = () => s.logLines().find(match);
  const now = found();
  if (now) return Promise.resolve(now);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      s.child.stderr?.off("data", check);
      reject(
        new Error(
          `serve wrote no such log line within ${timeoutMs} ms; last lines:\n${s.stderr().slice(-2000)}`,
        ),
      );
    }, timeoutMs);
    const check = () => {
      const l = found();
      if (!l) return;
      clearTimeout(timer);
      s.child.stderr?.off("data", check);
      resolve(l);
    };
    // After serve's own listener has appended the chunk.
    s.child.stderr?.on("data", () => setImmediate(check));
  });
}

/** SIGTERM, then SIGKILL if it does not end within 5 s; resolves once the pid is gone. */
export async function stopServe(s: Serve | undefined): Promise<void> {
  if (!s || s.child.exitCode !== null || s.child.signalCode !== null) return;
  s.child.kill("SIGTERM");
  const done = await Promise.race([
    s.exited.then(() => true),
    new Promise<boolean>((r) => setTimeout(() => r(false), 5000)),
  ]);
  if (!done) s.child.kill("SIGKILL");
  await s.exited;
  await gone(s.pid);
}

/** kill -9: no chance to finish anything. */
export async function killServe(s: Serve): Promise<void> {
  s.child.kill("SIGKILL");
  await s.exited;
  await gone(s.pid);
}

export interface HttpReply {
  status: number;
  body: string;
  ms: number;
}

export function httpRequest(
  port: number,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<HttpReply> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      // A connection of its own per request: a kept-alive socket can be closed by serve's keep-alive timer just
      // as the next request is written ("socket hang up"), and under libfaketime that timer runs ten times fast.
      { host: "127.0.0.1", port, path, method: opts.method ?? "GET", headers: opts.headers, agent: false },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => {
          body += d;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, ms: performance.now() - started }));
      },
    );
    req.on("error", reject);
    req.end(opts.body);
  });
}

/** POST a signed request to Bolt's HTTP receiver, as Slack does. */
export function postSigned(port: number, body: string, opts: { secret?: string; timestamp?: number } = {}) {
  const headers = signSlackRequest(opts.secret ?? SIGNING_SECRET, body, opts.timestamp);
  return httpRequest(port, "/slack/events", { method: "POST", headers, body });
}

export interface Who {
  user?: string;
  channel?: string;
}

/** A slash command over the bot's transport: the ack's body (HTTP) or payload (Socket Mode). */
export async function slash(
  s: Serve,
  standin: StandIn,
  text: string,
  who: Who = {},
): Promise<{ ack: unknown; ms: number; status?: number }> {
  const fields = {
    text,
    user_id: who.user ?? "U0ANA",
    channel_id: who.channel ?? "C0CHECKOUT",
    response_url: standin.responseUrl(),
  };
  if (s.mode === "http") {
    const r = await postSigned(s.port, slashCommandBody(fields));
    return { ack: r.body ? JSON.parse(r.body) : undefined, ms: r.ms, status: r.status };
  }
  const a = await standin.sendEnvelope("slash_commands", slashCommandPayload(fields));
  return { ack: a.payload, ms: a.ackMs };
}

export async function mention(
  s: Serve,
  standin: StandIn,
  text: string,
  threadTs: string | undefined,
  who: Who = {},
) {
  const channel = who.channel ?? "C0CHECKOUT";
  const user = who.user ?? "U0ANA";
  const m = standin.postAsUser(channel, user, `<@U0WHY502> ${text}`, threadTs);
  const fields = { text: m.text, user, channel, ts: m.ts, ...(threadTs ? { thread_ts: threadTs } : {}) };
  if (s.mode === "http") return postSigned(s.port, appMentionBody(fields));
  return standin.sendEnvelope("events_api", eventCallbackPayload(appMentionEvent(fields)));
}

export async function press(
  s: Serve,
  standin: StandIn,
  actionId: string,
  value: string,
  messageTs: string,
  who: Who = {},
) {
  const fields = {
    action_id: actionId,
    value,
    user_id: who.user ?? "U0ANA",
    channel_id: who.channel ?? "C0CHECKOUT",
    message_ts: messageTs,
    response_url: standin.responseUrl(),
  };
  if (s.mode === "http") return postSigned(s.port, blockActionsBody(fields));
  return standin.sendEnvelope("interactive", blockActionsPayload(fields));
}
