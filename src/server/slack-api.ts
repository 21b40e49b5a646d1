import { ErrorCode, WebClient } from "@slack/web-api";
import type { Metrics } from "./metrics.js";

/** The Slack Web API as the bot uses it: generic calls and the external file upload, each counted. */
export interface SlackApi {
  call(method: string, params: Record<string, unknown>): Promise<Record<string, unknown>>;
  upload(params: {
    channel: string;
    threadTs?: string;
    initialComment?: string;
    /** `content` is UTF-8 text, or base64 when `encoding` says so (images). */
    files: { filename: string; title: string; content: string; encoding?: "base64" }[];
  }): Promise<void>;
}

/**
 * A WebClient set up on purpose: a request timeout (it has none by default), no retries of its own and
 * rate-limited calls rejected rather than queued (on a 429 it would pause every call; the outbox retries
 * each entry with its own backoff and Retry-After instead).
 */
export function slackApi(
  token: string,
  opts: { apiUrl: string; timeoutMs: number; metrics?: Metrics },
): SlackApi {
  const client = new WebClient(token, {
    slackApiUrl: opts.apiUrl,
    timeout: opts.timeoutMs,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
  });
  const counted = async <T>(method: string, f: () => Promise<T>): Promise<T> => {
    opts.metrics?.slackCalls.inc({ method });
    try {
      return await f();
    } catch (e) {
      opts.metrics?.slackErrors.inc({ method, error: slackErrorName(e) });
      throw e;
    }
  };
  return {
    call: (method, params) =>
      counted(
        method,
        async () => (await client.apiCall(method, params)) as unknown as Record<string, unknown>,
      ),
    upload: ({ channel, threadTs, initialComment, files }) =>
      counted("files.uploadV2", async () => {
        await client.filesUploadV2({
          channel_id: channel,
          ...(threadTs ? { thread_ts: threadTs } : {}),
          ...(initialComment ? { initial_comment: initialComment } : {}),
          file_uploads: files.map((f) => ({
            file: Buffer.from(f.content, f.encoding === "base64" ? "base64" : "utf8"),
            filename: f.filename,
            title: f.title,
          })),
        } as Parameters<WebClient["filesUploadV2"]>[0]);
      }),
  };
}

/** Slack's error name for an API error, or what kind of transport failure it was. */
export function slackErrorName(e: unknown): string {
  const err = e as { code?: string; data?: { error?: string }; statusCode?: number };
  switch (err?.code) {
    case ErrorCode.PlatformError:
      return err.data?.error ?? "platform_error";
    case ErrorCode.RateLimitedError:
      return "ratelimited";
    case ErrorCode.HTTPError:
      return `http_${err.statusCode ?? "error"}`;
    case ErrorCode.RequestError:
      return "network";
    default:
      return "error";
  }
}

/** Seconds Slack asked to wait (429 Retry-After), when it did. */
export function retryAfterSeconds(e: unknown): number | undefined {
  const err = e as { code?: string; retryAfter?: number };
  return err?.code === ErrorCode.RateLimitedError ? err.retryAfter : undefined;
}
