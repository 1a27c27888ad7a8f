#!/usr/bin/env node
// What the write tail of a standalone zkts (fsync on) waits for: it paces setData at a fixed rate
// (open loop: latency from each request's due time, as `zkts bench write-paced`) and records, in
// the server, every write and fdatasync of the txn log and every GC pause (a preload that wraps
// node:fs's callback write/fdatasync, which only the log's batches use, and observes 'gc' entries).
// Then, for the requests over a threshold, it says what was under way during their life: a log
// batch slower than 2 ms, a GC pause, or neither; and what a model where a txn waits only for the
// log gives (from the start of the batch in flight when it arrived to the end of its own batch).
// It also times each setData in the server, from the bytes' arrival to its reply's write (the
// preload reads the xids of the server's sockets), to tell the server's share of the tail from
// the client's and the network's (the load generator shares the machine), and reports the host's
// CPU steal over the window.
// Usage: npm run build && node scripts/write-tail.mjs [rate=5000] [seconds=10] [threshold ms=5] [snapCount]
// (a small snapCount, 20000 say, makes snapshots and the log rolls that go with them frequent).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostCpu } from '../dist/src/bench/proc.js';
import { ManagedServer } from '../dist/src/bench/servers.js';
import { ZkClient } from '../dist/src/client/index.js';
import { OpCode } from '../dist/src/jute/index.js';

const rate = Number(process.argv[2] ?? 5000);
const seconds = Number(process.argv[3] ?? 10);
const threshold = Number(process.argv[4] ?? 5);
const snapCount = process.argv[5];
const SESSIONS = 16;
const KEYS = 10_000;
const dir = mkdtempSync(join(tmpdir(), 'zkts-tail-'));
const traceFile = join(dir, 'trace.json');
const now = () => performance.timeOrigin + performance.now();

const preload = join(dir, 'trace-log.mjs');
writeFileSync(
  preload,
  `import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { PerformanceObserver } from 'node:perf_hooks';
const at = () => performance.timeOrigin + performance.now();
const writes = [], syncs = [], gcs = [];
const write = fs.write, fdatasync = fs.fdatasync;
fs.write = function (fd, ...args) {
  const cb = args.pop(), t0 = at();
  return write.call(this, fd, ...args, (...r) => { writes.push([t0, at() - t0]); cb(...r); });
};
fs.fdatasync = function (fd, cb) {
  const t0 = at();
  return fdatasync.call(this, fd, (...r) => { syncs.push([t0, at() - t0]); cb(...r); });
};
syncBuiltinESMExports();
// Server residence of each setData (type 5): frames in from a client socket, replies out by xid.
import net from 'node:net';
const residence = [], arrived = new Map();
let sockets = 0;
const emit = net.Server.prototype.emit;
net.Server.prototype.emit = function (event, socket, ...rest) {
  if (event === 'connection') {
    const id = ++sockets;
    socket.traceId = id;
    socket.prependListener('data', (buf) => {
      const t = at();
      for (let o = 0; o + 12 <= buf.length; ) {
        const len = buf.readInt32BE(o);
        if (o + 4 + len > buf.length) break; // a frame cut across reads: not timed
        if (buf.readInt32BE(o + 8) === 5) arrived.set(id + ':' + buf.readInt32BE(o + 4), t);
        o += 4 + len;
      }
    });
  }
  return emit.call(this, event, socket, ...rest);
};
const socketWrite = net.Socket.prototype.write;
net.Socket.prototype.write = function (chunk, ...rest) {
  if (this.traceId !== undefined && Buffer.isBuffer(chunk)) {
    const t = at();
    for (let o = 0; o + 8 <= chunk.length; o += 4 + chunk.readInt32BE(o)) {
      const key = this.traceId + ':' + chunk.readInt32BE(o + 4);
      const t0 = arrived.get(key);
      if (t0 !== undefined) (arrived.delete(key), residence.push([t0, t - t0]));
    }
  }
  return socketWrite.call(this, chunk, ...rest);
};
new PerformanceObserver((list) => { for (const e of list.getEntries()) gcs.push([performance.timeOrigin + e.startTime, e.duration]); }).observe({ entryTypes: ['gc'] });
process.prependListener('SIGTERM', () => fs.writeFileSync(${JSON.stringify(traceFile)}, JSON.stringify({ writes, syncs, gcs, residence })));
`,
);
// The bench's own server launcher: a free port, a zoo.cfg with fsync on, the preload on node's command line.
const server = new ManagedServer('zkts', { tickTime: 2000, heap: '', zktsNodeArgs: ['--import', preload], baseDir: dir, keep: false, extraConfig: snapCount ? [`snapCount=${snapCount}`] : [] }, 'tail');
const connect = () => ZkClient.connect({ port: server.port });

/** setData requests due every 1/rate s, round-robin over the sessions, for `ms`; returns [due, latency] of those answered after `measureFrom`. */
function paced(clients, ms, measureFrom) {
  const data = Buffer.alloc(100, 1);
  const out = [];
  const begin = now();
  const interval = 1000 / rate;
  let k = 0;
  let inflight = 0;
  return new Promise((resolve) => {
    const pass = () => {
      const t = now();
      if (t - begin >= ms) {
        const wait = () => (inflight === 0 ? resolve(out) : setTimeout(wait, 5));
        return wait();
      }
      for (const due = Math.floor((t - begin) / interval); k <= due; k++) {
        const dueAt = begin + k * interval;
        const path = `/tail/k${k % KEYS}`;
        inflight++;
        clients[k % clients.length].requestCallback(OpCode.setData, (w) => (w.ustring(path), w.buffer(data), w.int(-1)), (e, r) => {
          inflight--;
          const done = now();
          if (!e && r.header.err === 0 && dueAt >= measureFrom) out.push([dueAt, done - dueAt]);
        });
      }
      setTimeout(pass, 1);
    };
    pass();
  });
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
try {
  await server.start();
  const admin = await connect();
  await admin.create('/tail', null);
  for (let i = 0; i < KEYS; i += 500) await Promise.all(Array.from({ length: 500 }, (_, j) => admin.create(`/tail/k${i + j}`, Buffer.alloc(100))));
  await admin.close();
  const clients = await Promise.all(Array.from({ length: SESSIONS }, connect));
  const start = now();
  const hostCpu = new HostCpu();
  setTimeout(() => hostCpu.reset(), 2000);
  const requests = await paced(clients, (seconds + 2) * 1000, start + 2000); // 2 s of warm-up first
  const host = hostCpu.pct();
  await Promise.all(clients.map((c) => c.close()));
  await server.stop();
  const { writes, syncs, gcs, residence } = JSON.parse(readFileSync(traceFile, 'utf8'));
  const from = Math.min(...requests.map((r) => r[0]));
  const to = Math.max(...requests.map((r) => r[0] + r[1]));
  // A batch is a write followed by its fdatasync: [start of the write, end of the fdatasync].
  const batches = [];
  for (const [t0, d] of writes) {
    const s = syncs.find((x) => x[0] >= t0 + d - 0.001 && x[0] - (t0 + d) < 50);
    if (s && t0 >= from - 100 && t0 <= to) batches.push([t0, s[0] + s[1], d, s[1]]);
  }
  batches.sort((a, b) => a[0] - b[0]);
  const slowBatches = batches.filter((b) => b[1] - b[0] > 2);
  const pauses = gcs.filter(([t]) => t >= from - 100 && t <= to);
  const overlaps = (list, s, e) => list.some(([a, b]) => a < e && b > s);
  const slow = requests.filter((r) => r[1] > threshold);
  let inBatch = 0;
  let inGc = 0;
  let gcOnly = 0;
  let neither = 0;
  const gcIntervals = pauses.map(([t, d]) => [t, t + d]);
  for (const [due, lat] of slow) {
    const b = overlaps(slowBatches, due, due + lat);
    const g = overlaps(gcIntervals, due, due + lat);
    if (b) inBatch++;
    if (g) inGc++;
    if (g && !b) gcOnly++;
    if (!b && !g) neither++;
  }
  // Log-only model: each txn of batch i arrived at the start of batch i-1 (the worst case).
  const model = [];
  for (let i = 1; i < batches.length; i++) model.push(batches[i][1] - batches[i - 1][0]);
  const lats = requests.map((r) => r[1]).sort((a, b) => a - b);
  const pct = (n) => `${((100 * n) / Math.max(1, slow.length)).toFixed(0)}%`;
  const fmt = (x) => x.toFixed(2);
  const writeMs = batches.map((b) => b[2]).sort((a, b) => a - b);
  const syncMs = batches.map((b) => b[3]).sort((a, b) => a - b);
  model.sort((a, b) => a - b);
  console.log(`setData at ${rate}/s for ${seconds} s, ${SESSIONS} sessions, fsync on: ${requests.length} answered`);
  console.log(`latency from due time: p50 ${fmt(quantile(lats, 0.5))} p99 ${fmt(quantile(lats, 0.99))} p999 ${fmt(quantile(lats, 0.999))} max ${fmt(lats[lats.length - 1])} ms`);
  const inServer = residence.filter(([t]) => t >= from && t <= to).map(([, d]) => d).sort((a, b) => a - b);
  console.log(`in the server (setData in to its reply out, ${inServer.length} timed): p50 ${fmt(quantile(inServer, 0.5))} p99 ${fmt(quantile(inServer, 0.99))} p999 ${fmt(quantile(inServer, 0.999))} max ${fmt(inServer[inServer.length - 1])} ms`);
  if (host) console.log(`host CPU over the run: steal ${host.stealPct.toFixed(1)}%, iowait ${host.iowaitPct.toFixed(1)}%`);
  console.log(`log batches: ${batches.length} (${(requests.length / batches.length).toFixed(1)} txns each); write p50 ${fmt(quantile(writeMs, 0.5))} p99 ${fmt(quantile(writeMs, 0.99))} ms; fdatasync p50 ${fmt(quantile(syncMs, 0.5))} p99 ${fmt(quantile(syncMs, 0.99))} max ${fmt(syncMs[syncMs.length - 1])} ms; ${slowBatches.length} batches over 2 ms`);
  console.log(`GC pauses in the window: ${pauses.length}, ${fmt(pauses.reduce((a, p) => a + p[1], 0))} ms in all, longest ${fmt(Math.max(0, ...pauses.map((p) => p[1])))} ms`);
  console.log(`requests over ${threshold} ms: ${slow.length}; during a batch over 2 ms: ${inBatch} (${pct(inBatch)}); during a GC pause: ${inGc} (${pct(inGc)}), of which without a slow batch: ${gcOnly}; neither: ${neither} (${pct(neither)})`);
  console.log(`log-only model (a txn waits from the start of the batch before its own to the end of its own): p99 ${fmt(quantile(model, 0.99))} p999 ${fmt(quantile(model, 0.999))} ms`);
  // The log idle while requests wait: the roll to a new file, or an event loop held up.
  let gap = [0, 0];
  for (let i = 1; i < batches.length; i++) if (batches[i][0] - batches[i - 1][1] > gap[1]) gap = [batches[i][0] - from, batches[i][0] - batches[i - 1][1]];
  console.log(`largest gap between two batches (no batch under way): ${fmt(gap[1])} ms, ${(gap[0] / 1000).toFixed(2)} s into the window`);
} finally {
  await server.destroy();
  rmSync(dir, { recursive: true, force: true });
}
