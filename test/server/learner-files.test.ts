/**
 * What a learner's data dir holds after the leader syncs it with SNAP or TRUNC, through the quorum
 * peer's own store methods (what its ReadyRunner calls) on a real dataDir:
 * - a SNAP's snapshot is the only file left (older snapshots and every log go: recovery must not
 *   replay a replaced history, nor fall back to a past state with no logs after it);
 * - a TRUNC cuts the log, and recovery rebuilds exactly the leader's zxid;
 * - a TRUNC below the SNAP's snapshot cannot be rebuilt from the files: the peer says so, clears
 *   its files and votes with zxid 0, so that the leader syncs it anew (it used to claim the zxid
 *   while recovery would rebuild another state, or refuse to start with a zxid gap).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataTree, type Txn } from '../../src/datatree/index.js';
import { OpCode } from '../../src/jute/index.js';
import { zxidOf } from '../../src/jute/quorum.js';
import { parseZooCfg, type ServerConfig } from '../../src/server/config.js';
import { QuorumPeer } from '../../src/server/quorum-peer.js';
import { ZkTcpServer } from '../../src/server/tcp-server.js';
import { recover } from '../../src/zab/index.js';
import { encodeSnapshot } from '../../src/zab/snapshot-file.js';
import { encodeTxnEntry } from '../../src/zab/txn-codec.js';
import { freePort } from '../support/servers.js';
import { OPEN_ACL } from '../zab/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'zkts-learner-files-'));
const files = join(dir, 'version-2');
let peer: QuorumPeer;
let clients: ZkTcpServer;

const Z = (n: number) => zxidOf(1, n);
/** A create txn of /n<counter> at that zxid. */
function create(zxid: number) {
  const path = `/n${zxid & 0xffff}`;
  const txn: Txn = { sessionId: 1n, cxid: zxid & 0xffff, zxid, time: 1, body: { type: OpCode.create, txn: { path, data: Buffer.from('x'), acl: OPEN_ACL, ephemeral: false, parentCVersion: zxid & 0xffff } } };
  return { zxid, payload: encodeTxnEntry(txn), txn };
}

let config: ServerConfig;
const log = pino({ level: 'silent' });

async function startPeer(): Promise<void> {
  clients = new ZkTcpServer(config, log);
  peer = new QuorumPeer(config, 1, clients, log);
  await peer.start();
}

beforeAll(async () => {
  // A 3-server ensemble whose other two servers never answer: the peer stays LOOKING, and the test
  // calls the store methods the roles' ReadyRunner calls.
  const [client, q1, e1, q2, e2, q3, e3] = await Promise.all(Array.from({ length: 7 }, () => freePort()));
  config = parseZooCfg(
    [`dataDir=${dir}`, `clientPort=${client}`, 'tickTime=200', 'initLimit=5', 'syncLimit=2', `server.1=127.0.0.1:${q1}:${e1}`, `server.2=127.0.0.1:${q2}:${e2}`, `server.3=127.0.0.1:${q3}:${e3}`, ''].join('\n'),
    'zoo.cfg',
  );
  config.myid = 1;
  await startPeer();
});

afterAll(async () => {
  await peer.stop();
  await clients.stop();
  rmSync(dir, { recursive: true, force: true });
});

const dataFiles = () => readdirSync(files).filter((f) => f.startsWith('log.') || f.startsWith('snapshot.')).sort();

describe("a learner's data files after the leader's sync", () => {
  it('a SNAP leaves its snapshot alone: the older snapshot and the logs go', async () => {
    // As a learner of epoch 1 does before its sync.
    await peer.writeEpoch('acceptedEpoch', 1);
    await peer.writeEpoch('currentEpoch', 1);
    await peer.append([create(Z(1)), create(Z(2))]);
    expect(dataFiles()).toEqual(['log.100000001', 'snapshot.0']);
    const tree = new DataTree();
    for (const n of [1, 2, 3, 4, 5, 6]) tree.apply(create(Z(n)).txn);
    await peer.installSnapshot(encodeSnapshot(tree, { format: 'wire' }).bytes, Z(6));
    expect(dataFiles()).toEqual(['snapshot.100000006']);
  });

  it('a TRUNC within the log after the SNAP rebuilds exactly the leader zxid', async () => {
    await peer.append([create(Z(7)), create(Z(8)), create(Z(9))]);
    await peer.truncate(Z(8));
    const r = await recover(files, files, { extendedTypesEnabled: false });
    expect(r.tree.lastProcessedZxid).toBe(Z(8));
    expect(r.tree.getNode('/n8')).toBeDefined();
    expect(r.tree.getNode('/n9')).toBeUndefined();
    // Started again, the peer reads the same from its files (in a role, the role keeps its log).
    await peer.stop();
    await clients.stop();
    await startPeer();
    expect(peer.lastZxid).toBe(Z(8));
  });

  it('a TRUNC below the SNAP cannot be rebuilt: refused, the files cleared, the peer back to zxid 0', async () => {
    await expect(peer.truncate(Z(4))).rejects.toThrow(/cannot truncate to 0x100000004/);
    expect(peer.lastZxid).toBe(0);
    const r = await recover(files, files, { extendedTypesEnabled: false });
    expect(r.tree.lastProcessedZxid).toBe(0);
    expect(r.tree.getNode('/n1')).toBeUndefined();
    expect(dataFiles()).toEqual(['snapshot.0']);
  });
});
