/**
 * The handshake records. Since 3.4 a client may append a readOnly boolean to ConnectRequest, and the
 * server answers with the same trailing byte only if the client sent it (older clients would choke on it).
 */
import type { JuteReader } from './reader.js';
import { ConnectRequestBase, ConnectResponseBase } from './records.js';
import type { JuteWriter } from './writer.js';

export interface ConnectRequest {
  protocolVersion: number;
  lastZxidSeen: number;
  timeOut: number;
  sessionId: bigint;
  passwd: Buffer | null;
  /** undefined when the client did not send the byte at all. */
  readOnly: boolean | undefined;
}

export interface ConnectResponse {
  protocolVersion: number;
  timeOut: number;
  sessionId: bigint;
  passwd: Buffer | null;
  readOnly: boolean | undefined;
}

export function readConnectRequest(r: JuteReader): ConnectRequest {
  const base = ConnectRequestBase.read(r);
  const readOnly = r.remaining > 0 ? r.bool() : undefined;
  return { ...base, readOnly };
}

export function writeConnectRequest(w: JuteWriter, req: ConnectRequest): void {
  ConnectRequestBase.write(w, req);
  if (req.readOnly !== undefined) w.bool(req.readOnly);
}

export function readConnectResponse(r: JuteReader): ConnectResponse {
  const base = ConnectResponseBase.read(r);
  const readOnly = r.remaining > 0 ? r.bool() : undefined;
  return { ...base, readOnly };
}

export function writeConnectResponse(w: JuteWriter, res: ConnectResponse): void {
  ConnectResponseBase.write(w, res);
  if (res.readOnly !== undefined) w.bool(res.readOnly);
}
