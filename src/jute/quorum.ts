/**
 * The quorum (ZAB) port's messages, as Apache ZooKeeper 3.8 writes them: bare Jute QuorumPacket
 * records back to back, with no outer length (zookeeper.jute: QuorumPacket, LearnerInfo), and the
 * payloads carried in their `data` buffer (Leader.java, Learner.java, LearnerHandler.java).
 */
import { JuteError } from './errors.js';
import { JuteReader } from './reader.js';
import * as records from './records.js';
import { JuteWriter } from './writer.js';

/** QuorumPacket.type (Leader.java). */
export const PacketType = {
  REQUEST: 1,
  PROPOSAL: 2,
  ACK: 3,
  COMMIT: 4,
  PING: 5,
  REVALIDATE: 6,
  SYNC: 7,
  INFORM: 8,
  COMMITANDACTIVATE: 9,
  NEWLEADER: 10,
  FOLLOWERINFO: 11,
  UPTODATE: 12,
  DIFF: 13,
  TRUNC: 14,
  SNAP: 15,
  OBSERVERINFO: 16,
  LEADERINFO: 17,
  ACKEPOCH: 18,
  INFORMANDACTIVATE: 19,
} as const;

const TYPE_NAMES = new Map<number, string>(Object.entries(PacketType).map(([k, v]) => [v, k]));

export function packetTypeName(type: number): string {
  return TYPE_NAMES.get(type) ?? `type ${type}`;
}

/** The learner protocol version of ZAB 1.0, in LearnerInfo and LEADERINFO (0x10000). */
export const ZAB_PROTOCOL_VERSION = 0x10000;

export interface QuorumPacket {
  type: number;
  /** -1 where ZooKeeper sends no zxid (UPTODATE, REQUEST, REVALIDATE). */
  zxid: number;
  data: Buffer | null;
  /** Null is written as -1; a forwarded REQUEST must carry the client's ids (see forwardedRequest). */
  authinfo: records.Id[] | null;
}

export function writeQuorumPacket(w: JuteWriter, p: QuorumPacket): void {
  w.int(p.type);
  w.longNumber(p.zxid);
  w.buffer(p.data);
  if (p.authinfo === null) {
    w.int(-1);
  } else {
    w.int(p.authinfo.length);
    for (const id of p.authinfo) records.Id.write(w, id);
  }
}

export function encodeQuorumPacket(p: QuorumPacket): Buffer {
  const w = new JuteWriter(64 + (p.data?.length ?? 0));
  writeQuorumPacket(w, p);
  return Buffer.from(w.bytes());
}

const MAX_AUTH_IDS = 4096;

export function readQuorumPacket(r: JuteReader): QuorumPacket {
  const type = r.int();
  const zxid = r.longNumber();
  const data = r.buffer();
  const n = r.int();
  let authinfo: records.Id[] | null = null;
  if (n >= 0) {
    // A sanity bound, not a framing check: a packet still arriving may hold fewer bytes than its ids.
    if (n > MAX_AUTH_IDS) throw new JuteError(`authinfo of ${n} ids`);
    authinfo = [];
    for (let i = 0; i < n; i++) authinfo.push(records.Id.read(r));
  }
  return { type, zxid, data, authinfo };
}

/**
 * Splits a byte stream into QuorumPackets. The stream has no framing of its own, so a packet is
 * complete when it decodes; until then its bytes wait for more. A SNAP is followed by a raw
 * snapshot stream, which the caller takes with `takeRaw` before asking for the next packet.
 */
export class QuorumPacketStream {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly maxBuffer: number) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
  }

  get buffered(): number {
    return this.buf.length;
  }

  /** The next whole packet, or undefined if more bytes are needed. Throws JuteError on garbage. */
  next(): QuorumPacket | undefined {
    const r = new JuteReader(this.buf);
    if (r.remaining < 16) return undefined; // type, zxid and the data length
    r.int();
    r.longNumber();
    const dataLen = r.int();
    if (dataLen < -1 || dataLen > this.maxBuffer) throw new JuteError(`quorum packet data of ${dataLen} bytes (jute.maxbuffer ${this.maxBuffer})`);
    try {
      const whole = new JuteReader(this.buf);
      const p = readQuorumPacket(whole);
      this.consumeTo(whole.offset);
      return p;
    } catch (e) {
      if (e instanceof JuteError && /truncated/.test(e.message)) return undefined;
      throw e;
    }
  }

  /** Up to `n` raw bytes that follow the last packet (a SNAP's snapshot stream). */
  takeRaw(n: number): Buffer {
    const out = this.buf.subarray(0, Math.min(n, this.buf.length));
    this.consumeTo(out.length);
    return out;
  }

  private consumeTo(offset: number): void {
    this.buf = offset >= this.buf.length ? Buffer.alloc(0) : this.buf.subarray(offset);
  }
}

// ---- payloads ----

/** LearnerInfo, the data of FOLLOWERINFO and OBSERVERINFO. */
export interface LearnerInfo {
  serverId: bigint;
  protocolVersion: number;
  configVersion: bigint;
}

export function encodeLearnerInfo(info: LearnerInfo): Buffer {
  const w = new JuteWriter(20);
  w.long(info.serverId);
  w.int(info.protocolVersion);
  w.long(info.configVersion);
  return Buffer.from(w.bytes());
}

/** Read as the leader reads it: the version and config version are optional (older learners). */
export function decodeLearnerInfo(data: Buffer): LearnerInfo {
  const r = new JuteReader(data);
  const serverId = r.long();
  const protocolVersion = r.remaining >= 4 ? r.int() : 0;
  const configVersion = r.remaining >= 8 ? r.long() : 0n;
  return { serverId, protocolVersion, configVersion };
}

/** A 4-byte int payload: LEADERINFO's protocol version, ACKEPOCH's current epoch (-1: not an ack). */
export function encodeInt(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
}

export function decodeInt(data: Buffer | null): number {
  if (!data || data.length < 4) throw new JuteError(`expected a 4-byte int, got ${data?.length ?? 'null'}`);
  return data.readInt32BE(0);
}

/** A REQUEST forwarded by a learner: the client's session, cxid, op type and raw request record. */
export interface ForwardedRequest {
  sessionId: bigint;
  cxid: number;
  type: number;
  request: Buffer;
}

export function encodeForwardedRequest(f: ForwardedRequest): Buffer {
  const w = new JuteWriter(16 + f.request.length);
  w.long(f.sessionId);
  w.int(f.cxid);
  w.int(f.type);
  w.raw(f.request);
  return Buffer.from(w.bytes());
}

export function decodeForwardedRequest(data: Buffer): ForwardedRequest {
  const r = new JuteReader(data);
  const sessionId = r.long();
  const cxid = r.int();
  const type = r.int();
  return { sessionId, cxid, type, request: data.subarray(r.offset) };
}

/** A learner's PING reply: the sessions its clients touched since the last one, with their timeouts. */
export function encodeSessionTouches(touches: Iterable<[bigint, number]>): Buffer {
  const w = new JuteWriter(64);
  for (const [id, timeout] of touches) {
    w.long(id);
    w.int(timeout);
  }
  return Buffer.from(w.bytes());
}

export function decodeSessionTouches(data: Buffer | null): [bigint, number][] {
  const out: [bigint, number][] = [];
  if (!data) return out;
  const r = new JuteReader(data);
  while (r.remaining >= 12) out.push([r.long(), r.int()]);
  return out;
}

/** REVALIDATE from a learner: (sessionId, timeout); from the leader: (sessionId, valid). */
export function encodeRevalidateRequest(sessionId: bigint, timeout: number): Buffer {
  const w = new JuteWriter(12);
  w.long(sessionId);
  w.int(timeout);
  return Buffer.from(w.bytes());
}

export function decodeRevalidateRequest(data: Buffer): { sessionId: bigint; timeout: number } {
  const r = new JuteReader(data);
  return { sessionId: r.long(), timeout: r.int() };
}

export function encodeRevalidateReply(sessionId: bigint, valid: boolean): Buffer {
  const w = new JuteWriter(9);
  w.long(sessionId);
  w.bool(valid);
  return Buffer.from(w.bytes());
}

export function decodeRevalidateReply(data: Buffer): { sessionId: bigint; valid: boolean } {
  const r = new JuteReader(data);
  return { sessionId: r.long(), valid: r.bool() };
}

// ---- zxids ----

const TWO_32 = 4294967296;

export function zxidOf(epoch: number, counter: number): number {
  return epoch * TWO_32 + counter;
}

export function epochOf(zxid: number): number {
  return Math.floor(zxid / TWO_32);
}

export function counterOf(zxid: number): number {
  return zxid % TWO_32;
}
