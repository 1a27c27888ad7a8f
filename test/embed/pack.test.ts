/**
 * zkts as a user installs it: `npm pack` of this repo, `npm install <tarball>` into a scratch
 * project in a temp dir, then the README's plain-Node example (the very code block), a TypeScript
 * file type-checked against the package's declarations, and `npx zkts start`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIST, skipWithout } from '../support/requirements.js';
import { fourLetter, freePort, REPO_ROOT } from '../support/servers.js';

/** The README block after `<!-- example: NAME -->`. */
function readmeExample(name: string): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const m = new RegExp(`<!-- example: ${name} -->\\s*\`\`\`\\w*\\n([\\s\\S]*?)\`\`\``).exec(readme);
  if (!m) throw new Error(`README.md has no example named ${name}`);
  return m[1]!;
}

function run(cmd: string, args: string[], cwd: string, timeoutMs = 180_000): { code: number | null; out: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' } });
  return { code: r.status, out: `${r.stdout}${r.stderr}${r.error ? String(r.error) : ''}` };
}

describe.skipIf(skipWithout(DIST))('the packed package, installed into a scratch project', () => {
  let scratch: string;
  let tarball: string;

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'zkts-pack-'));
    // The build is current (vitest's globalSetup checks dist/): pack it without running prepare again.
    const pack = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', scratch], REPO_ROOT);
    expect(pack.code, pack.out).toBe(0);
    const [info] = JSON.parse(pack.out.substring(pack.out.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    tarball = join(scratch, info!.filename);
    const files = info!.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/bin/zkts.js']));
    expect(files.filter((f) => !/^(package\.json|README\.md|dist\/(src|bin)\/.*\.(js|d\.ts))$/.test(f))).toEqual([]);
    writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
    const install = run('npm', ['install', '--prefer-offline', '--no-package-lock', tarball], scratch, 300_000);
    expect(install.code, install.out).toBe(0);
  }, 400_000);

  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('the README\'s plain-Node example runs: a standalone server, then an ensemble whose leader is killed', () => {
    writeFileSync(join(scratch, 'example.mjs'), readmeExample('plain-node'));
    const r = run(process.execPath, ['example.mjs'], scratch);
    expect(r.code, r.out).toBe(0);
    expect(r.out.trim().split('\n')).toEqual(['hello', 'new leader: true']);
  }, 200_000);

  it('the declarations type-check a strict TypeScript user of the package', () => {
    writeFileSync(
      join(scratch, 'check.ts'),
      [
        "import { startServer, startEnsemble, ZkClient, type EmbeddedServer, type Ensemble } from 'zkts';",
        "import { ZkClient as Client } from 'zkts/client';",
        'const zk: EmbeddedServer = await startServer({ port: 0, config: { tickTime: 500 } });',
        'const c: Client = await ZkClient.connect({ host: zk.host, port: zk.port });',
        'const ens: Ensemble = await startEnsemble({ servers: 3 });',
        'const id: number = await ens.settled();',
        'export { c, id };',
        '// @ts-expect-error: port is a number',
        "await startServer({ port: '2181' });",
      ].join('\n'),
    );
    const tsc = join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
    const r = run(process.execPath, [tsc, '--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--typeRoots', join(REPO_ROOT, 'node_modules/@types'), 'check.ts'], scratch);
    expect(r.code, r.out).toBe(0);
  }, 120_000);

  it('`npx zkts start` serves clients from the installed package and stops on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn('npx', ['zkts', 'start', '--port', String(port)], { cwd: scratch, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const deadline = Date.now() + 60_000;
      while (!out.includes('zkts listening') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
      expect(out).toContain('zkts listening');
      expect(await fourLetter(port, 'srvr')).toMatch(/^Zookeeper version: .*\n[\s\S]*Mode: standalone/);
      // npx runs zkts as a child process: signal the server (its pid is in its log lines); npx exits with its code.
      const serverPid = Number(/"pid":(\d+)/.exec(out)![1]);
      expect(serverPid).not.toBe(child.pid);
      process.kill(serverPid, 'SIGTERM');
      expect(await exited).toBe(0);
      expect(out).toContain('shutting down');
    } finally {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
    }
  }, 120_000);
});
