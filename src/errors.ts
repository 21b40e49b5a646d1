/** Errors a person can fix. The CLI prints `message` as one sentence and `hint` after it, never a stack. */
export type ErrorCode =
  | "usage"
  | "bad_input"
  | "bundle_invalid"
  | "playbook_invalid"
  | "config_invalid"
  | "file_not_found"
  | "not_found";

export class UserError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  constructor(code: ErrorCode, message: string, hint?: string) {
    super(message);
    this.name = "UserError";
    this.code = code;
    this.hint = hint;
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}
