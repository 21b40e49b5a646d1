/** Collects stdout and stderr under one byte cap shared by both streams. */
export class OutputCap {
  private readonly out: Buffer[] = [];
  private readonly err: Buffer[] = [];
  private bytes = 0;
  private cut: "stdout" | "stderr" | undefined;

  constructor(private readonly maxBytes: number) {}

  /** Keeps what fits; returns false once the cap has cut something off. */
  add(stream: "stdout" | "stderr", chunk: Buffer): boolean {
    if (this.cut) return false;
    const room = this.maxBytes - this.bytes;
    const kept = chunk.length > room ? chunk.subarray(0, Math.max(room, 0)) : chunk;
    if (kept.length > 0) (stream === "stdout" ? this.out : this.err).push(kept);
    this.bytes += kept.length;
    if (kept.length < chunk.length) this.cut = stream;
    return this.cut === undefined;
  }

  get truncated(): boolean {
    return this.cut !== undefined;
  }

  get byteCount(): number {
    return this.bytes;
  }

  /** Decoded text; a multi-byte character split by the cap is dropped, not shown as U+FFFD. */
  text(): { stdout: string; stderr: string } {
    return {
      stdout: decode(this.out, this.cut === "stdout"),
      stderr: decode(this.err, this.cut === "stderr"),
    };
  }
}

function decode(chunks: Buffer[], cut: boolean): string {
  return new TextDecoder("utf-8").decode(Buffer.concat(chunks), { stream: cut });
}
