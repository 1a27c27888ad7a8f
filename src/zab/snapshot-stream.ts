import { JuteError } from '../jute/index.js';
import { WIRE_SNAPSHOT_SIGNATURE } from './snapshot-file.js';

/**
 * Finds where a snapshot streamed after SNAP ends. The stream has no length: it is sessions, the
 * ACL cache, nodes up to the path "/", then the signature string, straight on the quorum socket.
 * This scanner takes the bytes as they arrive and walks the records' lengths without decoding
 * them, resuming where the last chunk stopped, so a large snapshot costs one pass; `push` returns
 * the whole stream (and any bytes after it) once the signature has arrived.
 */
export class WireSnapshotScanner {
  private buf: Buffer;
  private length = 0;
  /** Where scanning resumes: the start of the next record not yet seen whole. */
  private offset = 0;
  private step: 'sessions' | 'session' | 'acls' | 'acl' | 'node' | 'signature' = 'sessions';
  private remaining = 0;

  constructor(private readonly maxBytes: number, initialSize = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  /** Adds bytes; returns the stream and the bytes after it once complete, else undefined. */
  push(chunk: Buffer): { snapshot: Buffer; rest: Buffer } | undefined {
    this.append(chunk);
    const end = this.scan();
    if (end === undefined) return undefined;
    return { snapshot: this.buf.subarray(0, end), rest: Buffer.from(this.buf.subarray(end, this.length)) };
  }

  private append(chunk: Buffer): void {
    if (this.length + chunk.length > this.maxBytes) throw new JuteError(`snapshot stream over ${this.maxBytes} bytes`);
    if (this.length + chunk.length > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + chunk.length));
      this.buf.copy(bigger, 0, 0, this.length);
      this.buf = bigger;
    }
    chunk.copy(this.buf, this.length);
    this.length += chunk.length;
  }

  /** Advances over whole records; the offset just past the signature, or undefined if not there yet. */
  private scan(): number | undefined {
    for (;;) {
      const at = this.offset;
      const avail = this.length - at;
      switch (this.step) {
        case 'sessions':
          if (avail < 4) return undefined;
          this.remaining = this.count(at);
          this.offset += 4;
          this.step = 'session';
          break;
        case 'session':
          if (this.remaining === 0) {
            this.step = 'acls';
            break;
          }
          if (avail < 12) return undefined;
          this.offset += 12;
          this.remaining--;
          break;
        case 'acls':
          if (avail < 4) return undefined;
          this.remaining = this.count(at);
          this.offset += 4;
          this.step = 'acl';
          break;
        case 'acl': {
          if (this.remaining === 0) {
            this.step = 'node';
            break;
          }
          // long ref, int count, then per ACL: int perms, ustring scheme, ustring id.
          if (avail < 12) return undefined;
          let p = at + 8;
          let n = this.count(p);
          p += 4;
          for (; n > 0; n--) {
            p += 4;
            for (let s = 0; s < 2; s++) {
              const len = this.stringLength(p);
              if (len === undefined) return undefined;
              p += 4 + len;
            }
          }
          if (p > this.length) return undefined;
          this.offset = p;
          this.remaining--;
          break;
        }
        case 'node': {
          const pathLen = this.stringLength(at);
          if (pathLen === undefined) return undefined;
          let p = at + 4 + pathLen;
          if (pathLen === 1 && this.buf[at + 4] === 0x2f) {
            // "/" ends the nodes.
            if (p > this.length) return undefined;
            this.offset = p;
            this.step = 'signature';
            break;
          }
          if (p + 4 > this.length) return undefined;
          const dataLen = this.buf.readInt32BE(p);
          if (dataLen < -1) throw new JuteError(`negative buffer length ${dataLen} in a snapshot stream`);
          p += 4 + Math.max(dataLen, 0) + 8 + 60; // data, ACL ref, StatPersisted (60 bytes)
          if (p > this.length) return undefined;
          this.offset = p;
          break;
        }
        case 'signature': {
          const len = this.stringLength(at);
          if (len === undefined || at + 4 + len > this.length) return undefined;
          const signature = this.buf.toString('utf8', at + 4, at + 4 + len);
          if (signature !== WIRE_SNAPSHOT_SIGNATURE) throw new JuteError(`snapshot stream ends with ${JSON.stringify(signature)}`);
          return at + 4 + len;
        }
      }
    }
  }

  private count(at: number): number {
    const n = this.buf.readInt32BE(at);
    if (n < 0) throw new JuteError(`negative count ${n} in a snapshot stream`);
    return n;
  }

  /** A ustring's byte length at `at` (-1, null, counts as 0), or undefined if its length is not in yet. */
  private stringLength(at: number): number | undefined {
    if (at + 4 > this.length) return undefined;
    const len = this.buf.readInt32BE(at);
    if (len < -1) throw new JuteError(`negative string length ${len} in a snapshot stream`);
    return Math.max(len, 0);
  }
}
