/**
 * The AdminServer over HTTP, compared with Apache ZooKeeper 3.8.0's own (JettyAdminServer): the
 * same commands at /commands, the same aliases, and for each command the same JSON keys, less the
 * fields zkts does not measure (LEFT_OUT, listed in the README); values where they are
 * deterministic. Secrets never appear in an answer.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZkClient } from '../../src/client/index.js';
import { DIST, JAVA, ZOOKEEPER, skipWithout } from '../support/requirements.js';
import { ADMIN_JARS, JETTY, httpGet } from '../support/operability.js';
import { REPO_ROOT, ZKTS_BIN, freePort, startServer, type RunningServer } from '../support/servers.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const skip = skipWithout(DIST, JAVA, ZOOKEEPER, JETTY);

type Answer = Record<string, unknown>;

/** Fields of ZooKeeper's answers that zkts does not measure, by command (README: "Admin server"). */
const LEFT_OUT: Record<string, { top?: string[]; serverStats?: string[]; connection?: string[] }> = {
  server_stats: { top: ['client_response'], serverStats: ['fsync_threshold_exceed_count', 'client_response_stats', 'auth_failed_count', 'non_mtlsremote_conn_count', 'non_mtlslocal_conn_count'] },
  stats: { top: ['client_response'], serverStats: ['fsync_threshold_exceed_count', 'client_response_stats', 'auth_failed_count', 'non_mtlsremote_conn_count', 'non_mtlslocal_conn_count'], connection: ['interest_ops'] },
  connections: { connection: ['interest_ops', 'last_operation'] },
  get_trace_mask: { top: ['tracemask'] },
  hash: { top: ['digests'] },
};

const ALIASES: Record<string, string[]> = {
  connection_stat_reset: ['crst'], configuration: ['conf', 'config'], connections: ['cons'], environment: ['env', 'envi'],
  get_trace_mask: ['gtmk'], initial_configuration: ['icfg'], is_read_only: ['isro'], last_snapshot: ['lsnp'], leader: ['lead'],
  monitor: ['mntr'], observer_connection_stat_reset: ['orst'], observers: ['obsr'], server_stats: ['srvr'], set_trace_mask: ['stmk'],
  stats: ['stat'], stat_reset: ['srst'], system_properties: ['sysp'], watches: ['wchc'], watches_by_path: ['wchp'], watch_summary: ['wchs'],
};

const without = (keys: string[], drop: string[] = []) => keys.filter((k) => !drop.includes(k)).sort();

describe.skipIf(skip)('admin server: every command of ZooKeeper 3.8.0 AdminServer', () => {
  let zk: RunningServer;
  let zkts: RunningServer;
  const adminPort = new Map<RunningServer, number>();
  const clients: ZkClient[] = [];

  const ask = async (s: RunningServer, command: string): Promise<Answer> => {
    const r = await httpGet(`http://127.0.0.1:${adminPort.get(s)}/commands/${command}`);
    expect(r.status, `${s.kind} ${command}`).toBe(200);
    expect(r.type).toMatch(/^application\/json/);
    return JSON.parse(r.body) as Answer;
  };

  beforeAll(async () => {
    const start = async (kind: 'zkts' | 'zookeeper') => {
      const port = await freePort();
      const s = await startServer(kind, {
        cfg: ['admin.enableServer=true', 'admin.serverAddress=127.0.0.1', `admin.serverPort=${port}`, 'ssl.keyStore.password=hunter2-in-zoo-cfg'],
        props: ['zookeeper.ssl.trustStore.password=hunter2-on-command-line'],
        classpath: ADMIN_JARS,
      });
      adminPort.set(s, port);
      // The same client history on both: a znode, an ephemeral child, a data, a child and an exists watch.
      const c = await ZkClient.connect({ port: s.port, timeout: 30_000 });
      clients.push(c);
      await c.create('/a', Buffer.from('x'));
      await c.create('/a/e', null, undefined, 1);
      await c.getData('/a', true);
      await c.getChildren('/a', true);
      await c.exists('/nope', true);
      return s;
    };
    [zk, zkts] = await Promise.all([start('zookeeper'), start('zkts')]);
  }, 180_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await Promise.all([zk?.stop(), zkts?.stop()]);
  });

  it('lists the same commands at /commands, as links', async () => {
    const list = async (s: RunningServer) => (await httpGet(`http://127.0.0.1:${adminPort.get(s)}/commands`)).body;
    const names = (html: string) => [...html.matchAll(/<a href="\/commands\/([a-z_]+)">\1<\/a>/g)].map((m) => m[1]);
    const [theirs, ours] = [names(await list(zk)), names(await list(zkts))];
    expect(theirs.length).toBeGreaterThan(20);
    expect(ours).toEqual(theirs);
  });

  it('answers each command with ZooKeeper JSON keys (less the fields zkts does not measure)', async () => {
    const commands = [...(await httpGet(`http://127.0.0.1:${adminPort.get(zk)}/commands`)).body.matchAll(/\/commands\/([a-z_]+)"/g)].map((m) => m[1]!);
    const skipNow = new Set(['stat_reset', 'connection_stat_reset', 'monitor', 'system_properties']);
    for (const command of commands.filter((c) => !skipNow.has(c))) {
      const [theirs, ours] = [await ask(zk, command), await ask(zkts, command)];
      const left = LEFT_OUT[command] ?? {};
      expect(Object.keys(ours).sort(), command).toEqual(without(Object.keys(theirs), left.top));
      expect(ours.command, command).toBe(command);
      if (theirs.server_stats) {
        const [t, o] = [theirs.server_stats as Answer, ours.server_stats as Answer];
        expect(Object.keys(o).sort(), `${command} server_stats`).toEqual(without(Object.keys(t), left.serverStats));
      }
      for (const list of ['connections', 'secure_connections'] as const) {
        if (!Array.isArray(theirs[list])) continue;
        const [t, o] = [theirs[list] as Answer[], ours[list] as Answer[]];
        expect(o.length, `${command} ${list}`).toBe(t.length);
        t.forEach((conn, i) => expect(Object.keys(o[i]!).sort(), `${command} ${list}[${i}]`).toEqual(without(Object.keys(conn), left.connection)));
      }
    }
  }, 60_000);

  it('agrees on the deterministic values', async () => {
    for (const command of ['is_read_only', 'observers', 'voting_view', 'zabstate', 'leader', 'watch_summary', 'ruok', 'dirs'] as const) {
      const [theirs, ours] = [await ask(zk, command), await ask(zkts, command)];
      if (command === 'dirs') {
        // Both hold one log (preallocated to 64 MiB) and one snapshot of the same tree.
        expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
        continue;
      }
      expect(ours, command).toEqual(theirs);
    }
    const values = async (s: RunningServer) => {
      const stats = await ask(s, 'server_stats');
      const watches = await ask(s, 'watches');
      const byPath = await ask(s, 'watches_by_path');
      const dump = await ask(s, 'dump');
      const conf = await ask(s, 'configuration');
      const snap = await ask(s, 'last_snapshot');
      return {
        node_count: stats.node_count,
        read_only: stats.read_only,
        server_state: (stats.server_stats as Answer).server_state,
        watched: Object.values(watches.session_id_to_watched_paths as Record<string, string[]>).map((p) => [...p].sort()),
        paths: Object.keys(byPath.path_to_session_ids as Answer).sort(),
        ephemerals: Object.values(dump.session_id_to_ephemeral_paths as Record<string, string[]>),
        tick_time: conf.tick_time,
        max_session_timeout: conf.max_session_timeout,
        // The snapshot written at start, of the empty dataDir.
        snapshot_zxid: snap.zxid,
      };
    };
    expect(await values(zkts)).toEqual(await values(zk));
  });

  it('answers errors as ZooKeeper does: unknown command, set_trace_mask without a mask', async () => {
    for (const command of ['bogus', 'set_trace_mask', 'set_trace_mask?traceMask=x']) {
      const [theirs, ours] = [await ask(zk, command), await ask(zkts, command)];
      expect(ours, command).toEqual(theirs);
    }
  });

  it('answers every alias as its command', async () => {
    for (const [primary, aliases] of Object.entries(ALIASES)) {
      if (primary === 'stat_reset' || primary === 'connection_stat_reset' || primary === 'observer_connection_stat_reset' || primary === 'set_trace_mask') continue;
      for (const alias of aliases) {
        const [theirs, ours] = [await ask(zk, alias), await ask(zkts, alias)];
        expect(theirs.command, alias).toBe(primary);
        expect(ours.command, alias).toBe(primary);
      }
    }
  });

  it('monitor: the keys zkts measures are ZooKeeper keys, mntr figures as JSON numbers', async () => {
    const [theirs, ours] = [await ask(zk, 'monitor'), await ask(zkts, 'mntr')];
    const missing = Object.keys(ours).filter((k) => !(k in theirs));
    expect(missing).toEqual([]);
    for (const k of ['znode_count', 'ephemerals_count', 'watch_count', 'global_sessions', 'num_alive_connections']) expect(ours[k], k).toBe(theirs[k]);
    expect(typeof ours.avg_latency).toBe('number');
  });

  it('never prints a secret: passwords in zoo.cfg or -D properties are masked', async () => {
    const all = await Promise.all(['initial_configuration', 'system_properties', 'configuration', 'environment'].map((c) => ask(zkts, c)));
    const text = JSON.stringify(all);
    expect(text).not.toContain('hunter2');
    const icfg = all[0]!.initial_configuration as string;
    expect(icfg).toMatch(/^ssl\.keyStore\.password=\*{8}$/m);
    expect(icfg).toContain(`admin.serverPort=${adminPort.get(zkts)}`);
    expect(all[1]!['zookeeper.ssl.trustStore.password']).toBe('********');
  });

  it('stat_reset and connection_stat_reset reset what srvr and cons report', async () => {
    await ask(zkts, 'stat_reset');
    await ask(zkts, 'connection_stat_reset');
    const stats = await ask(zkts, 'stats');
    expect((stats.server_stats as Answer).packets_received).toBe(0);
    expect((stats.connections as Answer[])[0]!.packets_received).toBe(0);
  });

  it('answers 404 off the command URL and 405 to a POST; a bad escape is an unknown command', async () => {
    const base = `http://127.0.0.1:${adminPort.get(zkts)}`;
    expect((await httpGet(`${base}/nothing`)).status).toBe(404);
    expect((await httpGet(`${base}/commands/ruok`, { method: 'POST' })).status).toBe(405);
    const bad = await httpGet(`${base}/commands/%E0%A4%A`);
    expect(bad.status).toBe(200);
    expect(JSON.parse(bad.body).error).toMatch(/^Unknown command/);
  });
});

describe.skipIf(skipWithout(DIST))('admin server: settings', () => {
  it('a port in use fails the start with a clear error, as ZooKeeper standalone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zkts-admin-'));
    const busy = await import('node:net').then(({ createServer }) => createServer().listen(0, '127.0.0.1'));
    await new Promise((r) => busy.once('listening', r));
    const port = (busy.address() as { port: number }).port;
    try {
      const cfg = join(dir, 'zoo.cfg');
      writeFileSync(cfg, [`dataDir=${join(dir, 'data')}`, 'clientPort=0', 'clientPortAddress=127.0.0.1', 'admin.enableServer=true', 'admin.serverAddress=127.0.0.1', `admin.serverPort=${port}`, ''].join('\n'));
      const r = spawnSync(process.execPath, [ZKTS_BIN, 'start', '--config', cfg], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 30_000 });
      expect(r.status).toBe(1);
      expect(r.stdout + r.stderr).toContain(`cannot start the AdminServer on 127.0.0.1:${port}`);
    } finally {
      busy.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is off unless admin.enableServer=true (a zkts default; ZooKeeper turns it on)', async () => {
    const { defaultConfig, parseZooCfg } = await import('../../src/server/config.js');
    expect(defaultConfig().adminEnableServer).toBe(false);
    const c = parseZooCfg('admin.enableServer=true\nadmin.serverPort=9090\nadmin.commandURL=/cmds/\nadmin.idleTimeout=5000\n', 'zoo.cfg');
    expect(c).toMatchObject({ adminEnableServer: true, adminServerPort: 9090, adminCommandUrl: '/cmds', adminIdleTimeout: 5000, adminServerAddress: '0.0.0.0' });
    expect(c.warnings).toEqual([]);
    expect(() => parseZooCfg('admin.commandURL=cmds\n', 'zoo.cfg')).toThrow(/must start with '\/'/);
  });

  it('admin.idleTimeout closes a silent connection', async () => {
    const port = await freePort();
    const zkts = await startServer('zkts', { cfg: ['admin.enableServer=true', 'admin.serverAddress=127.0.0.1', `admin.serverPort=${port}`, 'admin.idleTimeout=300'] });
    try {
      const { createConnection } = await import('node:net');
      const started = Date.now();
      const closedAfter = await new Promise<number>((resolve, reject) => {
        const s = createConnection({ port, host: '127.0.0.1' });
        s.on('error', reject);
        s.on('close', () => resolve(Date.now() - started));
      });
      // Closed by the server (not by this test) well before vitest's own timeout.
      expect(closedAfter).toBeGreaterThanOrEqual(250);
      expect(closedAfter).toBeLessThan(10_000);
    } finally {
      await zkts.stop();
    }
  });

  it('check-config prints the admin server and metrics settings start would use', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zkts-admin-'));
    try {
      const cfg = join(dir, 'zoo.cfg');
      writeFileSync(cfg, [`dataDir=${dir}`, 'admin.enableServer=true', 'admin.serverPort=9999', 'metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider', ''].join('\n'));
      const r = spawnSync(process.execPath, [ZKTS_BIN, 'check-config', '--config', cfg], { encoding: 'utf8', timeout: 30_000 });
      expect(r.status, r.stderr).toBe(0);
      const lines = r.stdout.split('\n');
      for (const l of ['admin.enableServer=true', 'admin.serverAddress=0.0.0.0', 'admin.serverPort=9999', 'admin.commandURL=/commands', 'zkts.console.writes=false', 'metricsProvider.httpPort=7000', 'metricsProvider.exportJvmInfo=true']) expect(lines).toContain(l);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
