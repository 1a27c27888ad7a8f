/**
 * Apache ZooKeeper's own Java shell, `zkCli.sh`, in batch mode (one command per JVM) against zkts
 * and against Apache ZooKeeper 3.8 (the reference, proving the expectations themselves).
 *
 * Notes on batch mode that shape these tests:
 * - Data (get), stat blocks, ls and getAcl go to stdout; "Created /x" and error messages
 *   ("Node does not exist: /x", "Insufficient permission : /x") go to stderr; errors exit 1.
 * - zkCli exits with System.exit without closing its session, so an ephemeral node created in
 *   batch mode lives until the session *expires* (-timeout), not until the JVM exits.
 * - addauth cannot carry over to the next invocation, so ACL checks use world:anyone:r
 *   (set fails) and a digest ACL whose hash getAcl redacts to "alice:x" for a non-admin caller.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZKCLI, ZKCLI_SH, skipWithout } from '../support/requirements.js';
import { startServer, type RunningServer } from '../support/servers.js';
import { SERVER_KINDS, digestId, runProcess, serverDependency, sleep, type RunResult } from './client-helpers.js';

/** Session timeout for the zkCli that creates the ephemeral node (ZooKeeper allows 4 s..40 s at tickTime 2000). */
const EPHEMERAL_SESSION_MS = 6_000;

/** zkCli's stdout without the connection banner lines it prints in batch mode. */
function cleanStdout(s: string): string[] {
  return s
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l !== '' && !/^(Connecting to |WATCHER::|WatchedEvent )/.test(l));
}

/** zkCli's stderr without the SLF4J "no binding" noise. */
function cleanStderr(s: string): string[] {
  return s
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l !== '' && !l.startsWith('SLF4J:'));
}

/** Parses the "key = value" stat block printed by stat / get -s / set -s / ls -s. */
function parseStat(lines: string[]): Record<string, string> {
  const stat: Record<string, string> = {};
  for (const l of lines) {
    const m = /^(cZxid|ctime|mZxid|mtime|pZxid|cversion|dataVersion|aclVersion|ephemeralOwner|dataLength|numChildren) = (.*)$/.exec(l);
    if (m) stat[m[1]!] = m[2]!;
  }
  return stat;
}

/** Parses "[a, b, c]" printed by ls. */
function parseLs(lines: string[]): string[] {
  const line = lines.find((l) => /^\[.*\]$/.test(l));
  if (line === undefined) throw new Error(`no ls output in ${JSON.stringify(lines)}`);
  const inner = line.slice(1, -1).trim();
  return inner === '' ? [] : inner.split(', ');
}

/** Parses getAcl output: "'scheme,'id" followed by ": perms", one pair per ACL entry. */
function parseAcl(lines: string[]): Array<[string, string, string]> {
  const acl: Array<[string, string, string]> = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^'([^,]*),'(.*)$/.exec(lines[i]!);
    const p = /^: (\w+)$/.exec(lines[i + 1] ?? '');
    if (m && p) acl.push([m[1]!, m[2]!, p[1]!]);
  }
  return acl;
}

for (const kind of SERVER_KINDS) {
  describe.skipIf(skipWithout(ZKCLI, serverDependency(kind)))(`zkCli.sh batch mode against ${kind}`, () => {
    let server: RunningServer;
    let ephemeralCreatedAt = 0;

    async function zkcli(...args: string[]): Promise<RunResult & { out: string[]; err: string[] }> {
      return zkcliWithInput(undefined, ...args);
    }

    /** With input, zkCli runs interactively, reading one command per line from stdin (same session). */
    async function zkcliWithInput(input: string | undefined, ...args: string[]): Promise<RunResult & { out: string[]; err: string[] }> {
      const r = await runProcess(ZKCLI_SH, ['-server', server.connectString, ...args], { timeoutMs: 30_000, input });
      if (r.signal) throw new Error(`zkCli ${args.join(' ')} killed by ${r.signal}:\n${r.stdout}\n${r.stderr}`);
      return { ...r, out: cleanStdout(r.stdout), err: cleanStderr(r.stderr) };
    }

    beforeAll(async () => {
      server = await startServer(kind);
    }, 60_000);

    afterAll(async () => {
      await server?.stop();
    });

    it('create, get and set -s print the data and the stat block', async () => {
      const created = await zkcli('create', '/zkcli', 'hello');
      expect(created.code).toBe(0);
      expect(created.err).toContain('Created /zkcli');

      const got = await zkcli('get', '/zkcli');
      expect(got.code).toBe(0);
      expect(got.out).toEqual(['hello']);

      const set = await zkcli('set', '-s', '/zkcli', 'world');
      expect(set.code).toBe(0);
      const stat = parseStat(set.out);
      expect(stat).toMatchObject({ dataVersion: '1', dataLength: '5', numChildren: '0', cversion: '0', aclVersion: '0', ephemeralOwner: '0x0' });
      expect(BigInt(stat.mZxid!)).toBeGreaterThan(BigInt(stat.cZxid!));
      expect(stat.pZxid).toBe(stat.cZxid);
    }, 60_000);

    it('create -e makes an ephemeral node owned by the zkCli session', async () => {
      const created = await zkcli('-timeout', String(EPHEMERAL_SESSION_MS), 'create', '-e', '/zkcli/eph', 'e');
      ephemeralCreatedAt = Date.now();
      expect(created.code).toBe(0);
      expect(created.err).toContain('Created /zkcli/eph');

      // Batch mode exits without closing the session: the node outlives the JVM until the session expires.
      const stat = await zkcli('stat', '/zkcli/eph');
      expect(stat.code).toBe(0);
      const s = parseStat(stat.out);
      expect(s.ephemeralOwner).toMatch(/^0x[0-9a-f]+$/);
      expect(s.ephemeralOwner).not.toBe('0x0');
      expect(s.dataLength).toBe('1');
    }, 60_000);

    it('create -s appends a 10-digit sequence number taken from the parent cversion', async () => {
      const a = await zkcli('create', '-s', '/zkcli/seq-', 'a');
      expect(a.code).toBe(0);
      expect(a.err).toContain('Created /zkcli/seq-0000000001'); // eph was child #0
      const b = await zkcli('create', '-s', '/zkcli/seq-', 'b');
      expect(b.code).toBe(0);
      expect(b.err).toContain('Created /zkcli/seq-0000000002');

      const ls = await zkcli('ls', '/zkcli');
      expect(ls.code).toBe(0);
      // eph may or may not have expired yet on a slow machine; the rest is exact (zkCli sorts).
      expect(parseLs(ls.out).filter((c) => c !== 'eph')).toEqual(['seq-0000000001', 'seq-0000000002']);
    }, 60_000);

    it('setAcl world:anyone:r makes set fail with Insufficient permission; getAcl shows it', async () => {
      const setAcl = await zkcli('setAcl', '/zkcli/seq-0000000001', 'world:anyone:r');
      expect(setAcl.code).toBe(0);

      const set = await zkcli('set', '/zkcli/seq-0000000001', 'x');
      expect(set.code).toBe(1);
      expect(set.err).toContain('Insufficient permission : /zkcli/seq-0000000001');

      const getAcl = await zkcli('getAcl', '/zkcli/seq-0000000001');
      expect(getAcl.code).toBe(0);
      expect(parseAcl(getAcl.out)).toEqual([['world', 'anyone', 'r']]);
    }, 60_000);

    it('create with a digest ACL; getAcl redacts the digest for a caller without ADMIN', async () => {
      const id = digestId('alice', 'secret');
      expect(id).toBe('alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E='); // what DigestAuthenticationProvider prints for alice:secret
      const created = await zkcli('create', '/zkcli/secret', 's', `digest:${id}:cdrwa,world:anyone:r`);
      expect(created.code).toBe(0);
      expect(created.err).toContain('Created /zkcli/secret');

      const getAcl = await zkcli('getAcl', '/zkcli/secret');
      expect(getAcl.code).toBe(0);
      expect(parseAcl(getAcl.out)).toEqual([
        ['digest', 'alice:x', 'cdrwa'],
        ['world', 'anyone', 'r'],
      ]);
    }, 60_000);

    it('delete refuses a non-empty node and deletes a read-only child (DELETE is checked on the parent)', async () => {
      const parent = await zkcli('delete', '/zkcli');
      expect(parent.code).toBe(1);
      expect(parent.err).toContain('Node not empty: /zkcli');

      const child = await zkcli('delete', '/zkcli/seq-0000000001');
      expect(child.code).toBe(0);
      expect(child.err).toEqual([]);
    }, 60_000);

    it('the ephemeral node is gone once the zkCli session has expired', async () => {
      // ZooKeeper expires a session between timeout and timeout + tickTime after its last packet.
      const wait = ephemeralCreatedAt + EPHEMERAL_SESSION_MS + 4_000 - Date.now();
      if (wait > 0) await sleep(wait);
      const ls = await zkcli('ls', '/zkcli');
      expect(ls.code).toBe(0);
      expect(parseLs(ls.out)).toEqual(['secret', 'seq-0000000002']);
    }, 60_000);

    let listquota: Awaited<ReturnType<typeof zkcli>>;

    it('setquota -n and listquota', async () => {
      const set = await zkcli('setquota', '-n', '10', '/zkcli');
      expect(set.code).toBe(0);
      listquota = await zkcli('listquota', '/zkcli');
      expect(listquota.code).toBe(0);
      expect(listquota.err).toContain('absolute path is /zookeeper/quota/zkcli/zookeeper_limits');
      expect(listquota.out).toContain('Output quota for /zkcli count=10,bytes=-1=;byteHardLimit=-1;countHardLimit=-1');
    }, 60_000);

    it(`the server keeps quota usage in zookeeper_stats`, () => {
      // /zkcli ("world"), /zkcli/secret ("s"), /zkcli/seq-0000000002 ("b"): 3 nodes, 7 bytes, counted when the quota is set.
      expect(listquota.out).toContain('Output stat for /zkcli count=3,bytes=7');
    });

    let interactive: Awaited<ReturnType<typeof zkcli>>;

    it('interactive session on stdin: addauth digest grants write and unredacted getAcl', async () => {
      interactive = await zkcliWithInput(
        ['addauth digest alice:secret', 'set /zkcli/secret by-alice', 'get /zkcli/secret', 'getAcl /zkcli/secret', 'whoami', 'quit', ''].join('\n'),
      );
      expect(interactive.code).toBe(0);
      expect(interactive.err.filter((l) => /Insufficient permission|Exception/.test(l))).toEqual([]);
      expect(interactive.out).toContain('by-alice');
      // With ADMIN permission the digest is not redacted.
      expect(parseAcl(interactive.out)).toEqual([
        ['digest', digestId('alice', 'secret'), 'cdrwa'],
        ['world', 'anyone', 'r'],
      ]);
      expect(interactive.out).toContain('Auth scheme: User');
      expect(interactive.out).toContain('ip: 127.0.0.1');
    }, 60_000);

    it(`whoami shows the digest user name, not user:hash`, () => {
      expect(interactive.out).toContain('digest: alice');
    });
  });
}
