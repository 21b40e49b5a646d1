import { z } from "zod";

/** A regular expression source that compiles (JavaScript syntax), one line, of bounded length. */
const RedactPattern = z
  .string()
  .min(1, "expected a regular expression, not an empty string")
  .max(512, "expected a regular expression of at most 512 characters")
  .regex(/^[^\n\r\0]+$/, "expected a regular expression on one line")
  .refine(
    (s) => {
      try {
        new RegExp(s, "g");
        return true;
      } catch {
        return false;
      }
    },
    { message: "expected a regular expression that compiles (JavaScript syntax)" },
  );

/** More values to mask in everything that leaves the bot, beside the built-in secret patterns. */
export const RedactSettings = z
  .object({
    /** Regular expression sources; every match is masked. */
    patterns: z.array(RedactPattern).max(64, "expected at most 64 patterns").default([]),
  })
  .strict();
export type RedactSettings = z.infer<typeof RedactSettings>;
