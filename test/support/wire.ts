/** Bytes on the client wire, written by hand for tests that speak the protocol raw. */
import { JuteWriter } from '../../src/jute/index.js';

/** One frame: the 4-byte length, then what `body` writes. */
export function frame(body: (w: JuteWriter) => void): Buffer {
  const w = new JuteWriter();
  const start = w.startFrame();
  body(w);
  w.finishFrame(start);
  return Buffer.from(w.bytes());
}
