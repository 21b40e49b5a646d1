import { resolveWithin } from "../collect/ssh/resolve.js";

/**
 * DNS lookup of a backend's name, given up after `ms` (a dead resolver must not hold the diagnosis). It shares
 * the SSH connection's lookup of the same name, and the bound on lookups at once (collect/ssh/resolve.ts).
 */
export function lookupWithin(ms: number) {
  return async (name: string): Promise<string[]> => {
    const found = await resolveWithin(name, ms);
    return found === "timeout" ? [] : found;
  };
}
