import type { QuorumPacket } from '../jute/quorum.js';
import type { HistoryEntry } from './history.js';

/**
 * What a ZAB role asks its runtime to do after an input, as etcd's raft hands a Ready to its
 * application. The runtime carries it out in this order, which the roles rely on:
 *  1. `epochs`, then `truncate`: made durable before anything else (a LEADERINFO, ACKEPOCH or
 *     NEWLEADER ACK must never leave before the epoch it depends on is on disk);
 *  2. `commits`: applied to the state in order (each is already in the local log, durably);
 *  3. `messages`: sent in order; a `snapshot` message streams the state at exactly its zxid (the
 *     commits after it in step 2 wait until it is streamed: a Ready may gather several inputs);
 *  4. `appends`: written to the log; each is reported back with `persisted(zxid)` once fsynced;
 *  5. `events`: told to the runtime (role changes, packets for the session layer).
 */
export interface Ready {
  epochs: { name: 'acceptedEpoch' | 'currentEpoch'; value: number }[];
  /** Drop every logged txn after this zxid and rebuild the state from the log (a TRUNC). */
  truncate: number | undefined;
  commits: HistoryEntry[];
  messages: Outgoing[];
  appends: HistoryEntry[];
  events: RoleEvent[];
}

export type Outgoing = { to: number; packet: QuorumPacket } | { to: number; snapshot: true; zxid: number };

export type RoleEvent =
  /** Leader: a quorum acked NEWLEADER; follower: UPTODATE arrived. Clients may be served. */
  | { kind: 'serving'; epoch: number }
  /** The role is over (lost quorum, leader silent, protocol error): back to leader election. */
  | { kind: 'stopped'; reason: string }
  /** Leader: stop talking to this learner (it fell behind or broke the protocol). */
  | { kind: 'dropLearner'; sid: number; reason: string }
  /** A packet for the session layer: REQUEST, REVALIDATE, a PING's touches, a SYNC answer, ... */
  | { kind: 'deliver'; from: number; packet: QuorumPacket }
  /** Leader: a sync asked by `from` (a learner, or this server) is answered; for learners the SYNC is in `messages`. */
  | { kind: 'synced'; from: number }
  /** Follower: the config NEWLEADER carried (to activate when serving, if newer than ours). */
  | { kind: 'leaderConfig'; config: Buffer }
  /** Leader: how a learner is brought up to date (for the log): from its last zxid to ours. */
  | { kind: 'learnerSync'; sid: number; mode: 'diff' | 'trunc' | 'snap'; from: number; to: number; txns: number };

export function emptyReady(): Ready {
  return { epochs: [], truncate: undefined, commits: [], messages: [], appends: [], events: [] };
}

/** Ticks of the ensemble's timing (zoo.cfg tickTime, initLimit, syncLimit). */
export interface ZabTiming {
  tickTime: number;
  initLimit: number;
  syncLimit: number;
}
