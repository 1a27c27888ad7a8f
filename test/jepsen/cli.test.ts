/** `zkts jepsen` refuses bad arguments with a clear message and exit code 2, before starting anything. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ZKTS_BIN } from '../support/servers.js';
import { DIST, skipWithout } from '../support/requirements.js';

const run = (...args: string[]) => spawnSync(process.execPath, [ZKTS_BIN, 'jepsen', ...args], { encoding: 'utf8', timeout: 30_000 });

describe.skipIf(skipWithout(DIST))('zkts jepsen arguments', () => {
  it('refuses an unknown nemesis, workload or server kind, naming the choices', () => {
    const n = run('--nemesis', 'kill,flood', '--out', '/nonexistent/never-created');
    expect(n.status).toBe(2);
    expect(n.stderr).toContain('--nemesis must be a comma-separated list of kill, kill-leader, pause');
    const w = run('--workload', 'queue');
    expect(w.status).toBe(2);
    expect(w.stderr).toContain('--workload must be one of register, set, lock, session, all');
    const s = run('--servers', 'etcd');
    expect(s.status).toBe(2);
    expect(s.stderr).toContain('--servers must be one of zkts, zookeeper, mix');
    expect(s.stderr).not.toContain('    at '); // a message, not a stack trace
  });

  it('accepts only 3 or 5 servers', () => {
    const r = run('--nodes', '4');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--nodes must be 3 or 5');
  });
});
