/** zkts dump-log, dump-snapshot and purge, run as an operator would (the built CLI). */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataTree } from '../../src/datatree/index.js';
import { OpCode } from '../../src/jute/index.js';
import { FileTxnLog, snapshotFileName, writeSnapshotFile } from '../../src/zab/index.js';
import { DIST, skipWithout } from '../support/requirements.js';
import { ZKTS_BIN } from '../support/servers.js';

const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
let dir: string;
let v2: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'zkts-opcmd-'));
  v2 = join(dir, 'version-2');
  mkdirSync(v2);
  const tree = new DataTree();
  const log = new FileTxnLog({ dir: v2, forceSync: false, preAllocSize: 4096, onFailure: (e) => { throw e; } });
  let zxid = 0;
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 3; i++) {
      const txn = { sessionId: 0x42n, cxid: i, zxid: ++zxid, time: 1_700_000_000_000, body: { type: OpCode.create, txn: { path: `/r${round}n${i}`, data: Buffer.from('hello'), acl: OPEN, ephemeral: false, parentCVersion: -1 } } } as const;
      await new Promise<void>((resolve) => log.append(txn, resolve));
      tree.apply(txn);
    }
    log.roll();
    await writeSnapshotFile(join(v2, snapshotFileName(tree.lastProcessedZxid)), tree, { fsync: false });
  }
  await log.close();
  writeFileSync(join(dir, 'zoo.cfg'), `dataDir=${dir}\n`);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const zkts = (...args: string[]) => execFileSync(process.execPath, [ZKTS_BIN, ...args], { encoding: 'utf8' });

const noDist = skipWithout(DIST);

describe('operator commands', () => {
  it.skipIf(noDist)('dump-log prints one line per txn and how the file ends', () => {
    const out = zkts('dump-log', join(v2, 'log.1')).trim().split('\n');
    expect(out).toHaveLength(4);
    expect(out[0]).toMatch(/session 0x42 cxid 0x0 zxid 0x1 create \/r0n0 ephemeral=false data="hello" acl=world:anyone:31/);
    expect(out[3]).toMatch(/^EOF reached after 3 txns \(padding at offset \d+\)$/);
  });

  it.skipIf(noDist)('dump-snapshot prints every znode with its stat', () => {
    const out = zkts('dump-snapshot', join(v2, 'snapshot.f'));
    expect(out).toMatch(/^ZNode Details \(count=19\) zxid 0xf:/);
    expect(out).toContain('/r4n2\n  cZxid = 0xf\n');
  });

  it.skipIf(noDist)('purge keeps the newest snapshots and the logs they need', () => {
    const out = zkts('purge', '--config', join(dir, 'zoo.cfg'), '-n', '3');
    expect(out).toMatch(/4 file\(s\) removed/);
    expect(readdirSync(v2).sort()).toEqual(['log.7', 'log.a', 'log.d', 'snapshot.9', 'snapshot.c', 'snapshot.f']);
  });
});
