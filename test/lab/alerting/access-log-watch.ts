import { type FSWatcher, watch } from "node:fs";
import { open } from "node:fs/promises";

export interface LoggedLine {
  /** Date.now() when the line was read, moments after nginx wrote it (inotify) */
  at: number;
  status: number;
  line: string;
}

export interface AccessLogWatch {
  lines: LoggedLine[];
  /** the first and last line with this status, if any */
  first(status: number): LoggedLine | undefined;
  last(status: number): LoggedLine | undefined;
  close(): void;
}

const STATUS = /^\S+ - \S+ \[[^\]]+\] "[^"]*" (\d{3}) /;

/**
 * Stamps each line appended to an access log with the time it was seen: nginx's $time_local has whole
 * seconds only. Reads on every inotify event from where the last read stopped; lines from before the
 * start are skipped.
 */
export async function watchAccessLog(path: string): Promise<AccessLogWatch> {
  const handle = await open(path, "r");
  let offset = (await handle.stat()).size;
  let rest = "";
  const lines: LoggedLine[] = [];
  let reading = false;
  let again = false;
  let closed = false;

  const read = async (): Promise<void> => {
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    try {
      do {
        again = false;
        const { size } = await handle.stat();
        if (size <= offset) continue;
        const buf = Buffer.alloc(size - offset);
        const { bytesRead } = await handle.read(buf, 0, buf.length, offset);
        offset += bytesRead;
        const at = Date.now();
        const parts = (rest + buf.subarray(0, bytesRead).toString("utf8")).split("\n");
        rest = parts.pop() ?? "";
        for (const line of parts) {
          const m = STATUS.exec(line);
          if (m) lines.push({ at, status: Number(m[1]), line });
        }
      } while (again && !closed);
    } finally {
      reading = false;
    }
  };

  const watcher: FSWatcher = watch(path, () => void read().catch(() => undefined));
  await read();
  return {
    lines,
    first: (status) => lines.find((l) => l.status === status),
    last: (status) => lines.findLast((l) => l.status === status),
    close: () => {
      closed = true;
      watcher.close();
      void handle.close().catch(() => undefined);
    },
  };
}
