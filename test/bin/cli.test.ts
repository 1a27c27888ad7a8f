/** The zkts command line as an operator meets it (the built CLI, dist/bin/zkts.js: `npm run build` first). */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIST, skipWithout } from '../support/requirements.js';
import { REPO_ROOT, ZKTS_BIN, freePort, startServer } from '../support/servers.js';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'zkts-cli-'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs zkts to completion (killed after timeoutMs: a server that starts when it should not is caught). */
function zkts(args: string[], timeoutMs = 20_000, env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(process.execPath, [ZKTS_BIN, ...args], { cwd: dir, encoding: 'utf8', timeout: timeoutMs, env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, output: r.stdout + r.stderr };
}

function writeCfg(name: string, lines: string[]): string {
  const file = join(dir, name);
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

async function waitForPort(port: number, exited: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !exited(); i++) {
    const ok = await new Promise<boolean>((res) => {
      const s = createConnection({ port, host: '127.0.0.1' }, () => {
        s.destroy();
        res(true);
      });
      s.once('error', () => res(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`zkts did not listen on ${port}`);
}

describe.skipIf(skipWithout(DIST))('zkts CLI', () => {
  it('--version prints the package version', () => {
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = zkts(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(version);
  });

  it('check-config prints the effective settings and every warning', () => {
    const cfg = writeCfg('check.cfg', ['tickTime=3000', 'dataDir=data', 'clientPort=2999', 'portUnification=true', 'frobnicate=1']);
    const r = zkts(['check-config', '--config', cfg, '-Dzookeeper.superUser=alice', '-Dcom.example.x=1']);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toContain('tickTime=3000');
    expect(lines).toContain(`dataDir=${join(dir, 'data')}`);
    expect(lines).toContain('clientPort=2999');
    expect(lines).toContain('clientPortAddress=(every interface)');
    expect(lines).toContain('minSessionTimeout=6000');
    expect(lines).toContain('superUser=alice');
    expect(lines.filter((l) => l.startsWith('warning: '))).toEqual([
      `warning: ${cfg}:4: portUnification: not supported: the election and quorum ports take TLS only with sslQuorum=true, plaintext only without`,
      `warning: ${cfg}:5: unknown key 'frobnicate' ignored`,
      'warning: -Dcom.example.x: unknown system property ignored',
    ]);
  });

  it('check-config exits 2 on an error, naming the file, line and key', () => {
    const r = zkts(['check-config', '--config', writeCfg('bad.cfg', ['clientPort=2181', 'tickTime=abc'])]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${join(dir, 'bad.cfg')}:2: tickTime must be an integer, got 'abc'`);
    expect(r.stdout).toBe('');
  });

  it('start refuses an ensemble config without a myid (exit 2), as ZooKeeper does', async () => {
    const port = await freePort();
    const cfg = writeCfg('ensemble.cfg', ['tickTime=2000', `dataDir=${join(dir, 'ens')}`, `clientPort=${port}`, 'server.1=127.0.0.1:2888:3888', 'server.2=127.0.0.2:2888:3888']);
    const r = zkts(['start', '--config', cfg]);
    expect(r.status).toBe(2);
    expect(r.output).toContain(`${join(dir, 'ens')}/myid file is missing`);
    expect(zkts(['check-config', '--config', cfg]).status).toBe(2);
  });

  it('numeric options are checked with a clear message', () => {
    const purge = zkts(['purge', '--config', writeCfg('purge.cfg', [`dataDir=${join(dir, 'purge')}`]), '-n', 'abc']);
    expect(purge.status).not.toBe(0);
    expect(purge.stderr).toContain("option '-n, --count <n>' argument 'abc' is invalid. expected an integer of at least 3.");
    expect(zkts(['purge', '-n', '2']).stderr).toContain("argument '2' is invalid");
    const start = zkts(['start', '--port', '99999']);
    expect(start.status).not.toBe(0);
    expect(start.stderr).toContain("option '-p, --port <port>' argument '99999' is invalid. expected an integer from 0 to 65535.");
  });

  it('the log level is set with --log-level (and a bad ZKTS_LOG_LEVEL is refused, not a crash)', async () => {
    const port = await freePort();
    const cfg = writeCfg('quiet.cfg', [`dataDir=${join(dir, 'quiet')}`, `clientPort=${port}`, 'clientPortAddress=127.0.0.1']);
    const child = spawn(process.execPath, [ZKTS_BIN, 'start', '--config', cfg, '--log-level', 'warn'], { cwd: dir });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    await waitForPort(port, () => child.exitCode !== null);
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(output).not.toContain('zkts listening'); // info
    expect(output).not.toContain('shutting down'); // info

    const bad = zkts(['start', '--log-level', 'loud']);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain("option '--log-level <level>' argument 'loud' is invalid");
    const badEnv = zkts(['start'], 20_000, { ...process.env, ZKTS_LOG_LEVEL: 'loud' });
    expect(badEnv.status).toBe(2);
    expect(badEnv.stderr).toContain("ZKTS_LOG_LEVEL 'loud' is not one of fatal, error, warn, info, debug, trace, silent");
  }, 60_000);

  it('a shutdown that fails exits non-zero', async () => {
    const server = await startServer('zkts');
    try {
      // The last snapshot at shutdown has nowhere to go.
      rmSync(join(server.dir, 'data', 'version-2'), { recursive: true, force: true });
      const exit = new Promise<number | null>((r) => server.process.once('exit', (code) => r(code)));
      server.process.kill('SIGTERM');
      expect(await exit).toBe(1);
      expect(server.output()).toContain('shutdown failed');
    } finally {
      await server.stop();
    }
  }, 60_000);
});
