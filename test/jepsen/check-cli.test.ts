import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCheckCli } from '../../src/jepsen/check-cli.js';
import type { Op } from '../../src/jepsen/history.js';
import { DIST, skipWithout } from '../support/requirements.js';
import { REPO_ROOT } from '../support/servers.js';
import { HistoryBuilder } from './builder.js';

const dir = mkdtempSync(join(tmpdir(), 'check-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, ops: Op[] | string): string {
  const path = join(dir, name);
  writeFileSync(path, typeof ops === 'string' ? ops : ops.map((op) => JSON.stringify(op)).join('\n') + '\n');
  return path;
}

function run(...args: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = runCheckCli(args, (t) => (out += t), (t) => (err += t));
  return { code, out, err };
}

const v = (value: number, version: number) => ({ value, version });
const register = (readValue: number) =>
  new HistoryBuilder()
    .info(-1, 'kill', { node: 's1' })
    .invoke(1, 'write', 1, { key: 'x' }).ok(1, 'write', v(1, 0), { key: 'x' })
    .invoke(2, 'sync-read', undefined, { key: 'x' }).ok(2, 'sync-read', v(readValue, 0), { key: 'x' })
    .invoke(3, 'read', undefined, { key: 'x', session: '0x3' }).ok(3, 'read', v(1, 0), { key: 'x', session: '0x3' }).ops;

describe('check-cli', () => {
  it('exits 0 on a valid history and prints each checker\'s verdict', () => {
    const r = run('register', file('valid.jsonl', register(1)));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^register: VALID \(7 history entries, checked in [\d.]+ ms\)/);
    expect(r.out).toContain('linearizability: VALID');
    expect(r.out).toContain('monotonic-reads: VALID');
  });

  it('exits 1 on an invalid history and names the offending operations', () => {
    const r = run('register', file('invalid.jsonl', register(7)));
    expect(r.code).toBe(1);
    expect(r.out).toContain('register: INVALID');
    expect(r.out).toContain('[nonlinearizable] ops 3, 4');
  });

  it('exits 2 when the budget runs out', () => {
    const h = new HistoryBuilder();
    for (let p = 1; p <= 6; p++) h.invoke(p, 'write', p, { key: 'x' });
    for (let p = 1; p <= 6; p++) h.info(p, 'write', p, { key: 'x' });
    h.invoke(9, 'sync-read', undefined, { key: 'x' }).ok(9, 'sync-read', v(99, 2), { key: 'x' });
    const r = run('register', file('hard.jsonl', h.ops), '--max-states', '3', '--search-only');
    expect(r.code).toBe(2);
    expect(r.out).toContain('register: UNKNOWN');
    expect(r.out).toContain('budget exhausted: explored 3 states');
    // Without --search-only the register's versions decide it.
    const decided = run('register', file('hard.jsonl', h.ops), '--max-states', '3');
    expect(decided.code).toBe(1);
    expect(decided.out).toContain('decided by version order on "x" (search budget exhausted: explored 3 states)');
  });

  it('exits 3 with a clear message on bad usage or a malformed history', () => {
    expect(run('register').err).toContain('expected a workload and a history file, got 1 argument(s)');
    expect(run('nosuch', file('empty.jsonl', '')).err).toContain('unknown workload "nosuch": expected one of register, set, lock, session, queue, election');
    expect(run('register', join(dir, 'missing.jsonl')).code).toBe(3);
    const broken = run('register', file('broken.jsonl', '{"index":0,\n'));
    expect(broken.code).toBe(3);
    expect(broken.err).toContain('history line 1:');
    const orphan = run('set', file('orphan.jsonl', JSON.stringify({ index: 0, time: 1, process: 4, type: 'ok', f: 'add', value: { value: 1, seq: 0 } })));
    expect(orphan.err).toContain('history: op 0 completes process 4, which has nothing open');
    expect(run('register', file('scalar.jsonl', '5\n')).err).toContain('history entry at position 0: expected an object, got 5');
    expect(run('register', file('notype.jsonl', '{"index":0,"time":1,"process":1,"type":"done","f":"read"}\n')).err).toContain('type must be invoke, ok, fail or info');
    expect(run('register', file('x.jsonl', register(1)), '--max-states', '-1').err).toContain('--max-states needs a positive integer, got "-1"');
  });

  it.skipIf(skipWithout(DIST))('runs as node dist/src/jepsen/check-cli.js with the same exit codes', () => {
    const cli = join(REPO_ROOT, 'dist/src/jepsen/check-cli.js');
    const valid = spawnSync(process.execPath, [cli, 'register', file('valid2.jsonl', register(1))], { encoding: 'utf8' });
    expect(valid.status).toBe(0);
    expect(valid.stdout).toContain('register: VALID');
    const invalid = spawnSync(process.execPath, [cli, 'register', file('invalid2.jsonl', register(7))], { encoding: 'utf8' });
    expect(invalid.status).toBe(1);
  });
});
