#!/usr/bin/env node
// How much a snapshot of a large tree delays everything else on the event loop: builds a tree of
// N znodes (100 bytes each), then writes a snapshot of it in slices (as the server does) while a
// timer measures event-loop delay, which is what a read arriving during the snapshot waits extra.
// Usage: npm run build && node scripts/snapshot-latency.mjs [N=1000000]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { DataTree } from '../dist/src/datatree/index.js';
import { snapshotFileName, writeSnapshotFile } from '../dist/src/zab/index.js';

const N = Number(process.argv[2] ?? 1_000_000);
const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const tree = new DataTree();
let zxid = 0;
const data = Buffer.alloc(100, 7);
const t0 = performance.now();
for (let d = 0; zxid < N; d++) {
  tree.apply({ sessionId: 1n, cxid: 0, zxid: ++zxid, time: Date.now(), body: { type: 1, txn: { path: `/d${d}`, data, acl: OPEN, ephemeral: false, parentCVersion: -1 } } });
  for (let i = 0; i < 999 && zxid < N; i++) {
    tree.apply({ sessionId: 1n, cxid: 0, zxid: ++zxid, time: Date.now(), body: { type: 1, txn: { path: `/d${d}/n${i}`, data, acl: OPEN, ephemeral: false, parentCVersion: -1 } } });
  }
}
console.log(`built ${zxid} znodes in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

async function measure(label, work) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const start = performance.now();
  await work();
  const ms = performance.now() - start;
  h.disable();
  const q = (p) => (h.percentile(p) / 1e6).toFixed(2);
  console.log(`${label}: ${(ms / 1000).toFixed(2)} s; event-loop delay p50 ${q(50)} ms, p99 ${q(99)} ms, p99.9 ${q(99.9)} ms, max ${(h.max / 1e6).toFixed(2)} ms`);
}

const dir = mkdtempSync(join(tmpdir(), 'zkts-snaplat-'));
try {
  await measure('idle (2 s)', () => new Promise((r) => setTimeout(r, 2000)));
  await measure(`snapshot of ${zxid} znodes`, () => writeSnapshotFile((z) => join(dir, snapshotFileName(z)), tree, { fsync: true, chunkSize: Number(process.env.CHUNK ?? 262144) }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
