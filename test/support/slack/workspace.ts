/**
 * The stand-in's workspace: channels, people, messages and uploaded files, and how a stored message looks when
 * a Web API method returns it.
 */

export const IDENTITY = {
  teamId: "T0WHY502",
  team: "why502 stand-in",
  url: "https://why502-standin.slack.com/",
  botUserId: "U0WHY502",
  botUserName: "why502",
  botId: "B0WHY502",
  appId: "A0WHY502",
} as const;

export interface ChannelSeed {
  id: string;
  name: string;
  /** User ids of the people in the channel. */
  members?: string[];
  botIsMember?: boolean;
  isPrivate?: boolean;
}

export interface MessageMetadata {
  event_type: string;
  event_payload: Record<string, unknown>;
}

export interface StoredFile {
  id: string;
  name: string;
  title: string;
  size: number;
  content: Buffer;
}

/** One chat.update: the text and blocks the message had after it. */
export interface MessageEdit {
  at: number;
  /** The `edited.ts` Slack reports for this edit. */
  ts: string;
  text: string;
  blocks?: unknown[];
}

export interface StoredMessage {
  channel: string;
  ts: string;
  text: string;
  blocks?: unknown[];
  metadata?: MessageMetadata;
  user: string;
  /** Set on messages the bot posted. */
  bot_id?: string;
  /** A reply's parent; a parent with replies carries its own ts here, like Slack. */
  thread_ts?: string;
  reply_broadcast: boolean;
  reply_count: number;
  edits: MessageEdit[];
  /** Reaction names the bot added. */
  reactions: string[];
  files: StoredFile[];
}

export interface StoredEphemeral {
  channel: string;
  user: string;
  message_ts: string;
  text: string;
  blocks?: unknown[];
  thread_ts?: string;
}

export interface PendingFile {
  id: string;
  filename: string;
  length: number;
  content?: Buffer;
}

export interface Channel extends Required<ChannelSeed> {}

export const DEFAULT_CHANNELS: ChannelSeed[] = [
  { id: "C0CHECKOUT", name: "checkout-oncall", members: ["U0ANA", "U0BOB"], botIsMember: true },
];

export type NewMessage = Pick<StoredMessage, "text" | "blocks" | "metadata" | "thread_ts" | "files"> & {
  user?: string;
  reply_broadcast?: boolean;
};

export interface WorkspaceSeed {
  channels: ChannelSeed[];
  usergroups: Record<string, string[]>;
  emoji: readonly string[];
  now: () => number;
}

export class Workspace {
  readonly channels = new Map<string, Channel>();
  readonly usergroups: Map<string, string[]>;
  readonly emoji: ReadonlySet<string>;
  readonly files = new Map<string, PendingFile>();
  readonly ephemerals: StoredEphemeral[] = [];
  readonly now: () => number;
  private readonly posted = new Map<string, StoredMessage[]>();
  private lastMicros = 0;
  private fileCount = 0;

  constructor(seed: WorkspaceSeed) {
    for (const c of seed.channels) {
      this.channels.set(c.id, {
        id: c.id,
        name: c.name,
        members: c.members ?? [],
        botIsMember: c.botIsMember ?? true,
        isPrivate: c.isPrivate ?? false,
      });
      this.posted.set(c.id, []);
    }
    this.usergroups = new Map(Object.entries(seed.usergroups));
    this.emoji = new Set(seed.emoji);
    this.now = seed.now;
  }

  /** A Slack timestamp from the clock, strictly increasing: "1764000000.000100". */
  nextTs(): string {
    this.lastMicros = Math.max(Math.floor(this.now() * 1000), this.lastMicros + 1);
    const seconds = Math.floor(this.lastMicros / 1_000_000);
    return `${seconds}.${String(this.lastMicros % 1_000_000).padStart(6, "0")}`;
  }

  nextFileId(): string {
    this.fileCount += 1;
    return `F0STANDIN${String(this.fileCount).padStart(4, "0")}`;
  }

  all(channel: string): StoredMessage[] {
    return this.posted.get(channel) ?? [];
  }

  find(channel: string, ts: string): StoredMessage | undefined {
    return this.all(channel).find((m) => m.ts === ts);
  }

  /** What the channel shows: parents, plain messages and broadcast replies, oldest first. */
  topLevel(channel: string): StoredMessage[] {
    return this.all(channel).filter(
      (m) => m.thread_ts === undefined || m.thread_ts === m.ts || m.reply_broadcast,
    );
  }

  /** Replies under threadTs, oldest first; the parent is not included. */
  replies(channel: string, threadTs: string): StoredMessage[] {
    return this.all(channel).filter((m) => m.thread_ts === threadTs && m.ts !== threadTs);
  }

  post(channel: string, m: NewMessage): StoredMessage {
    const byBot = m.user === undefined;
    const message: StoredMessage = {
      channel,
      ts: this.nextTs(),
      text: m.text,
      ...(m.blocks !== undefined && { blocks: m.blocks }),
      ...(m.metadata !== undefined && { metadata: m.metadata }),
      user: m.user ?? IDENTITY.botUserId,
      ...(byBot && { bot_id: IDENTITY.botId }),
      ...(m.thread_ts !== undefined && { thread_ts: m.thread_ts }),
      reply_broadcast: m.reply_broadcast === true && m.thread_ts !== undefined,
      reply_count: 0,
      edits: [],
      reactions: [],
      files: m.files,
    };
    this.all(channel).push(message);
    const parent = m.thread_ts === undefined ? undefined : this.find(channel, m.thread_ts);
    if (parent) {
      parent.thread_ts = parent.ts;
      parent.reply_count += 1;
    }
    return message;
  }
}

const toApiFile = (f: StoredFile) => ({
  id: f.id,
  name: f.name,
  title: f.title,
  size: f.size,
  mode: "hosted",
  user: IDENTITY.botUserId,
});

/** A stored message as conversations.history / replies / chat.postMessage return it. */
export function toApiMessage(
  ws: Workspace,
  m: StoredMessage,
  includeMetadata: boolean,
): Record<string, unknown> {
  const isReply = m.thread_ts !== undefined && m.thread_ts !== m.ts;
  const replies = m.reply_count > 0 ? ws.replies(m.channel, m.ts) : [];
  const replyUsers = [...new Set(replies.map((r) => r.user))];
  const lastEdit = m.edits.at(-1);
  return {
    type: "message",
    ...(m.reply_broadcast && { subtype: "thread_broadcast" }),
    user: m.user,
    ...(m.bot_id !== undefined && { bot_id: m.bot_id, app_id: IDENTITY.appId }),
    text: m.text,
    ts: m.ts,
    team: IDENTITY.teamId,
    ...(m.blocks !== undefined && { blocks: m.blocks }),
    ...(m.thread_ts !== undefined && { thread_ts: m.thread_ts }),
    ...(isReply && { parent_user_id: ws.find(m.channel, m.thread_ts ?? "")?.user }),
    ...(replies.length > 0 && {
      reply_count: m.reply_count,
      reply_users_count: replyUsers.length,
      reply_users: replyUsers,
      latest_reply: replies.at(-1)?.ts,
    }),
    ...(lastEdit && { edited: { user: m.user, ts: lastEdit.ts } }),
    ...(m.reactions.length > 0 && {
      reactions: m.reactions.map((name) => ({ name, users: [IDENTITY.botUserId], count: 1 })),
    }),
    ...(m.files.length > 0 && { files: m.files.map(toApiFile), upload: true }),
    ...(includeMetadata && m.metadata !== undefined && { metadata: m.metadata }),
  };
}
