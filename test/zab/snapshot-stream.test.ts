/**
 * The snapshot a leader streams after SNAP (LearnerHandler): sessions, ACL cache, nodes, "/", then
 * "BenWasHere", with no header, seals or digest; and finding its end in a socket's byte stream.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JuteReader } from '../../src/jute/index.js';
import { encodeSnapshot, parseSnapshot, serializeSnapshot } from '../../src/zab/snapshot-file.js';
import { WireSnapshotScanner } from '../../src/zab/snapshot-stream.js';
import { dumpTree, prng, TxnGen } from './helpers.js';

function wireBytes(gen: TxnGen): Buffer {
  return Buffer.concat([...serializeSnapshot(gen.tree, { format: 'wire', chunkSize: 700 })]);
}

describe('snapshot streamed after SNAP', () => {
  it('is the file snapshot without its header, seals and digest, ended by the signature', () => {
    const gen = new TxnGen(prng(3), { ttl: true, oddAcls: true });
    gen.take(300);
    const wire = wireBytes(gen);
    const file = encodeSnapshot(gen.tree).bytes;
    // The file: a 16-byte header, the same body, then seal (long, "/"), digest (long, int, long), seal.
    const body = wire.subarray(0, wire.length - (4 + 'BenWasHere'.length));
    expect(file.subarray(16, 16 + body.length).equals(body)).toBe(true);
    const r = new JuteReader(wire, body.length);
    expect(r.ustring()).toBe('BenWasHere');
    expect(r.remaining).toBe(0);
  });

  it('loads into the identical tree', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 0, max: 400 }), (seed, n) => {
        const gen = new TxnGen(prng(seed), { ttl: true, oddAcls: true });
        gen.take(n);
        const loaded = parseSnapshot(wireBytes(gen), { zxid: gen.tree.lastProcessedZxid, extendedTypesEnabled: true, format: 'wire' });
        expect(dumpTree(loaded.tree)).toEqual(dumpTree(gen.tree));
      }),
      { numRuns: 30 },
    );
  });

  it('is found whole in a byte stream however it is chunked, with what follows it kept', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 0, max: 300 }), fc.array(fc.integer({ min: 1, max: 900 }), { minLength: 1 }), (seed, n, cuts) => {
        const gen = new TxnGen(prng(seed), { ttl: true, oddAcls: true });
        gen.take(n);
        const wire = wireBytes(gen);
        const after = Buffer.from('next packet');
        const stream = Buffer.concat([wire, after]);
        const scanner = new WireSnapshotScanner(1 << 24, 256);
        let found: { snapshot: Buffer; rest: Buffer } | undefined;
        let at = 0;
        for (let i = 0; !found && at < stream.length; i++) {
          const len = cuts[i % cuts.length]!;
          found = scanner.push(stream.subarray(at, at + len));
          at += len;
        }
        expect(found).toBeDefined();
        expect(found!.snapshot.equals(wire)).toBe(true);
        expect(Buffer.concat([found!.rest, stream.subarray(at)]).equals(after)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('refuses a stream larger than its limit, and one with the wrong signature', () => {
    const gen = new TxnGen(prng(9), {});
    gen.take(50);
    const wire = wireBytes(gen);
    expect(() => new WireSnapshotScanner(100).push(wire)).toThrow(/over 100 bytes/);
    const bad = Buffer.from(wire);
    bad.write('BenWasHerf', bad.length - 10);
    expect(() => new WireSnapshotScanner(1 << 20).push(bad)).toThrow(/BenWasHerf/);
  });
});
