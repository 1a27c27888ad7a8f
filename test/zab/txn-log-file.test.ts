import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { adler32 } from '../../src/zab/checksum.js';
import {
  encodeLogEntries,
  encodeLogEntry,
  encodeLogFileHeader,
  isValidSnapshotFile,
  listDataDir,
  logFileName,
  LogFormatError,
  logsToReplay,
  paddedFileSize,
  readLog,
  readLogFile,
  sortLogFiles,
  sortSnapshotFiles,
  streamLogFile,
  writeEncodedLogEntry,
  writeLogEntry,
  zxidFromFileName,
} from '../../src/zab/txn-log-file.js';
import { JuteWriter } from '../../src/jute/writer.js';
import { encodeTxnEntry } from '../../src/zab/txn-codec.js';
import { prng, TxnGen } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'zab-log-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sampleLog(n: number, seed = 1, padding = 0) {
  const gen = new TxnGen(prng(seed), { ttl: true, zxid0: 0x500000001 });
  const txns = gen.take(n);
  const entries = txns.map((txn, i) => (i % 3 === 0 ? { txn } : { txn, digest: { version: 2, treeDigest: BigInt(i) * 7919n } }));
  const body = encodeLogEntries(entries);
  const file = Buffer.concat([encodeLogFileHeader(), body, Buffer.alloc(padding)]);
  return { txns, entries, file };
}

describe('txn log file: writing', () => {
  it('frames an entry as crc long, length, payload, EOR', () => {
    const gen = new TxnGen(prng(3));
    const txn = gen.next();
    const entry = encodeLogEntry({ txn });
    const payload = encodeTxnEntry(txn);
    expect(entry.length).toBe(payload.length + 13);
    expect(entry.readUInt32BE(0)).toBe(0);
    expect(entry.readUInt32BE(4)).toBe(adler32(payload));
    expect(entry.readInt32BE(8)).toBe(payload.length);
    expect(entry.subarray(12, 12 + payload.length).equals(payload)).toBe(true);
    expect(entry[entry.length - 1]).toBe(0x42);
    expect(encodeLogFileHeader().toString('hex')).toBe('5a4b4c47' + '00000002' + '0000000000000000');
  });

  it('writes an already-encoded payload (a PROPOSAL\'s, digest included) as the same bytes as the txn it encodes', () => {
    const { entries } = sampleLog(30, 7);
    const fromTxns = new JuteWriter(64);
    const fromPayloads = new JuteWriter(64);
    for (const e of entries) {
      writeLogEntry(fromTxns, e);
      writeEncodedLogEntry(fromPayloads, encodeTxnEntry(e.txn, e.digest));
    }
    expect(fromPayloads.bytes().equals(fromTxns.bytes())).toBe(true);
    expect(readLog(Buffer.concat([encodeLogFileHeader(), fromPayloads.bytes()])).entries.map((e) => ({ txn: e.txn, ...(e.digest ? { digest: e.digest } : {}) }))).toEqual(entries);
  });

  it('grows files as FilePadding does', () => {
    const M = 64 * 1024 * 1024;
    expect(paddedFileSize(16, 0)).toBe(M); // first write: extend to 64 MiB
    expect(paddedFileSize(1000, M)).toBe(M); // far from the end: nothing
    expect(paddedFileSize(M - 4096, M)).toBe(2 * M); // within 4 KiB of the end
    expect(paddedFileSize(3 * M + 5, M)).toBe(4 * M); // past the end: next multiple
    expect(paddedFileSize(10, 0, 0)).toBe(0); // preallocation off
  });
});

describe('txn log file: reading', () => {
  it('reads back every entry, ending at padding, eof, from memory and from disk', async () => {
    for (const padding of [0, 5, 12, 100_000]) {
      const { entries, file } = sampleLog(300, padding + 1, padding);
      const r = readLog(file, { verifyPadding: true });
      expect(r.header).toEqual({ magic: 0x5a4b4c47, version: 2, dbid: 0n });
      expect(r.entries.map((e) => ({ txn: e.txn, ...(e.digest ? { digest: e.digest } : {}) }))).toEqual(entries);
      expect(r.end).toEqual({ kind: padding === 0 ? 'eof' : 'padding', offset: file.length - padding });
      let off = 16;
      for (const e of r.entries) {
        expect(e.offset).toBe(off);
        off += e.size;
      }
      const path = join(dir, logFileName(r.entries[0]!.txn.zxid));
      writeFileSync(path, file);
      const fromDisk = await readLogFile(path, { verifyPadding: true });
      expect(fromDisk).toEqual(r);
    }
  });

  it('streams big files in chunks without reading the padding', async () => {
    // Entries of ~3 KB straddle the 1 MiB read chunks; 16 MiB of zeros follow.
    const { txns, file } = sampleLog(3000, 99);
    const path = join(dir, 'log.big');
    writeFileSync(path, Buffer.concat([file, Buffer.alloc(16 * 1024 * 1024)]));
    const it = streamLogFile(path);
    let n = 0;
    for (;;) {
      const r = await it.next();
      if (r.done) {
        expect(r.value).toMatchObject({ kind: 'padding', offset: file.length });
        break;
      }
      for (const entry of r.value) expect(entry.txn).toEqual(txns[n++]);
    }
    expect(n).toBe(3000);
    rmSync(path);
  });

  it('skips (but still checks) the entries up to skipThrough', () => {
    const { file, txns } = sampleLog(30, 11);
    const all = readLog(file).entries;
    const skip = txns[19]!.zxid;
    const r = readLog(file, { skipThrough: skip });
    expect(r.entries.map((e) => e.txn)).toEqual(txns.slice(20));
    expect(r.entries[0]!.offset).toBe(all[20]!.offset);
    // A skipped entry with a bad checksum still ends the log there.
    const bad = Buffer.from(file);
    bad[all[5]!.offset + 12 + 25] ^= 0xff;
    const cut = readLog(bad, { skipThrough: skip });
    expect(cut.entries).toEqual([]);
    expect(cut.end).toMatchObject({ kind: 'torn', offset: all[5]!.offset });
  });

  it('reports a torn tail at the start of the last entry, for every truncation point', async () => {
    const { file, txns } = sampleLog(12, 7);
    const last = readLog(file).entries.at(-1)!;
    for (let cut = last.offset; cut < file.length; cut++) {
      const r = readLog(file.subarray(0, cut));
      expect(r.entries.length).toBe(11);
      expect(r.end.offset).toBe(last.offset);
      if (cut === last.offset) expect(r.end.kind).toBe('eof');
      // Every entry starts with 4 zero bytes (the crc is a long holding a 32-bit value): a tail of
      // only zeros is indistinguishable from preallocation, and ends the log at the same offset.
      else if (file.subarray(last.offset, cut).every((b) => b === 0)) expect(r.end.kind).toBe('padding');
      else expect(r.end.kind, `cut at ${cut}`).toBe('torn');
    }
    // The same through the file reader, for a few cuts.
    for (const cut of [last.offset + 7, last.offset + 12, file.length - 1]) {
      const path = join(dir, 'log.torn');
      writeFileSync(path, file.subarray(0, cut));
      const r = await readLogFile(path);
      expect(r.entries.map((e) => e.txn)).toEqual(txns.slice(0, 11));
      expect(r.end).toMatchObject({ kind: 'torn', offset: last.offset });
    }
    // A torn write followed by preallocated zeros: the zeros after a partial entry.
    const zeros = Buffer.concat([file.subarray(0, last.offset + 20), Buffer.alloc(4096)]);
    expect(readLog(zeros).end).toMatchObject({ kind: 'torn', offset: last.offset });
  });

  it('reports a corrupt entry where it starts, for every flipped byte of the last one', () => {
    const { file } = sampleLog(12, 8, 64);
    const entries = readLog(file).entries;
    const last = entries.at(-1)!;
    for (let i = last.offset; i < last.offset + last.size; i++) {
      for (const flip of [0x01, 0x80, 0xff]) {
        const bad = Buffer.from(file);
        bad[i]! ^= flip;
        const r = readLog(bad);
        expect(r.entries.length, `flip 0x${flip.toString(16)} at ${i - last.offset}`).toBe(11);
        expect(r.end.offset).toBe(last.offset);
        // A flip in the length can make it zero (then it reads as padding) or too long (torn).
        expect(['torn', 'padding']).toContain(r.end.kind);
      }
    }
    // The reasons are specific.
    const crc = Buffer.from(file);
    crc[last.offset + 7]! ^= 1;
    expect(readLog(crc).end.reason).toMatch(/checksum mismatch/);
    const eor = Buffer.from(file);
    eor[last.offset + last.size - 1] = 0x41;
    expect(readLog(eor).end.reason).toMatch(/end-of-record/);
    const neg = Buffer.from(file);
    neg.writeInt32BE(-1, last.offset + 8);
    expect(readLog(neg).end.reason).toMatch(/invalid entry length -1/);
    // A flip in the middle of the file stops reading there: what follows is not trusted.
    const mid = entries[5]!;
    const early = Buffer.from(file);
    early[mid.offset + 20]! ^= 0x10;
    expect(readLog(early).entries.length).toBe(5);
    expect(readLog(early).end).toMatchObject({ kind: 'torn', offset: mid.offset });
  });

  it('tells undecodable entries with good checksums apart from torn ones', () => {
    const { file } = sampleLog(3, 9);
    const last = readLog(file).entries.at(-1)!;
    const bad = Buffer.from(file);
    bad.writeInt32BE(99, last.offset + 12 + 28); // the header's type
    bad.writeUInt32BE(adler32(bad, last.offset + 12, last.offset + last.size - 1), last.offset + 4);
    expect(readLog(bad).end).toMatchObject({ kind: 'undecodable', offset: last.offset, reason: 'unsupported txn type 99' });
  });

  it('handles short and foreign files', () => {
    expect(readLog(Buffer.alloc(0)).end).toMatchObject({ kind: 'torn', offset: 0 });
    expect(readLog(encodeLogFileHeader().subarray(0, 10)).end).toMatchObject({ kind: 'torn', offset: 0 });
    expect(readLog(encodeLogFileHeader()).end).toEqual({ kind: 'eof', offset: 16 });
    expect(() => readLog(Buffer.from('ZKSN\0\0\0\x02\0\0\0\0\0\0\0\0'))).toThrow(LogFormatError);
    // Non-zero bytes after a zero length are reported, not read.
    const { file } = sampleLog(2, 10, 100);
    const odd = Buffer.from(file);
    odd[file.length - 10] = 1;
    expect(readLog(odd, { verifyPadding: true }).end).toEqual({ kind: 'padding', offset: file.length - 100, nonZeroAt: file.length - 10 });
  });
});

describe('data dir files', () => {
  it('names and parses files as Util does', () => {
    expect(logFileName(0x100000001)).toBe('log.100000001');
    expect(logFileName(0)).toBe('log.0');
    expect(zxidFromFileName('log.1ab', 'log')).toBe(0x1ab);
    expect(zxidFromFileName('log.1AB', 'log')).toBe(0x1ab);
    expect(zxidFromFileName('snapshot.1f.gz', 'snapshot')).toBe(0x1f);
    expect(zxidFromFileName('log.1f.bak', 'log')).toBe(0x1f);
    expect(zxidFromFileName('log.xyz', 'log')).toBe(-1);
    expect(zxidFromFileName('log', 'log')).toBe(-1);
    expect(zxidFromFileName('snapshot.5', 'log')).toBe(-1);
    expect(zxidFromFileName('log.ffffffffffffffff', 'log')).toBe(-1); // beyond a long
  });

  it('picks logs as FileTxnLog.getLogFiles does', () => {
    const logs = sortLogFiles(['log.10', 'log.1', 'log.30', 'log.20', 'snapshot.15', 'acceptedEpoch'].map((name) => ({ name })));
    expect(logs.map((f) => f.name)).toEqual(['log.1', 'log.10', 'log.20', 'log.30']);
    const pick = (z: number) => logsToReplay(logs, z).map((f) => f.name);
    expect(pick(0x15)).toEqual(['log.10', 'log.20', 'log.30']);
    expect(pick(0x10)).toEqual(['log.10', 'log.20', 'log.30']);
    expect(pick(0x30)).toEqual(['log.30']);
    expect(pick(0x100)).toEqual(['log.30']);
    expect(pick(0)).toEqual(['log.1', 'log.10', 'log.20', 'log.30']);
    expect(logsToReplay(sortLogFiles([{ name: 'log.5' }]), 2).map((f) => f.name)).toEqual(['log.5']);
    const snaps = sortSnapshotFiles(['snapshot.2', 'snapshot.10.gz', 'snapshot.3.snappy', 'snapshot.x'].map((name) => ({ name })));
    expect(snaps.map((f) => [f.name, f.zxid, f.compression])).toEqual([
      ['snapshot.10.gz', 16, 'gz'],
      ['snapshot.3.snappy', 3, 'snappy'],
      ['snapshot.2', 2, 'none'],
    ]);
  });

  it('lists a dir and checks snapshots cheaply as SnapStream.isValidSnapshot', async () => {
    const d = mkdtempSync(join(dir, 'v2-'));
    writeFileSync(join(d, 'log.3'), encodeLogFileHeader());
    writeFileSync(join(d, 'log.1'), encodeLogFileHeader());
    writeFileSync(join(d, 'snapshot.2'), Buffer.from('0123456789\0\0\0\x01/', 'latin1'));
    writeFileSync(join(d, 'snapshot.4'), Buffer.from('short'));
    writeFileSync(join(d, 'snapshot.5.gz'), Buffer.from([0x1f, 0x8b, 8]));
    writeFileSync(join(d, 'currentEpoch'), '0');
    const { logs, snapshots } = await listDataDir(d);
    expect(logs.map((f) => f.name)).toEqual(['log.1', 'log.3']);
    expect(snapshots.map((f) => f.name)).toEqual(['snapshot.5.gz', 'snapshot.4', 'snapshot.2']);
    expect(await Promise.all(snapshots.map((s) => isValidSnapshotFile(s.path)))).toEqual([true, false, true]);
  });
});
