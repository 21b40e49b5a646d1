import { expect } from "vitest";
import { UserError } from "../../src/errors.js";

/**
 * The message of the UserError that `run` throws; fails the test when it throws anything else, and throws
 * "expected the <what> to be rejected" when it returns.
 */
export function userErrorOf(run: () => unknown, what: string): string {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return (e as Error).message;
  }
  throw new Error(`expected the ${what} to be rejected`);
}
