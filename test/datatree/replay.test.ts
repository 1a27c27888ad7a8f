/** ZooKeeper's rules for replaying a log over a fuzzy snapshot, which its own dataDirs can need. */
import { describe, expect, it } from 'vitest';
import { DataTree, type TxnBody } from '../../src/datatree/index.js';
import { ErrorCode, OpCode } from '../../src/jute/index.js';

const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const create = (path: string, parentCVersion: number): TxnBody => ({ type: OpCode.create, txn: { path, data: null, acl: OPEN, ephemeral: false, parentCVersion } });

describe('replay over a fuzzy snapshot', () => {
  it('a delete whose node is already gone still advances the parent pzxid', () => {
    const tree = new DataTree();
    tree.apply({ sessionId: 1n, cxid: 0, zxid: 1, time: 1, body: create('/p', 1) });
    const r = tree.apply({ sessionId: 1n, cxid: 0, zxid: 5, time: 1, body: { type: OpCode.delete, txn: { path: '/p/gone' } } });
    expect(r.err).toBe(ErrorCode.NONODE);
    expect(tree.getNode('/p')!.pzxid).toBe(5);
  });

  it('a create that finds its node there still sets the parent cversion and pzxid', () => {
    const tree = new DataTree();
    tree.apply({ sessionId: 1n, cxid: 0, zxid: 1, time: 1, body: create('/p', 1) });
    tree.apply({ sessionId: 1n, cxid: 0, zxid: 2, time: 1, body: create('/p/c', 1) });
    const r = tree.apply({ sessionId: 1n, cxid: 0, zxid: 7, time: 1, body: create('/p/c', 4) });
    expect(r.err).toBe(ErrorCode.NODEEXISTS);
    expect({ cversion: tree.getNode('/p')!.cversion, pzxid: tree.getNode('/p')!.pzxid }).toEqual({ cversion: 4, pzxid: 7 });
  });
});
