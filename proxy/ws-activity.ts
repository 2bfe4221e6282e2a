/** @module Count WebSocket data frames in a byte stream without buffering it: reads only frame headers (a few
 *  bytes per frame, masked or not, split across chunks anywhere) and skips payloads. Opcodes 0, 1, 2 are data;
 *  ping, pong and close are not (browsers and jupyter_server ping every open socket, so counting them would
 *  keep every open tab's server alive forever). */
export class FrameScanner {
  #skip = 0;                        // payload bytes still to skip
  #head: number[] | null = null;    // header bytes of a header split across chunks (rare: allocated then only)

  /** Scans a chunk; returns whether it held (the start of) at least one data frame. */
  scan(chunk: Buffer): boolean {
    let data = false;
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.#skip > 0) {
        const take = Math.min(this.#skip, n - i);
        this.#skip -= take;
        i += take;
        continue;
      }
      if (this.#head === null) {
        // Fast path: the whole header is in this chunk.
        if (n - i >= 2) {
          const len7 = chunk[i + 1] & 0x7f;
          const size = headerSize(chunk[i + 1]);
          if (n - i >= size) {
            if ((chunk[i] & 0x0f) <= 2) data = true;
            this.#skip = len7 < 126 ? len7 : len7 === 126 ? chunk.readUInt16BE(i + 2) : Number(chunk.readBigUInt64BE(i + 2));
            i += size;
            continue;
          }
        }
        this.#head = [];
      }
      this.#head.push(chunk[i++]);
      if (this.#head.length < 2 || this.#head.length < headerSize(this.#head[1])) continue;
      const h = Buffer.from(this.#head);
      this.#head = null;
      if ((h[0] & 0x0f) <= 2) data = true;
      const len7 = h[1] & 0x7f;
      this.#skip = len7 < 126 ? len7 : len7 === 126 ? h.readUInt16BE(2) : Number(h.readBigUInt64BE(2));
    }
    return data;
  }
}

const headerSize = (b1: number) => {
  const len7 = b1 & 0x7f;
  return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
};
