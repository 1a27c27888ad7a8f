/**
 * An ensemble of one: standaloneEnabled=false with a single server line makes ZooKeeper run a
 * quorum peer whose quorum is itself. It elects itself, leads (srvr Mode: leader), takes writes,
 * and keeps them across a restart. (It never led: its own epoch acks were a quorum that nothing
 * acted on, since no learner's ACKEPOCH came to move it on.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DIST, skipWithout } from '../support/requirements.js';
import { fourLetter, freePort, ZKTS_BIN } from '../support/servers.js';
import { OPEN_ACL } from '../zab/helpers.js';
import { RawClient } from '../zab/raw-client.js';

let child: ChildProcess | undefined;
let dir: string | undefined;
afterEach(() => {
  child?.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function mode(port: number, timeoutMs: number): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = /^Mode: (\S+)/m.exec(await fourLetter(port, 'srvr').catch(() => ''))?.[1];
    if (m || Date.now() > deadline) return m;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(skipWithout(DIST))('an ensemble of one (standaloneEnabled=false, one server line)', () => {
  it('leads itself, takes writes and keeps them across a restart', async () => {
    dir = mkdtempSync(join(tmpdir(), 'zkts-one-'));
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data', 'myid'), '1\n');
    const [client, quorum, election] = [await freePort(), await freePort(), await freePort()];
    const cfg = join(dir, 'zoo.cfg');
    writeFileSync(cfg, [`tickTime=500`, 'initLimit=10', 'syncLimit=5', `dataDir=${join(dir, 'data')}`, `clientPort=${client}`, 'clientPortAddress=127.0.0.1', '4lw.commands.whitelist=*', 'standaloneEnabled=false', `server.1=127.0.0.1:${quorum}:${election}`, ''].join('\n'));
    let out = '';
    const start = () => {
      child = spawn(process.execPath, [ZKTS_BIN, 'start', '--config', cfg], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    };
    start();
    expect(await mode(client, 20_000), out).toBe('leader');
    const c = await RawClient.connect(client, 20_000);
    for (let i = 0; i < 5; i++) expect((await c.create(`/one${i}`, Buffer.from(`v${i}`), OPEN_ACL, 0)).err).toBe(0);
    expect(await c.sync('/')).toBe(0);
    c.drop();
    child!.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    start();
    expect(await mode(client, 20_000), out).toBe('leader');
    const again = await RawClient.connect(client, 20_000);
    expect((await again.getData('/one4')).data?.toString()).toBe('v4');
    again.drop();
  }, 60_000);
});
