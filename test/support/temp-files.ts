import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

/** A temporary directory and a writer of files in it. */
export interface TempFiles {
  dir: string;
  /** Writes `text` to `name` in the directory; returns its path. */
  file(name: string, text: string): string;
}

/**
 * A new directory in the system's temporary one, named from `prefix`, removed with all it holds after the
 * tests of the file (or of the describe block it is called in).
 */
export function tempFiles(prefix: string): TempFiles {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    file(name, text) {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    },
  };
}
