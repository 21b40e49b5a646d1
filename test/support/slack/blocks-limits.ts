/**
 * Block Kit limits as Slack enforces them on chat.postMessage and chat.update.
 *
 * Error strings copy Slack's shape: `<problem> [json-pointer:/blocks/0/text/text]`, e.g. a real answer for a
 * section over 3000 characters is `{"ok":false,"error":"invalid_blocks","errors":["must be less than 3001
 * characters [json-pointer:/blocks/0/text/text]"],"response_metadata":{"messages":["[ERROR] must be less
 * than 3001 characters [json-pointer:/blocks/0/text/text]"]}}`.
 *
 * The cumulative limit behind `msg_blocks_too_long` is not documented. Slack staff describe it as "12,000
 * text characters with a buffer for block containers" (slackapi/bolt-js#2509); one report saw a mix of
 * rich_text, section, header and divider blocks rejected at 11,341 characters of text (bolt-js#2867). The
 * stand-in counts every `text` string in the blocks against MESSAGE_TEXT_LIMIT; stay well below it.
 */

export const BLOCK_LIMITS = {
  blocksPerMessage: 50,
  sectionText: 3000,
  sectionFields: 10,
  sectionFieldText: 2000,
  headerText: 150,
  contextElements: 10,
  actionsElements: 25,
  id: 255,
  buttonText: 75,
  buttonValue: 2000,
  url: 3000,
  altText: 2000,
  markdownText: 12_000,
  /** Sum of every `text` string in a message's blocks. */
  messageText: 12_000,
} as const;

export type BlocksVerdict =
  | { ok: true }
  | {
      ok: false;
      error: "invalid_blocks" | "invalid_blocks_format" | "msg_blocks_too_long";
      errors: string[];
    };

const KNOWN_BLOCK_TYPES = new Set([
  "section",
  "divider",
  "header",
  "context",
  "actions",
  "image",
  "rich_text",
  "markdown",
  "input",
  "file",
  "video",
  "table",
  "context_actions",
]);

const ELEMENT_TYPES = new Set([
  "button",
  "checkboxes",
  "datepicker",
  "datetimepicker",
  "email_text_input",
  "image",
  "multi_static_select",
  "multi_users_select",
  "multi_conversations_select",
  "multi_channels_select",
  "multi_external_select",
  "number_input",
  "overflow",
  "plain_text_input",
  "radio_buttons",
  "rich_text_input",
  "static_select",
  "external_select",
  "users_select",
  "conversations_select",
  "channels_select",
  "timepicker",
  "url_text_input",
  "workflow_button",
]);

type Problems = string[];
type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const at = (problems: Problems, problem: string, pointer: string): void => {
  problems.push(`${problem} [json-pointer:${pointer}]`);
};

function checkLength(problems: Problems, value: unknown, max: number, pointer: string): void {
  if (typeof value === "string" && value.length > max)
    at(problems, `must be less than ${max + 1} characters`, pointer);
}

function checkTextObject(
  problems: Problems,
  value: unknown,
  pointer: string,
  max: number,
  only?: "plain_text",
): void {
  if (!isObj(value)) {
    at(problems, "expected object", pointer);
    return;
  }
  const allowed = only ? [only] : ["plain_text", "mrkdwn"];
  if (typeof value.type !== "string" || !allowed.includes(value.type)) {
    at(problems, `must be one of ${allowed.join(", ")}`, `${pointer}/type`);
    return;
  }
  if (typeof value.text !== "string" || value.text.length === 0) {
    at(problems, "must be more than 0 characters", `${pointer}/text`);
    return;
  }
  checkLength(problems, value.text, max, `${pointer}/text`);
}

function checkElement(problems: Problems, el: unknown, pointer: string): void {
  if (!isObj(el) || typeof el.type !== "string" || !ELEMENT_TYPES.has(el.type)) {
    const type = isObj(el) ? String(el.type) : typeof el;
    at(problems, `unsupported type: ${type}`, `${pointer}/type`);
    return;
  }
  checkLength(problems, el.action_id, BLOCK_LIMITS.id, `${pointer}/action_id`);
  if (el.type !== "button") return;
  checkTextObject(problems, el.text, `${pointer}/text`, BLOCK_LIMITS.buttonText, "plain_text");
  checkLength(problems, el.value, BLOCK_LIMITS.buttonValue, `${pointer}/value`);
  checkLength(problems, el.url, BLOCK_LIMITS.url, `${pointer}/url`);
  if (el.style !== undefined && el.style !== "primary" && el.style !== "danger") {
    at(problems, "must be one of primary, danger", `${pointer}/style`);
  }
}

type ElementCheck = (problems: Problems, el: unknown, pointer: string) => void;

function checkElements(
  problems: Problems,
  list: unknown,
  max: number,
  pointer: string,
  each: ElementCheck,
): void {
  if (!Array.isArray(list) || list.length === 0) {
    at(problems, "must provide at least 1 item", pointer);
    return;
  }
  if (list.length > max) at(problems, `no more than ${max} items allowed`, pointer);
  list.forEach((el, i) => {
    each(problems, el, `${pointer}/${i}`);
  });
}

type Check = (problems: Problems, block: Obj, pointer: string) => void;

const contextElement = (problems: Problems, el: unknown, pointer: string): void => {
  if (isObj(el) && el.type === "image") checkImage(problems, el, pointer);
  else checkTextObject(problems, el, pointer, BLOCK_LIMITS.sectionText);
};

function checkImage(problems: Problems, block: Obj, pointer: string): void {
  if (typeof block.image_url !== "string" && !isObj(block.slack_file)) {
    at(problems, "must provide image_url or slack_file", pointer);
  }
  if (typeof block.alt_text !== "string" || block.alt_text.length === 0) {
    at(problems, "must be more than 0 characters", `${pointer}/alt_text`);
    return;
  }
  checkLength(problems, block.alt_text, BLOCK_LIMITS.altText, `${pointer}/alt_text`);
}

const BLOCK_CHECKS: Partial<Record<string, Check>> = {
  section(problems, block, pointer) {
    if (block.text === undefined && block.fields === undefined) {
      at(problems, "must provide text or fields", pointer);
      return;
    }
    if (block.text !== undefined) {
      checkTextObject(problems, block.text, `${pointer}/text`, BLOCK_LIMITS.sectionText);
    }
    if (block.fields !== undefined) {
      checkElements(problems, block.fields, BLOCK_LIMITS.sectionFields, `${pointer}/fields`, (p, f, ptr) =>
        checkTextObject(p, f, ptr, BLOCK_LIMITS.sectionFieldText),
      );
    }
    if (block.accessory !== undefined) checkElement(problems, block.accessory, `${pointer}/accessory`);
  },
  header(problems, block, pointer) {
    checkTextObject(problems, block.text, `${pointer}/text`, BLOCK_LIMITS.headerText, "plain_text");
  },
  context(problems, block, pointer) {
    checkElements(
      problems,
      block.elements,
      BLOCK_LIMITS.contextElements,
      `${pointer}/elements`,
      contextElement,
    );
  },
  actions(problems, block, pointer) {
    checkElements(
      problems,
      block.elements,
      BLOCK_LIMITS.actionsElements,
      `${pointer}/elements`,
      checkElement,
    );
  },
  image: checkImage,
  markdown(problems, block, pointer) {
    if (typeof block.text !== "string" || block.text.length === 0) {
      at(problems, "must be more than 0 characters", `${pointer}/text`);
      return;
    }
    checkLength(problems, block.text, BLOCK_LIMITS.markdownText, `${pointer}/text`);
  },
  rich_text(problems, block, pointer) {
    if (!Array.isArray(block.elements)) at(problems, "must provide an array", `${pointer}/elements`);
  },
};

function checkBlock(problems: Problems, block: unknown, pointer: string, blockIds: Set<string>): void {
  if (!isObj(block) || typeof block.type !== "string" || !KNOWN_BLOCK_TYPES.has(block.type)) {
    const type = isObj(block) ? String(block.type) : typeof block;
    at(problems, `unsupported type: ${type}`, `${pointer}/type`);
    return;
  }
  if (block.block_id !== undefined) {
    checkLength(problems, block.block_id, BLOCK_LIMITS.id, `${pointer}/block_id`);
    if (typeof block.block_id === "string" && blockIds.has(block.block_id)) {
      at(problems, `duplicate block_id: ${block.block_id}`, `${pointer}/block_id`);
    }
    if (typeof block.block_id === "string") blockIds.add(block.block_id);
  }
  BLOCK_CHECKS[block.type]?.(problems, block, pointer);
}

/** Sum of every string stored under a `text` key anywhere in the value. */
export function blocksTextLength(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + blocksTextLength(v), 0);
  if (!isObj(value)) return 0;
  let n = 0;
  for (const [key, v] of Object.entries(value)) {
    n += key === "text" && typeof v === "string" ? v.length : blocksTextLength(v);
  }
  return n;
}

export function validateBlocks(blocks: unknown): BlocksVerdict {
  if (!Array.isArray(blocks)) {
    return {
      ok: false,
      error: "invalid_blocks_format",
      errors: ["expected an array [json-pointer:/blocks]"],
    };
  }
  const problems: Problems = [];
  if (blocks.length > BLOCK_LIMITS.blocksPerMessage) {
    at(problems, `no more than ${BLOCK_LIMITS.blocksPerMessage} items allowed`, "/blocks");
  }
  const blockIds = new Set<string>();
  blocks.forEach((block, i) => {
    checkBlock(problems, block, `/blocks/${i}`, blockIds);
  });
  if (problems.length > 0) return { ok: false, error: "invalid_blocks", errors: problems };
  if (blocksTextLength(blocks) > BLOCK_LIMITS.messageText) {
    return { ok: false, error: "msg_blocks_too_long", errors: [] };
  }
  return { ok: true };
}
