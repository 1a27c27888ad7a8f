/**
 * The election port's bytes, as Apache ZooKeeper 3.8's QuorumCnxManager and FastLeaderElection write
 * them: the initial message a connecting peer sends, the length-prefixed frames after it, the
 * Notification carried in each frame, and the quorum configuration string a notification ends with.
 * Sids, zxids and epochs are JS numbers: exact below 2^53, and Long.MIN_VALUE (the vote of a
 * non-voter) is exactly representable too.
 */
import { JuteError } from './errors.js';
import { JuteReader } from './reader.js';
import { JuteWriter } from './writer.js';

/** QuorumCnxManager.PROTOCOL_VERSION_V1: one `host:port` election address follows. */
export const ELECTION_PROTOCOL_V1 = -65536;
/** PROTOCOL_VERSION_V2: `|`-separated addresses (sent only with zookeeper.multiAddress.enabled). */
export const ELECTION_PROTOCOL_V2 = -65535;
/** QuorumCnxManager.maxBuffer: the longest address string a peer may announce. */
export const MAX_INITIAL_ADDRESS_BYTES = 2048;
/** QuorumCnxManager.PACKETMAXSIZE: frames longer than this close the connection. */
export const MAX_ELECTION_FRAME_BYTES = 512 * 1024;
/** Notification.CURRENTVERSION: the form with the config string. */
export const NOTIFICATION_VERSION = 2;
/** Long.MIN_VALUE, the leader/zxid/epoch a non-voting peer votes with. */
export const NO_VOTE = -(2 ** 63);

/** QuorumPeer.ServerState ordinals, as sent in a notification. */
export enum PeerState {
  LOOKING = 0,
  FOLLOWING = 1,
  LEADING = 2,
  OBSERVING = 3,
}

export interface HostPort {
  host: string;
  port: number;
}

export interface InitialMessage {
  protocolVersion: number;
  sid: number;
  /** The election addresses the peer announced (wildcards dropped, as ZooKeeper drops them); empty for the bare-sid form. */
  addresses: HostPort[];
}

/** What the initiator of an election connection writes first: V1 header, sid, its election address. */
export function encodeInitialMessage(sid: number, address: HostPort): Buffer {
  const text = Buffer.from(formatHostPort(address), 'ascii');
  const w = new JuteWriter(20 + text.length);
  w.longNumber(ELECTION_PROTOCOL_V1);
  w.longNumber(sid);
  w.int(text.length);
  w.raw(text);
  return Buffer.from(w.bytes());
}

/**
 * Parses an initial message from the start of `buf`. Returns null when more bytes are needed, the
 * message and its length once complete; throws JuteError for what QuorumCnxManager rejects (unknown
 * protocol version, address length <= 0 or > 2048, a badly formed address).
 */
export function decodeInitialMessage(buf: Buffer): { message: InitialMessage; length: number } | null {
  if (buf.length < 8) return null;
  const r = new JuteReader(buf);
  const first = r.longNumber();
  // Before 3.5 a peer sent its bare sid; a non-negative first long is that sid.
  if (first >= 0) return { message: { protocolVersion: first, sid: first, addresses: [] }, length: 8 };
  if (first !== ELECTION_PROTOCOL_V1 && first !== ELECTION_PROTOCOL_V2) {
    throw new JuteError(`unrecognized election protocol version ${first}`);
  }
  if (buf.length < 20) return null;
  const sid = r.longNumber();
  const len = r.int();
  if (len <= 0 || len > MAX_INITIAL_ADDRESS_BYTES) throw new JuteError(`unreasonable initial message address length ${len}`);
  if (r.remaining < len) return null;
  const text = buf.toString('utf8', r.offset, r.offset + len);
  const addresses = text
    .split('|')
    .map(parseHostPort)
    .filter((a) => !isWildcard(a.host));
  return { message: { protocolVersion: first, sid, addresses }, length: 20 + len };
}

/** `a.b.c.d:port` or `[v6]:port`, as NetUtils.formatInetAddr writes it. */
export function formatHostPort(a: HostPort): string {
  return `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}

/** Parses `host:port` or `[v6]:port`; throws JuteError when it is not one. */
export function parseHostPort(text: string): HostPort {
  let host: string;
  let rest: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) throw new JuteError(`badly formed address: ${text}`);
    host = text.slice(1, close);
    rest = text.slice(close + 1);
    if (!rest.startsWith(':')) throw new JuteError(`badly formed address: ${text}`);
    rest = rest.slice(1);
  } else {
    const parts = text.split(':');
    if (parts.length !== 2) throw new JuteError(`badly formed address: ${text}`);
    [host, rest] = parts as [string, string];
  }
  if (!/^\d{1,5}$/.test(rest) || Number(rest) > 65535) throw new JuteError(`bad port number in: ${text}`);
  if (host === '') throw new JuteError(`badly formed address: ${text}`);
  return { host, port: Number(rest) };
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '0:0:0:0:0:0:0:0';
}

/** One frame: int length then the payload. */
export function encodeElectionFrame(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + payload.length);
  out.writeInt32BE(payload.length, 0);
  payload.copy(out, 4);
  return out;
}

/**
 * The frame starting at `offset` in `buf`: null when incomplete; throws JuteError for a length outside
 * 1..512 KiB (ZooKeeper closes the connection then).
 */
export function decodeElectionFrame(buf: Buffer, offset = 0): { payload: Buffer; next: number } | null {
  if (buf.length - offset < 4) return null;
  const len = buf.readInt32BE(offset);
  if (len <= 0 || len > MAX_ELECTION_FRAME_BYTES) throw new JuteError(`received election frame of invalid length ${len}`);
  if (buf.length - offset - 4 < len) return null;
  return { payload: buf.subarray(offset + 4, offset + 4 + len), next: offset + 4 + len };
}

export interface Notification {
  state: PeerState;
  /** The proposed (or, when not LOOKING, the followed) leader's sid. */
  leader: number;
  zxid: number;
  /** The sender's logical clock ("round"). */
  electionEpoch: number;
  peerEpoch: number;
  /** 0 for the legacy 28- and 40-byte forms, 2 for today's. */
  version: number;
  /** The sender's quorum configuration string; null in the legacy forms. */
  config: string | null;
}

/** The version-2 form: 44 bytes plus the config string (FastLeaderElection.buildMsg). */
export function encodeNotification(n: Omit<Notification, 'version'>): Buffer {
  const cfg = Buffer.from(n.config ?? '', 'utf8');
  const w = new JuteWriter(44 + cfg.length);
  w.int(n.state);
  w.longNumber(n.leader);
  w.longNumber(n.zxid);
  w.longNumber(n.electionEpoch);
  w.longNumber(n.peerEpoch);
  w.int(NOTIFICATION_VERSION);
  w.int(cfg.length);
  w.raw(cfg);
  return Buffer.from(w.bytes());
}

/**
 * Decodes a notification as FastLeaderElection's WorkerReceiver does: 28 bytes = pre-3.4.6 form
 * (peerEpoch taken from the zxid), exactly 40 = no version read, otherwise a version and, above 1, the
 * config string. Throws JuteError for what it drops: shorter than 28, truncated, a config length out
 * of range, an unknown state.
 */
export function decodeNotification(buf: Buffer): Notification {
  if (buf.length < 28) throw new JuteError(`short notification: ${buf.length} bytes`);
  const r = new JuteReader(buf);
  const state = r.int();
  const leader = r.longNumber();
  const zxid = r.longNumber();
  const electionEpoch = r.longNumber();
  let peerEpoch: number;
  let version = 0;
  let config: string | null = null;
  if (buf.length === 28) {
    peerEpoch = Math.floor(zxid / 2 ** 32);
  } else {
    peerEpoch = r.longNumber();
    if (buf.length !== 40) version = r.int();
    if (version > 1) {
      const cfgLen = r.int();
      if (cfgLen < 0 || cfgLen > buf.length) throw new JuteError(`invalid config length ${cfgLen} in notification`);
      if (r.remaining < cfgLen) throw new JuteError(`truncated notification config: ${cfgLen} bytes announced, ${r.remaining} left`);
      config = buf.toString('utf8', r.offset, r.offset + cfgLen);
    }
  }
  if (state < PeerState.LOOKING || state > PeerState.OBSERVING) throw new JuteError(`unknown peer state ${state} in notification`);
  return { state, leader, zxid, electionEpoch, peerEpoch, version, config };
}

export interface QuorumMember {
  sid: number;
  /** One or more (`|`-separated in the text) quorum/election address pairs. */
  addresses: { host: string; quorumPort: number; electionPort: number }[];
  role: 'participant' | 'observer';
  /** `;clientHost:clientPort`, present when the server line has a client address. */
  client?: HostPort;
}

export interface QuorumConfig {
  members: QuorumMember[];
  /** The `version=` line (hex in the text): the zxid of the reconfig that made it, 0 for a static config. */
  version: number;
}

/** QuorumMaj.toString: one `server.N=...` line per member in sid order, then `version=<hex>`, no final newline. */
export function formatQuorumConfig(cfg: QuorumConfig): string {
  const lines = [...cfg.members]
    .sort((a, b) => a.sid - b.sid)
    .map((m) => {
      const addrs = m.addresses.map((a) => `${formatHostPort({ host: a.host, port: a.quorumPort })}:${a.electionPort}`).join('|');
      const client = m.client ? `;${formatHostPort(m.client)}` : '';
      return `server.${m.sid}=${addrs}:${m.role}${client}\n`;
    });
  return `${lines.join('')}version=${cfg.version.toString(16)}`;
}

/** Parses the config string a notification carries; throws JuteError when a line is malformed. */
export function parseQuorumConfig(text: string): QuorumConfig {
  const members: QuorumMember[] = [];
  let version = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const eq = line.indexOf('=');
    if (eq < 0) throw new JuteError(`malformed config line: ${line}`);
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (key === 'version') {
      if (!/^[0-9a-fA-F]{1,16}$/.test(value)) throw new JuteError(`malformed config version: ${value}`);
      version = parseInt(value, 16);
    } else if (/^server\.\d+$/.test(key)) {
      members.push(parseServerLine(Number(key.slice('server.'.length)), value));
    } else {
      throw new JuteError(`unexpected config key: ${key}`);
    }
  }
  return { members, version };
}

function parseServerLine(sid: number, value: string): QuorumMember {
  const [serverPart, clientPart, ...extra] = value.split(';');
  if (serverPart === undefined || extra.length > 0) throw new JuteError(`malformed server line: server.${sid}=${value}`);
  let role: QuorumMember['role'] = 'participant';
  let body = serverPart;
  const roleMatch = /:(participant|observer)$/.exec(body);
  if (roleMatch) {
    role = roleMatch[1] as QuorumMember['role'];
    body = body.slice(0, roleMatch.index);
  }
  const addresses = body.split('|').map((a) => {
    // host:quorumPort:electionPort; the host may be a bracketed IPv6 address.
    const last = a.lastIndexOf(':');
    if (last < 0) throw new JuteError(`malformed server address: ${a}`);
    const q = parseHostPort(a.slice(0, last));
    const electionPort = parsePort(a.slice(last + 1), a);
    return { host: q.host, quorumPort: q.port, electionPort };
  });
  const member: QuorumMember = { sid, addresses, role };
  if (clientPart !== undefined) {
    // ";port" alone means every interface; ZooKeeper prints it as 0.0.0.0:port.
    member.client = /^\d+$/.test(clientPart) ? { host: '0.0.0.0', port: parsePort(clientPart, clientPart) } : parseHostPort(clientPart);
  }
  return member;
}

function parsePort(text: string, context: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw new JuteError(`bad port number in: ${context}`);
  return Number(text);
}
