/**
 * Progress of a long recovery: what recover() reports while it loads a snapshot and replays logs,
 * and how the reporter shows it (a live line on a terminal, periodic log lines otherwise).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startServer, ZkClient } from '../../src/index.js';
import { recoveryProgress } from '../../src/server/progress.js';
import { recover } from '../../src/zab/index.js';

function fakeLog() {
  const lines: { obj: Record<string, unknown>; msg: string }[] = [];
  return { lines, info: (obj: object, msg: string) => lines.push({ obj: obj as Record<string, unknown>, msg }) };
}

describe('the progress reporter', () => {
  it('off a terminal: no line for a quick recovery, then one log line per interval with the figures', () => {
    let t = 0;
    const log = fakeLog();
    const p = recoveryProgress({ log, terminal: { isTTY: false, write: () => true }, logIntervalMs: 5000, now: () => t });
    t = 1000;
    p.snapshot('/d/version-2/snapshot.10', 10 * 1048576, 40 * 1048576);
    expect(log.lines).toEqual([]);
    t = 5000;
    p.snapshot('/d/version-2/snapshot.10', 20 * 1048576, 40 * 1048576);
    t = 6000;
    p.snapshot('/d/version-2/snapshot.10', 30 * 1048576, 40 * 1048576); // within the interval: nothing
    t = 10_500;
    p.replay('/d/version-2/log.20', 2, 3, 1234567);
    p.done();
    expect(log.lines.map((l) => l.msg)).toEqual(['loading snapshot snapshot.10: 50% (20 of 40 MiB)', 'replaying log log.20 (2 of 3): 1,234,567 txns applied']);
    expect(log.lines[0]!.obj).toMatchObject({ phase: 'snapshot', percent: 50, ms: 5000 });
    expect(log.lines[1]!.obj).toMatchObject({ phase: 'replay', log: 2, logs: 3, replayed: 1234567 });
  });

  it('on a terminal: one line redrawn in place, cleared when recovery ends', () => {
    let t = 0;
    const written: string[] = [];
    const log = fakeLog();
    const p = recoveryProgress({ log, terminal: { isTTY: true, write: (s: string) => written.push(s) }, now: () => t });
    p.replay('/d/log.1', 1, 1, 0);
    t = 50;
    p.replay('/d/log.1', 1, 1, 500); // redrawn at most every 200 ms
    t = 300;
    p.replay('/d/log.1', 1, 1, 900);
    p.done();
    expect(written).toEqual(['\r\x1b[2Kreplaying log log.1 (1 of 1): 0 txns applied', '\r\x1b[2Kreplaying log log.1 (1 of 1): 900 txns applied', '\r\x1b[2K']);
    expect(log.lines).toEqual([]);
  });

  it('a silenced logger (an embedded server\'s default) silences it on a terminal too', () => {
    const written: string[] = [];
    const p = recoveryProgress({ log: { ...fakeLog(), isLevelEnabled: () => false }, terminal: { isTTY: true, write: (s: string) => written.push(s) }, now: () => 1e6 });
    p.replay('/d/log.1', 1, 1, 0);
    p.done();
    expect(written).toEqual([]);
  });
});

describe('recover() reports its progress', () => {
  it('through a snapshot of more than 65,536 znodes and the logs after it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'zkts-progress-'));
    try {
      // Snapshots every 10,000..20,000 txns, each starting a new log file.
      const zk = await startServer({ dataDir, config: { snapCount: 20000, forceSync: 'no' } });
      const c = await ZkClient.connect({ host: zk.host, port: zk.port });
      for (let i = 0; i < 110; i++) {
        await Promise.all(Array.from({ length: 1000 }, (_, j) => c.create(`/n${i * 1000 + j}`, Buffer.from('v'))));
      }
      await c.close();
      await zk.stop();
      // Keep the first snapshot holding 70,000 znodes or more, and the logs after it.
      const snapDir = join(dataDir, 'version-2');
      const snaps = readdirSync(snapDir)
        .filter((n) => n.startsWith('snapshot.'))
        .map((n) => ({ n, zxid: parseInt(n.substring('snapshot.'.length), 16) }))
        .sort((a, b) => a.zxid - b.zxid);
      const keep = snaps.find((s) => s.zxid >= 70_000)!;
      expect(keep.zxid).toBeLessThan(110_000);
      for (const s of snaps) if (s.zxid > keep.zxid) rmSync(join(snapDir, s.n));

      const events: string[] = [];
      let lastBytes = 0;
      const recovered = await recover(snapDir, snapDir, {
        extendedTypesEnabled: false,
        progress: {
          snapshot(file, bytesRead, totalBytes) {
            expect(file).toBe(join(snapDir, keep.n));
            expect(bytesRead).toBeGreaterThan(lastBytes);
            expect(bytesRead).toBeLessThan(totalBytes);
            lastBytes = bytesRead;
            if (events.at(-1) !== 'snapshot') events.push('snapshot');
          },
          replay(file, index, files, replayed) {
            const e = `replay ${index}/${files}`;
            if (events.at(-1) !== e) events.push(e);
            expect(file).toMatch(/log\.[0-9a-f]+$/);
            expect(replayed).toBeLessThanOrEqual(110_001);
          },
          done: () => events.push('done'),
        },
      });
      expect(recovered.tree.nodeCount).toBeGreaterThan(110_000);
      expect(recovered.replayed).toBeGreaterThan(0);
      const files = Number(/replay 1\/(\d+)/.exec(events.join(' '))![1]);
      expect(events).toEqual(['snapshot', ...Array.from({ length: files }, (_, i) => `replay ${i + 1}/${files}`), 'done']);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});
