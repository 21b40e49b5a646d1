import type { Bundle } from "../bundle/schema.js";
import { maskSecrets, type RedactPatterns } from "./mask.js";

/**
 * The bundle with secrets masked in every piece of host output and failure text, before it leaves the bot
 * (the store, the "Full evidence" upload, `--save`). `extra`: the config's `redact.patterns`.
 */
export function maskBundle(bundle: Bundle, extra: RedactPatterns = []): { bundle: Bundle; masked: number } {
  let masked = 0;
  const mask = (s: string): string => {
    const m = maskSecrets(s, extra);
    masked += m.count;
    return m.text;
  };
  const hosts = bundle.hosts.map((h) => ({
    ...h,
    ...(h.failure ? { failure: { ...h.failure, message: mask(h.failure.message) } } : {}),
    commands: h.commands.map((c) => ({
      ...c,
      stdout: mask(c.stdout),
      stderr: mask(c.stderr),
      ...(c.failure ? { failure: { ...c.failure, message: mask(c.failure.message) } } : {}),
    })),
  }));
  return { bundle: { ...bundle, hosts }, masked };
}
