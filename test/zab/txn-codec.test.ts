import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Txn } from '../../src/datatree/index.js';
import { JuteError, JuteWriter, OpCode, records } from '../../src/jute/index.js';
import { decodeTxnEntry, encodeTxnEntry } from '../../src/zab/txn-codec.js';
import { OPEN_ACL, prng, TxnGen } from './helpers.js';

function header(w: JuteWriter, type: number, zxid = 0x100000005): void {
  records.TxnHeader.write(w, { clientId: 0x1234n, cxid: 7, zxid, time: 1_700_000_000_123, type });
}

describe('txn entry payload', () => {
  it('round-trips random txns of every type, with and without a digest', () => {
    let n = 0;
    fc.assert(
      fc.property(fc.integer(), fc.boolean(), (seed, withDigest) => {
        const gen = new TxnGen(prng(seed), { ttl: true, topLevelCheck: true, oddAcls: true });
        for (const txn of gen.take(60)) {
          const digest = withDigest ? { version: 2, treeDigest: BigInt.asIntN(64, BigInt(seed) * 0x9e3779b97f4a7c15n) } : undefined;
          const decoded = decodeTxnEntry(encodeTxnEntry(txn, digest));
          expect(decoded.txn).toEqual(txn);
          expect(decoded.digest).toEqual(digest);
          expect(decoded.headerType).toBe(txn.body.type);
          n++;
        }
      }),
      { numRuns: 60 },
    );
    expect(n).toBe(3600);
  });

  it('lays out header, record and digest as Util.marshallTxnEntry does', () => {
    const txn: Txn = {
      sessionId: 0x1234n,
      cxid: 7,
      zxid: 0x100000005,
      time: 1_700_000_000_123,
      body: { type: OpCode.create, txn: { path: '/a', data: Buffer.from('xy'), acl: OPEN_ACL, ephemeral: true, parentCVersion: 3 } },
    };
    const expected = Buffer.concat([
      Buffer.from('0000000000001234' + '00000007' + '0000000100000005', 'hex'),
      Buffer.from((1_700_000_000_123).toString(16).padStart(16, '0'), 'hex'),
      Buffer.from('00000001', 'hex'), // type create
      Buffer.from('00000002', 'hex'), Buffer.from('/a'),
      Buffer.from('00000002', 'hex'), Buffer.from('xy'),
      Buffer.from('00000001' + '0000001f', 'hex'), Buffer.from('00000005', 'hex'), Buffer.from('world'), Buffer.from('00000006', 'hex'), Buffer.from('anyone'),
      Buffer.from('01' + '00000003', 'hex'),
      Buffer.from('00000002' + 'fffffffffffffffe', 'hex'), // TxnDigest{2, -2}
    ]);
    expect(encodeTxnEntry(txn, { version: 2, treeDigest: -2n }).toString('hex')).toBe(expected.toString('hex'));
  });

  it('stores a multi as MultiTxn of separately serialized records, create2 as create', () => {
    const txn: Txn = {
      sessionId: 1n,
      cxid: 1,
      zxid: 9,
      time: 5,
      body: {
        type: OpCode.multi,
        txns: [
          { type: OpCode.create2, txn: { path: '/m', data: null, acl: OPEN_ACL, ephemeral: false, parentCVersion: 1 } },
          { type: OpCode.check, txn: { path: '/m', version: 0 } },
        ],
      },
    };
    const bytes = encodeTxnEntry(txn);
    const w = new JuteWriter();
    header(w, OpCode.multi, 9);
    const sub1 = new JuteWriter();
    records.CreateTxn.write(sub1, { path: '/m', data: null, acl: OPEN_ACL, ephemeral: false, parentCVersion: 1 });
    const sub2 = new JuteWriter();
    records.CheckVersionTxn.write(sub2, { path: '/m', version: 0 });
    records.MultiTxn.write(w, { txns: [{ type: OpCode.create, data: Buffer.from(sub1.bytes()) }, { type: OpCode.check, data: Buffer.from(sub2.bytes()) }] });
    // Same body; the header differs only in its fields.
    expect(bytes.subarray(36).toString('hex')).toBe(Buffer.from(w.bytes()).subarray(36).toString('hex'));
    const back = decodeTxnEntry(bytes).txn.body;
    expect(back.type === OpCode.multi && back.txns[0]!.type).toBe(OpCode.create);
  });

  it('refuses to put in a multi what ZooKeeper cannot replay there', () => {
    const txn: Txn = { sessionId: 1n, cxid: 1, zxid: 9, time: 5, body: { type: OpCode.multi, txns: [{ type: OpCode.setACL, txn: { path: '/', acl: OPEN_ACL, version: 1 } }] } };
    expect(() => encodeTxnEntry(txn)).toThrow(/cannot be part of a multi/);
  });

  it('reads what older ZooKeepers wrote: CreateTxnV0, closeSession without a record, reconfig', () => {
    // CreateTxnV0: no parentCVersion; read as -1, which apply() turns into "parent's cversion + 1".
    let w = new JuteWriter();
    header(w, OpCode.create);
    w.ustring('/old');
    w.buffer(Buffer.from('d'));
    records.ACLList.write(w, OPEN_ACL);
    w.bool(false);
    let e = decodeTxnEntry(Buffer.from(w.bytes()));
    expect(e.txn.body).toEqual({ type: OpCode.create, txn: { path: '/old', data: Buffer.from('d'), acl: OPEN_ACL, ephemeral: false, parentCVersion: -1 } });

    for (const digest of [false, true]) {
      w = new JuteWriter();
      header(w, OpCode.closeSession);
      if (digest) records.TxnDigest.write(w, { version: 2, treeDigest: 77n });
      e = decodeTxnEntry(Buffer.from(w.bytes()));
      expect(e.txn.body).toEqual({ type: OpCode.closeSession, txn: { paths2Delete: [] } });
      expect(e.digest).toEqual(digest ? { version: 2, treeDigest: 77n } : undefined);
    }

    w = new JuteWriter();
    header(w, 16);
    records.SetDataTxn.write(w, { path: '/zookeeper/config', data: Buffer.from('server.1=...'), version: 3 });
    e = decodeTxnEntry(Buffer.from(w.bytes()));
    expect(e.headerType).toBe(16);
    expect(e.txn.body).toEqual({ type: OpCode.reconfig, txn: { path: '/zookeeper/config', data: Buffer.from('server.1=...'), version: 3 } });
    // A reconfig txn is written back with its own type (a learner must see 16 to activate it).
    expect(encodeTxnEntry(e.txn)).toEqual(Buffer.from(w.bytes()));
  });

  it('throws JuteError, and only JuteError, on truncated, padded or garbage payloads', () => {
    const gen = new TxnGen(prng(42), { ttl: true });
    const payloads = gen.take(80).map((t) => encodeTxnEntry(t, { version: 2, treeDigest: 1n }));
    for (const p of payloads) {
      for (const cut of [0, 1, 35, 36, 37, p.length - 13, p.length - 12, p.length - 1]) {
        if (cut < 0 || cut >= p.length) continue;
        try {
          decodeTxnEntry(p.subarray(0, cut));
        } catch (err) {
          expect(err).toBeInstanceOf(JuteError);
        }
      }
      expect(() => decodeTxnEntry(Buffer.concat([p, Buffer.alloc(1)]))).toThrow(JuteError);
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          decodeTxnEntry(Buffer.from(bytes));
        } catch (err) {
          expect(err).toBeInstanceOf(JuteError);
        }
      }),
      { numRuns: 300 },
    );
  });
});
