/**
 * The request pipeline with a slow log: a client's requests are answered in the order sent, its
 * reads see its earlier writes and none of its later ones (the per-client barrier), closeSession's
 * prep records the deletion of the session's ephemerals as ZooKeeper's PrepRequestProcessor does,
 * a read queued behind a write is checked with the auth ids of its arrival, and a bug in prep
 * still spends its zxid on an error txn.
 */
import { describe, expect, it } from 'vitest';
import { CreateFlag, ErrorCode, OpCode, records } from '../../src/jute/index.js';
import { digestId } from '../../src/server/auth.js';
import { connectClient, testServer } from './pipeline-helpers.js';

describe('per-client ordering barrier', () => {
  it("a read sent after the client's own write waits for it and sees it", () => {
    const { server, log } = testServer();
    const a = connectClient(server, log);
    log.immediate = true;
    a.create('/n', CreateFlag.PERSISTENT, undefined, Buffer.from('v0'));
    log.immediate = false;
    a.replies.length = 0;
    const w = a.setData('/n', 'v1');
    const r = a.getData('/n');
    expect(a.replies).toEqual([]); // the read is not answered ahead of the write in the log
    log.release();
    expect(a.replies.map((x) => x.xid)).toEqual([w, r]);
    expect(a.dataOf(r)).toBe('v1');
  });

  it("another client's read is not held behind the write and sees the committed value", () => {
    const { server, log } = testServer();
    const a = connectClient(server, log);
    const b = connectClient(server, log);
    log.immediate = true;
    a.create('/n', CreateFlag.PERSISTENT, undefined, Buffer.from('v0'));
    log.immediate = false;
    a.replies.length = 0;
    a.setData('/n', 'v1');
    const r = b.getData('/n');
    expect(b.dataOf(r)).toBe('v0');
    log.release();
    expect(b.replies).toHaveLength(1);
  });

  it('replies come in the order sent with the log releasing one txn at a time; each read sees exactly the writes before it', () => {
    const { server, log } = testServer();
    const a = connectClient(server, log);
    log.immediate = true;
    a.create('/n', CreateFlag.PERSISTENT, undefined, Buffer.from('v0'));
    log.immediate = false;
    a.replies.length = 0;
    const w1 = a.setData('/n', 'v1');
    const r1 = a.getData('/n');
    const w2 = a.setData('/n', 'v2');
    const r2 = a.getData('/n');
    const ping = a.send(OpCode.exists, (w) => records.ExistsRequest.write(w, { path: '/n', watch: false }));
    const r3 = a.getData('/n');
    expect(log.held).toHaveLength(2); // both writes went to the log at once, behind no read
    log.release(1);
    expect(a.replies.map((x) => x.xid)).toEqual([w1, r1]);
    expect(a.dataOf(r1)).toBe('v1');
    log.release(1);
    expect(a.replies.map((x) => x.xid)).toEqual([w1, r1, w2, r2, ping, r3]);
    expect(a.dataOf(r2)).toBe('v2');
    expect(a.dataOf(r3)).toBe('v2');
    // Each reply carries the zxid of the state it was answered from.
    expect(a.reply(r1)!.zxid).toBe(a.reply(w1)!.zxid);
    expect(a.reply(r2)!.zxid).toBe(a.reply(w2)!.zxid);
  });

  it('a read that arrives after the write committed is answered at once', () => {
    const { server, log } = testServer();
    const a = connectClient(server, log);
    const w = a.create('/n');
    log.release();
    const r = a.getData('/n');
    expect(a.replies.map((x) => x.xid)).toEqual([w, r]);
  });
});

describe('closeSession racing other sessions (ZooKeeper records its deletions at prep)', () => {
  it("a create of a closing session's ephemeral path, prepared before the close commits, succeeds", () => {
    const { server, log } = testServer();
    const a = connectClient(server, log);
    const b = connectClient(server, log);
    log.immediate = true;
    a.create('/e', CreateFlag.EPHEMERAL);
    log.immediate = false;
    const close = a.closeSession();
    const create = b.create('/e');
    log.release();
    expect(a.reply(close)?.err).toBe(0);
    expect(b.reply(create)?.err).toBe(0);
    expect(server.tree.getNode('/e')?.ephemeralOwner).toBe(0n);
  });

  it('an ephemeral whose create is still in the log is deleted by the close, and a racing create of it succeeds', () => {
    const { server, log } = testServer();
    const a = connectClient(server, log);
    const b = connectClient(server, log);
    const created = a.create('/e', CreateFlag.EPHEMERAL);
    a.closeSession();
    const create = b.create('/e');
    log.release();
    expect(a.reply(created)?.err).toBe(0);
    expect(b.reply(create)?.err).toBe(0);
    expect(server.tree.getNode('/e')?.ephemeralOwner).toBe(0n);
  });

  it('a write to a closing session\'s ephemeral fails at prep with NONODE', () => {
    const { server, log } = testServer();
    const a = connectClient(server, log);
    const b = connectClient(server, log);
    log.immediate = true;
    a.create('/e', CreateFlag.EPHEMERAL);
    log.immediate = false;
    a.closeSession();
    const set = b.setData('/e', 'x');
    const del = b.delete('/e');
    log.release();
    expect(b.reply(set)?.err).toBe(ErrorCode.NONODE);
    expect(b.reply(del)?.err).toBe(ErrorCode.NONODE);
  });

  it('the close does not delete a node another session re-created after a pending delete of the ephemeral', () => {
    const { server, log } = testServer();
    const a = connectClient(server, log);
    const b = connectClient(server, log);
    log.immediate = true;
    a.create('/e', CreateFlag.EPHEMERAL);
    log.immediate = false;
    const del = b.delete('/e');
    const create = b.create('/e');
    a.closeSession();
    const closeTxn = log.held[2]!.txn;
    log.release();
    expect(b.reply(del)?.err).toBe(0);
    expect(b.reply(create)?.err).toBe(0);
    expect(server.tree.getNode('/e')).toBeDefined();
    // The CloseSessionTxn lists what the close deletes: not /e, which a pending txn deleted already.
    expect(closeTxn.body).toEqual({ type: OpCode.closeSession, txn: { paths2Delete: [] } });
  });
});

describe('auth ids of a queued request', () => {
  it('a read queued behind a write is checked with the ids the connection had when it arrived', () => {
    const { server, log } = testServer();
    const a = connectClient(server, log);
    const secretAcl: records.ACL[] = [{ perms: 1, id: { scheme: 'digest', id: digestId('user:pw') } }];
    log.immediate = true;
    a.create('/secret', CreateFlag.PERSISTENT, secretAcl, Buffer.from('s'));
    log.immediate = false;
    a.create('/w');
    const before = a.getData('/secret');
    const whoAmI = a.send(OpCode.whoAmI);
    // addauth is answered at once by the runtime (as ZooKeeper does), ahead of the queued read.
    a.ids.push({ scheme: 'digest', id: digestId('user:pw') });
    const after = a.getData('/secret');
    log.release();
    expect(a.reply(before)?.err).toBe(ErrorCode.NOAUTH);
    const who = a.reply(whoAmI)!;
    expect(records.WhoAmIResponse.read(who.body).clientInfo.map((c) => c.authScheme)).toEqual(['ip']);
    expect(a.dataOf(after)).toBe('s');
  });
});

describe('an internal error in prep', () => {
  it('answers MARSHALLINGERROR through an error txn, so that no zxid is missing from the log', () => {
    const { server, log } = testServer();
    const a = connectClient(server, log);
    const tree = server.tree;
    const getNode = tree.getNode.bind(tree);
    tree.getNode = (path) => {
      if (path === '/boom') throw new Error('injected prep failure');
      return getNode(path);
    };
    const before = a.create('/a');
    const failed = a.create('/boom/x');
    const after = a.create('/b');
    expect(log.held.map((h) => h.txn.zxid)).toEqual([2, 3, 4]);
    expect(log.held[1]!.txn.body).toEqual({ type: OpCode.error, txn: { err: ErrorCode.MARSHALLINGERROR } });
    log.release();
    expect(a.replies.map((r) => [r.xid, r.err])).toEqual([
      [before, 0],
      [failed, ErrorCode.MARSHALLINGERROR],
      [after, 0],
    ]);
  });
});
