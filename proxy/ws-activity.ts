/** @module Count WebSocket data frames in a byte stream without buffering it: reads only frame headers (a few
 *  bytes per frame, masked or not, split across chunks anywhere) and skips payloads. Opcodes 0, 1, 2 are data;
 *  ping, pong and close are not (browsers and jupyter_server ping every open socket, so counting them would
 *  keep every open tab's server alive forever). */
export class FrameScanner {
  #skip = 0;                      // payload bytes still to skip
  readonly #head = Buffer.alloc(14);
  #headLen = 0;                   // header bytes gathered so far

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
      this.#head[this.#headLen++] = chunk[i++];
      if (this.#headLen < 2) continue;
      const len7 = this.#head[1] & 0x7f;
      const need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (this.#head[1] & 0x80 ? 4 : 0);
      if (this.#headLen < need) continue;
      const opcode = this.#head[0] & 0x0f;
      if (opcode <= 2) data = true;
      let payload = len7;
      if (len7 === 126) payload = this.#head.readUInt16BE(2);
      else if (len7 === 127) payload = Number(this.#head.readBigUInt64BE(2));
      this.#skip = payload;
      this.#headLen = 0;
    }
    return data;
  }
}
