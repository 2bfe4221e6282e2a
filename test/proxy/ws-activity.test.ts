/** The frame scanner counts data frames only, whatever way the bytes are split. */
import t from 'tap';
import { FrameScanner } from '../../proxy/ws-activity.ts';

function frame(opcode: number, payload: number, masked: boolean): Buffer {
  const len = payload < 126 ? [payload] : payload < 65536 ? [126, payload >> 8, payload & 255] : [127, 0, 0, 0, 0, (payload >>> 24) & 255, (payload >> 16) & 255, (payload >> 8) & 255, payload & 255];
  const head = Buffer.from([0x80 | opcode, (masked ? 0x80 : 0) | len[0], ...len.slice(1)]);
  return Buffer.concat([head, masked ? Buffer.from([1, 2, 3, 4]) : Buffer.alloc(0), Buffer.alloc(payload, 0x81)]);
}

t.test('data frames count; control frames do not', async (t) => {
  t.equal(new FrameScanner().scan(frame(1, 5, true)), true, 'text');
  t.equal(new FrameScanner().scan(frame(2, 300, false)), true, 'binary, 16-bit length');
  t.equal(new FrameScanner().scan(frame(0, 3, false)), true, 'continuation');
  t.equal(new FrameScanner().scan(frame(9, 4, true)), false, 'ping');
  t.equal(new FrameScanner().scan(frame(10, 4, false)), false, 'pong');
  t.equal(new FrameScanner().scan(frame(8, 2, true)), false, 'close');
});

t.test('split anywhere, including inside headers and 64-bit lengths', async (t) => {
  const stream = Buffer.concat([frame(9, 10, true), frame(10, 0, false), frame(2, 70_000, true), frame(9, 1, false), frame(1, 200, false)]);
  for (const size of [1, 2, 3, 7, 13, 64, 1000, stream.length]) {
    const s = new FrameScanner();
    let hits = 0;
    for (let i = 0; i < stream.length; i += size) if (s.scan(stream.subarray(i, i + size))) hits++;
    t.ok(hits >= (size >= stream.length ? 1 : 2), `chunk size ${size}: data seen (${hits} chunks)`);
    const pingsOnly = new FrameScanner();
    const pings = Buffer.concat([frame(9, 125, true), frame(10, 125, false), frame(9, 0, true)]);
    let falsePositives = 0;
    for (let i = 0; i < pings.length; i += size) if (pingsOnly.scan(pings.subarray(i, i + size))) falsePositives++;
    t.equal(falsePositives, 0, `chunk size ${size}: pings never count`);
  }
});
