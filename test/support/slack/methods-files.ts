/**
 * The three steps of WebClient's filesUploadV2: files.getUploadURLExternal, a POST of the bytes to the
 * upload_url (WebClient sends multipart/form-data with one file field; raw bytes are accepted too), and
 * files.completeUploadExternal, which shares the files as one message in the channel or thread.
 */
import type { IncomingMessage } from "node:http";
import {
  type ApiResult,
  type CallContext,
  fail,
  type MethodSpec,
  memberChannel,
  resolveThread,
} from "./method-kit.js";
import { int, str } from "./request.js";
import type { PendingFile, StoredFile, Workspace } from "./workspace.js";

export const UPLOAD_PATH = "/upload/v1/";

function getUploadUrl(ctx: CallContext): ApiResult {
  const filename = str(ctx.params, "filename");
  const length = int(ctx.params, "length");
  if (filename === undefined || filename === "") {
    return fail("invalid_arguments", ["missing required field: filename"]);
  }
  if (length === undefined) return fail("invalid_arguments", ["missing required field: length"]);
  if (length <= 0) return fail("missing_argument");
  const id = ctx.ws.nextFileId();
  ctx.ws.files.set(id, { id, filename, length });
  return { ok: true, upload_url: `${ctx.origin.replace(/\/$/, "")}${UPLOAD_PATH}${id}`, file_id: id };
}

async function uploadedBytes(req: IncomingMessage, raw: Buffer): Promise<Buffer> {
  if (!(req.headers["content-type"] ?? "").startsWith("multipart/form-data")) return raw;
  const form = await new Request("http://standin/", {
    method: "POST",
    headers: { "content-type": req.headers["content-type"] ?? "" },
    body: raw,
  }).formData();
  for (const value of form.values()) {
    if (typeof value !== "string") return Buffer.from(await value.arrayBuffer());
  }
  return Buffer.alloc(0);
}

/**
 * The POST to an upload_url. Slack answers "OK - <bytes>". A body whose size differs from the `length` given
 * to files.getUploadURLExternal is refused here with HTTP 400 (the stand-in's choice: Slack's behaviour for
 * a short upload is not documented).
 */
export async function receiveUpload(
  ws: Workspace,
  fileId: string,
  req: IncomingMessage,
  raw: Buffer,
): Promise<{ status: number; body: string; file?: PendingFile }> {
  const file = ws.files.get(fileId);
  if (!file) return { status: 404, body: "invalid_upload_url" };
  const bytes = await uploadedBytes(req, raw);
  if (bytes.length !== file.length) {
    return { status: 400, body: `length mismatch: declared ${file.length}, received ${bytes.length}` };
  }
  file.content = bytes;
  return { status: 200, body: `OK - ${bytes.length}`, file };
}

interface FileRef {
  id: string;
  title?: string;
}

function readFileRefs(value: unknown): FileRef[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  const refs = value.filter(
    (f): f is FileRef => typeof f === "object" && f !== null && typeof f.id === "string",
  );
  return refs.length === value.length ? refs : undefined;
}

function completeUpload(ctx: CallContext): ApiResult {
  const refs = readFileRefs(ctx.params.files);
  if (!refs) return fail("invalid_arguments", ["missing required field: files"]);
  const stored: StoredFile[] = [];
  for (const ref of refs) {
    const pending = ctx.ws.files.get(ref.id);
    if (!pending?.content) return fail("file_not_found");
    const title = ref.title ?? pending.filename;
    stored.push({
      id: pending.id,
      name: pending.filename,
      title,
      size: pending.length,
      content: pending.content,
    });
  }
  const shared = share(ctx, stored);
  if (shared) return shared;
  return { ok: true, files: stored.map(({ content: _, ...f }) => f) };
}

/** Posts the file message when a channel is given; an error result, or undefined when all went well. */
function share(ctx: CallContext, files: StoredFile[]): ApiResult | undefined {
  if (str(ctx.params, "channel_id") === undefined) return undefined;
  const target = memberChannel(ctx, { key: "channel_id" });
  if (!target.channel) return target.error;
  const thread = resolveThread(ctx, target.channel);
  if ("error" in thread) return thread.error;
  ctx.ws.post(target.channel.id, { text: str(ctx.params, "initial_comment") ?? "", ...thread, files });
  return undefined;
}

const filesWrite = () => "files:write";

export const FILE_METHODS = {
  "files.getUploadURLExternal": { token: "bot", scope: filesWrite, run: getUploadUrl },
  "files.completeUploadExternal": { token: "bot", scope: filesWrite, run: completeUpload },
} satisfies Record<string, MethodSpec>;
