/**
 * The ZooKeeper C client's sample shell, `cli_mt` (Debian zookeeper-bin, libzookeeper-mt 3.8),
 * driven line by line through stdin against zkts and against Apache ZooKeeper 3.8.
 *
 * What cli_mt (threaded build) prints, all on stderr:
 *   create [+e|+s|+es] /p  -> "Creating [/p] node (mode: M)", then "[/p]: rc = 0" + "\tname = /p-real"
 *                            (data is always "new", ACL always world:anyone:cdrwa)
 *   get /p                 -> "/p: rc = N", " value_len = L", the value, "Stat:", the dumped stat; sets a data watch
 *   set /p data            -> "/p: rc = N Stat:" + the dumped stat
 *   ls /p | ls2 /p         -> "/p: rc = N", one "\tchild" line each, "time = T msec" (+ stat for ls2); sets a child watch
 *   delete /p              -> "/p: rc = N"
 *   exists /p              -> synchronous; silent on success, "Error -101 for /p" if absent; sets a watch either way
 *   addauth digest u:pw    -> silent
 *   quit                   -> "Quitting...", then zookeeper_close (the session is closed, ephemerals go at once)
 * Watches print "Watcher <TYPE>_EVENT state = CONNECTED_STATE for path /p".
 * There is no setAcl/getAcl in cli_mt, so the ACL case creates its node with node-zookeeper-client.
 * (cli_mt also has a one-shot `cmd:<command>` batch mode; stdin is used here so one session can run many commands.)
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_MT, CLI_MT_BIN, skipWithout } from '../support/requirements.js';
import { startServer, type RunningServer } from '../support/servers.js';
import { SERVER_KINDS, digestId, serverDependency } from './client-helpers.js';
import { ACL, Id, Nzc, Permission } from './nzc.js';

const ZOK = 0;
const ZNONODE = -101;
const ZNOAUTH = -102;
const ZNOCHILDRENFOREPHEMERALS = -108;
const ZNODEEXISTS = -110;
const ZNOTEMPTY = -111;

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface DumpedStat {
  czxid: bigint;
  mzxid: bigint;
  version: number;
  aversion: number;
  ephemeralOwner: bigint;
}

/** Parses cli_mt's dumpStat block (czxid/mzxid/ephemeralOwner in hex without 0x, versions in hex). */
function parseDump(text: string): DumpedStat {
  const m = /czxid=([0-9a-f]+)\n\tmtime=.*\n\tmzxid=([0-9a-f]+)\n\tversion=([0-9a-f]+)\taversion=([0-9a-f]+)\n\tephemeralOwner = ([0-9a-f]+)\n/.exec(text);
  if (!m) throw new Error(`no stat dump in ${JSON.stringify(text)}`);
  return {
    czxid: BigInt(`0x${m[1]}`),
    mzxid: BigInt(`0x${m[2]}`),
    version: parseInt(m[3]!, 16),
    aversion: parseInt(m[4]!, 16),
    ephemeralOwner: BigInt(`0x${m[5]}`),
  };
}

/** One interactive cli_mt process. Output is matched from a cursor so each command sees only its own lines. */
class CliMt {
  private out = '';
  private cursor = 0;
  private exited: Promise<number | null>;
  sessionId = 0n;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.on('data', (d: Buffer) => (this.out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (this.out += d.toString()));
    this.exited = new Promise((r) => child.once('exit', (code) => r(code)));
  }

  static async start(connectString: string): Promise<CliMt> {
    const cli = new CliMt(spawn(CLI_MT_BIN, [connectString], { stdio: ['pipe', 'pipe', 'pipe'] }));
    const m = await cli.waitFor(/Got a new session id: 0x([0-9a-f]+)\n/);
    cli.sessionId = BigInt(`0x${m[1]}`);
    return cli;
  }

  /** Everything printed so far (for failure messages and watch-event checks). */
  get output(): string {
    return this.out;
  }

  /** Waits until `re` matches the output after the cursor; moves the cursor past the match. */
  async waitFor(re: RegExp, timeoutMs = 10_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.out.slice(this.cursor));
      if (m) {
        this.cursor += m.index + m[0].length;
        return m;
      }
      if (Date.now() > deadline) throw new Error(`cli_mt: no match for ${re} in:\n${this.out.slice(this.cursor)}\n--- full output ---\n${this.out}`);
      if (this.child.exitCode !== null) throw new Error(`cli_mt exited (${this.child.exitCode}) waiting for ${re}:\n${this.out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Waits (without moving the cursor) until `re` matches anywhere in the output, e.g. a watch event. */
  async sawAnywhere(re: RegExp, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!re.test(this.out)) {
      if (Date.now() > deadline) throw new Error(`cli_mt: never printed ${re}:\n${this.out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  send(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  /** create [+flags] path -> {rc, name}. */
  async create(path: string, flags = ''): Promise<{ rc: number; name?: string }> {
    this.send(`create ${flags ? `+${flags} ` : ''}${path}`);
    const m = await this.waitFor(new RegExp(`\\[${escape(path)}\\]: rc = (?:(0)\\n\\tname = (\\S+)\\n|(-\\d+)\\n)`));
    return m[1] === '0' ? { rc: 0, name: m[2]! } : { rc: Number(m[3]) };
  }

  /** get path -> {rc, value, stat}. */
  async get(path: string): Promise<{ rc: number; value?: string; stat?: DumpedStat }> {
    this.send(`get ${path}`);
    const head = await this.waitFor(new RegExp(`\\n${escape(path)}: rc = (-?\\d+)\\n`));
    const rc = Number(head[1]);
    if (rc !== 0) {
      await this.waitFor(/Stat:\nnull\n/);
      return { rc };
    }
    const body = await this.waitFor(/^ value_len = (\d+)\n([\s\S]*?)\nStat:\n([\s\S]*?ephemeralOwner = [0-9a-f]+\n)/);
    const value = body[2]!;
    expect(value.length).toBe(Number(body[1]));
    return { rc, value, stat: parseDump(body[3]!) };
  }

  /** set path data -> {rc, stat}. */
  async set(path: string, data: string): Promise<{ rc: number; stat?: DumpedStat }> {
    this.send(`set ${path} ${data}`);
    const m = await this.waitFor(new RegExp(`${escape(path)}: rc = (-?\\d+) Stat:\\n(null\\n|[\\s\\S]*?ephemeralOwner = [0-9a-f]+\\n)`));
    const rc = Number(m[1]);
    return rc === 0 ? { rc, stat: parseDump(m[2]!) } : { rc };
  }

  /** ls path (or ls2) -> {rc, children, stat for ls2}. */
  async ls(path: string, two = false): Promise<{ rc: number; children: string[]; stat?: DumpedStat }> {
    this.send(`${two ? 'ls2' : 'ls'} ${path}`);
    const m = await this.waitFor(new RegExp(`\\n${escape(path)}: rc = (-?\\d+)\\n((?:\\t.*\\n)*)time = \\d+ msec\\n`));
    const children = m[2]!
      .split('\n')
      .filter((l) => l.startsWith('\t'))
      .map((l) => l.slice(1));
    const rc = Number(m[1]);
    if (!two) return { rc, children };
    const dump = await this.waitFor(/^(null\n|[\s\S]*?ephemeralOwner = [0-9a-f]+\n)/);
    return rc === 0 ? { rc, children, stat: parseDump(dump[1]!) } : { rc, children };
  }

  async delete(path: string): Promise<number> {
    this.send(`delete ${path}`);
    const m = await this.waitFor(new RegExp(`(?:^|\\n)${escape(path)}: rc = (-?\\d+)\\n`));
    return Number(m[1]);
  }

  /**
   * exists path -> rc. It is synchronous in cli_mt and silent on success, so a `sync /` is sent after
   * it: once the sync completes, any "Error N for path" line of the exists has been printed.
   */
  async exists(path: string): Promise<number> {
    const from = this.cursor;
    this.send(`exists ${path}`);
    this.send('sync /');
    await this.waitFor(/\[\/\]: rc = 0\n/);
    const err = new RegExp(`Error (-\\d+) for ${escape(path)}\\n`).exec(this.out.slice(from, this.cursor));
    return err ? Number(err[1]) : ZOK;
  }

  addauth(scheme: string, credentials: string): void {
    this.send(`addauth ${scheme} ${credentials}`);
  }

  /** quit: closes the session and exits. */
  async quit(): Promise<number | null> {
    this.send('quit');
    await this.waitFor(/Quitting\.\.\.\n/);
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

for (const kind of SERVER_KINDS) {
  describe.skipIf(skipWithout(CLI_MT, serverDependency(kind)))(`cli_mt (C client) against ${kind}`, () => {
    let server: RunningServer;
    const clis: CliMt[] = [];
    const open = async () => {
      const c = await CliMt.start(server.connectString);
      clis.push(c);
      return c;
    };

    beforeAll(async () => {
      server = await startServer(kind);
    }, 60_000);

    afterAll(async () => {
      for (const c of clis) c.kill();
      await server?.stop();
    });

    it('create, get, set, ls, ls2 and delete', async () => {
      const cli = await open();
      expect(await cli.create('/cm')).toEqual({ rc: ZOK, name: '/cm' });
      expect(await cli.create('/cm')).toEqual({ rc: ZNODEEXISTS });

      const g0 = await cli.get('/cm');
      expect(g0.rc).toBe(ZOK);
      expect(g0.value).toBe('new'); // cli_mt always creates with data "new"
      expect(g0.stat).toMatchObject({ version: 0, aversion: 0, ephemeralOwner: 0n });
      expect(g0.stat!.mzxid).toBe(g0.stat!.czxid);

      const s1 = await cli.set('/cm', 'hello world');
      expect(s1.rc).toBe(ZOK);
      expect(s1.stat).toMatchObject({ version: 1, czxid: g0.stat!.czxid });
      expect(s1.stat!.mzxid).toBeGreaterThan(g0.stat!.mzxid);

      const g1 = await cli.get('/cm');
      expect(g1).toMatchObject({ rc: ZOK, value: 'hello world' });
      expect(g1.stat).toEqual(s1.stat);

      expect((await cli.create('/cm/a')).rc).toBe(ZOK);
      expect((await cli.create('/cm/b')).rc).toBe(ZOK);
      const ls = await cli.ls('/cm');
      expect(ls.rc).toBe(ZOK);
      expect([...ls.children].sort()).toEqual(['a', 'b']);
      const ls2 = await cli.ls('/cm', true);
      expect(ls2.rc).toBe(ZOK);
      expect([...ls2.children].sort()).toEqual(['a', 'b']);
      expect(ls2.stat).toEqual(s1.stat);

      expect(await cli.delete('/cm')).toBe(ZNOTEMPTY);
      expect(await cli.delete('/cm/a')).toBe(ZOK);
      expect(await cli.delete('/cm/a')).toBe(ZNONODE);
      expect((await cli.get('/cm/a')).rc).toBe(ZNONODE);
      expect((await cli.set('/cm/a', 'x')).rc).toBe(ZNONODE);
      expect((await cli.ls('/cm/a')).rc).toBe(ZNONODE);
      expect((await cli.ls('/cm')).children).toEqual(['b']);
      expect(await cli.quit()).toBe(0);
    }, 60_000);

    it('exists, and the watches left by exists/get/ls fire', async () => {
      const cli = await open();
      const watched = (type: string, path: string) => new RegExp(`Watcher ${type}_EVENT state = CONNECTED_STATE for path ${escape(path)}\\n`);

      expect(await cli.exists('/cw')).toBe(ZNONODE); // leaves an exists watch on the missing node
      expect((await cli.create('/cw')).rc).toBe(ZOK);
      await cli.sawAnywhere(watched('CREATED', '/cw'));
      expect(await cli.exists('/cw')).toBe(ZOK);

      expect((await cli.get('/cw')).rc).toBe(ZOK); // data watch
      expect((await cli.set('/cw', 'changed')).rc).toBe(ZOK);
      await cli.sawAnywhere(watched('CHANGED', '/cw'));

      expect((await cli.ls('/cw')).rc).toBe(ZOK); // child watch
      expect((await cli.create('/cw/kid')).rc).toBe(ZOK);
      await cli.sawAnywhere(watched('CHILD', '/cw'));

      expect(await cli.exists('/cw/kid')).toBe(ZOK); // data watch via exists
      expect(await cli.delete('/cw/kid')).toBe(ZOK);
      await cli.sawAnywhere(watched('DELETED', '/cw/kid'));

      // Watches are one-shot: each fired exactly once.
      for (const [type, path] of [['CREATED', '/cw'], ['CHANGED', '/cw'], ['CHILD', '/cw'], ['DELETED', '/cw/kid']] as const) {
        expect(cli.output.match(new RegExp(watched(type, path).source, 'g'))?.length, `${type} ${path}`).toBe(1);
      }
      expect(await cli.quit()).toBe(0);
    }, 60_000);

    it('ephemeral and sequential nodes; ephemerals vanish when cli_mt quits', async () => {
      const a = await open();
      expect((await a.create('/ce')).rc).toBe(ZOK);
      expect(await a.create('/ce/e', 'e')).toEqual({ rc: ZOK, name: '/ce/e' });
      expect(await a.create('/ce/s-', 's')).toEqual({ rc: ZOK, name: '/ce/s-0000000001' });
      expect(await a.create('/ce/s-', 's')).toEqual({ rc: ZOK, name: '/ce/s-0000000002' });
      expect(await a.create('/ce/es-', 'es')).toEqual({ rc: ZOK, name: '/ce/es-0000000003' });
      expect(await a.create('/ce/e/child')).toEqual({ rc: ZNOCHILDRENFOREPHEMERALS });

      const eph = await a.get('/ce/e');
      expect(eph.stat!.ephemeralOwner).toBe(a.sessionId);
      const ephSeq = await a.get('/ce/es-0000000003');
      expect(ephSeq.stat!.ephemeralOwner).toBe(a.sessionId);
      const seq = await a.get('/ce/s-0000000001');
      expect(seq.stat!.ephemeralOwner).toBe(0n);
      expect([...(await a.ls('/ce')).children].sort()).toEqual(['e', 'es-0000000003', 's-0000000001', 's-0000000002']);

      const b = await open();
      expect(b.sessionId).not.toBe(a.sessionId);
      expect(await a.quit()).toBe(0);
      // quit closes the session (zookeeper_close): no waiting for a timeout.
      expect([...(await b.ls('/ce')).children].sort()).toEqual(['s-0000000001', 's-0000000002']);
      expect(await b.exists('/ce/e')).toBe(ZNONODE);
      expect(await b.create('/ce/s-', 's')).toEqual({ rc: ZOK, name: '/ce/s-0000000004' });
      expect(await b.quit()).toBe(0);
    }, 60_000);

    it('digest ACL: NoAuth until addauth digest with the right password', async () => {
      const setup = await Nzc.connect(server.connectString);
      try {
        await setup.create('/cacl', Buffer.from('top secret'), [new ACL(Permission.ALL, new Id('digest', digestId('alice', 'secret')))]);
      } finally {
        await setup.close();
      }

      const cli = await open();
      expect((await cli.get('/cacl')).rc).toBe(ZNOAUTH);
      expect((await cli.set('/cacl', 'x')).rc).toBe(ZNOAUTH);
      expect((await cli.create('/cacl/kid')).rc).toBe(ZNOAUTH);
      expect(await cli.exists('/cacl')).toBe(ZOK); // exists needs no permission

      cli.addauth('digest', 'alice:wrong'); // digest auth never fails; it just adds the id alice:<other hash>
      expect((await cli.get('/cacl')).rc).toBe(ZNOAUTH);

      cli.addauth('digest', 'alice:secret');
      expect(await cli.get('/cacl')).toMatchObject({ rc: ZOK, value: 'top secret' });
      const s = await cli.set('/cacl', 'declassified');
      expect(s.rc).toBe(ZOK);
      expect(s.stat!.version).toBe(1);
      expect(await cli.create('/cacl/kid')).toEqual({ rc: ZOK, name: '/cacl/kid' });
      expect(await cli.quit()).toBe(0);
    }, 60_000);
  });
}
