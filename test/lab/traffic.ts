import { Agent, request } from "node:http";

export interface Reply {
  path: string;
  /** HTTP status, or 0 when no response came (socket error, client timeout) */
  status: number;
  ms: number;
  /** the backend that answered, from the app's JSON body */
  instance?: string;
  error?: string;
}

export interface TrafficOptions {
  host: string;
  port: number;
  count: number;
  concurrency?: number;
  /** path of request i; default "/checkout?order=1001" */
  path?: (i: number) => string;
  /** checked before each request: true stops sending (requests in flight complete) */
  stopWhen?: () => boolean;
  timeoutMs?: number;
}

/** Sends at most `count` GET requests with bounded concurrency; every request ends within `timeoutMs`. */
export async function sendTraffic(opts: TrafficOptions): Promise<Reply[]> {
  const concurrency = opts.concurrency ?? 4;
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const replies: Reply[] = [];
  let issued = 0;
  const worker = async (): Promise<void> => {
    while (issued < opts.count && !(opts.stopWhen?.() ?? false)) {
      const i = issued++;
      replies.push(await get(agent, opts, opts.path?.(i) ?? "/checkout?order=1001"));
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    agent.destroy();
  }
  return replies;
}

function get(agent: Agent, opts: TrafficOptions, path: string): Promise<Reply> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    const req = request(
      { host: opts.host, port: opts.port, path, agent, timeout: opts.timeoutMs ?? 15_000 },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => {
          body += d;
        });
        res.on("end", () => resolve({ path, status: res.statusCode ?? 0, ms: ms(), ...instanceOf(body) }));
        res.on("error", (err) =>
          resolve({ path, status: res.statusCode ?? 0, ms: ms(), error: err.message }),
        );
      },
    );
    req.on("timeout", () => req.destroy(new Error("client timeout")));
    req.on("error", (err) => resolve({ path, status: 0, ms: ms(), error: err.message }));
    req.end();
  });
}

function instanceOf(body: string): { instance?: string } {
  try {
    const parsed: unknown = JSON.parse(body);
    if (
      parsed !== null &&
      typeof parsed === "object" &&
      "instance" in parsed &&
      typeof parsed.instance === "string"
    ) {
      return { instance: parsed.instance };
    }
  } catch {
    // nginx's HTML error page
  }
  return {};
}

export function countByStatus(replies: Reply[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of replies) out[String(r.status)] = (out[String(r.status)] ?? 0) + 1;
  return out;
}
