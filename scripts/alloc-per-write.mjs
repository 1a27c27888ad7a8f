#!/usr/bin/env node
// How many bytes a standalone zkts allocates on its heap per acknowledged setData (fsync on), and
// where: every allocation counts, including objects a scavenge frees at once, since their rate is
// what sets how often the young generation is collected (each collection pauses every request).
// It starts a server with V8's sampling heap profiler (objects collected by minor and major GCs
// kept in the profile), warms it up with `zkts bench write-paced`, samples during a second run,
// and divides by the txns that run committed (the zxid's advance, from reply headers).
// Usage: npm run build && node scripts/alloc-per-write.mjs [rate=5000] [seconds=10]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManagedServer } from '../dist/src/bench/servers.js';
import { ZkClient } from '../dist/src/client/index.js';

const rate = Number(process.argv[2] ?? 5000);
const seconds = Number(process.argv[3] ?? 10);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const zkts = join(root, 'dist/bin/zkts.js');
const dir = mkdtempSync(join(tmpdir(), 'zkts-alloc-'));
const profileFile = join(dir, 'heap.json');

// Sampling starts on SIGUSR2 and is written out on SIGTERM, before the server's own shutdown.
const preload = join(dir, 'sample-heap.cjs');
writeFileSync(
  preload,
  `const inspector = require('node:inspector');
const session = new inspector.Session();
session.connect();
session.post('HeapProfiler.enable');
process.on('SIGUSR2', () => session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true }));
process.prependListener('SIGTERM', () => session.post('HeapProfiler.stopSampling', (err, r) => { if (!err) require('node:fs').writeFileSync(${JSON.stringify(profileFile)}, JSON.stringify(r.profile)); }));
`,
);
// The bench's own server launcher: a free port, a zoo.cfg with fsync on, the preload on node's command line.
const server = new ManagedServer('zkts', { tickTime: 2000, heap: '', zktsNodeArgs: ['--require', preload], baseDir: dir, keep: false }, 'alloc');
/** The server's last zxid, from the header of a reply to a read. */
async function zxid() {
  const c = await ZkClient.connect({ port: server.port });
  try {
    await c.exists('/');
    return c.lastZxid;
  } finally {
    await c.close();
  }
}
const bench = (duration) => {
  const r = spawnSync(process.execPath, [zkts, 'bench', '-c', server.connectString, 'write-paced', '--rate', String(rate), '--duration', String(duration), '--warmup', '0', '--rounds', '1'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench failed: ${r.stderr}`);
};

try {
  await server.start();
  bench(3); // warm-up: JIT, buffers, the znodes the load writes
  const before = await zxid();
  server.child.kill('SIGUSR2');
  await new Promise((r) => setTimeout(r, 200));
  bench(seconds);
  const txns = (await zxid()) - before;
  await server.stop();
  const profile = JSON.parse(readFileSync(profileFile, 'utf8'));
  const bySite = new Map();
  let total = 0;
  const walk = (node) => {
    const f = node.callFrame;
    const site = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(dist|node:)/, '$1')}:${f.lineNumber + 1}`;
    total += node.selfSize;
    if (node.selfSize) bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
    node.children.forEach(walk);
  };
  walk(profile.head);
  console.log(`write-paced at ${rate}/s for ${seconds} s: ${txns} txns committed while sampling`);
  console.log(`heap allocated per txn: ${Math.round(total / txns)} B (${(total / 1e6).toFixed(1)} MB in all, sampled every 4 KiB)`);
  console.log('largest allocation sites, bytes per txn:');
  for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${String(Math.round(bytes / txns)).padStart(7)}  ${site}`);
} finally {
  await server.destroy();
  rmSync(dir, { recursive: true, force: true });
}
