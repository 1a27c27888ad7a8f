import { readdirSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CONFIG_PATH } from '../datatree/index.js';
import type { ServerConfig } from './config.js';
import type { Connection } from './connection.js';
import { parseConfigText } from './dynamic-config.js';
import { ZOOKEEPER_VERSION_LINE } from './four-letter.js';
import { maxFileDescriptorCount, openFileDescriptorCount } from './process-fds.js';
import { JavaDouble, javaDouble } from './server-stats.js';
import { hex, type ZkServer } from './zk-server.js';

export interface FourLetterContext {
  server: ZkServer;
  config: ServerConfig;
  /** The port secureClientPort listens on; undefined without one (conf says -1, as ZooKeeper). */
  secureClientPort?: number | undefined;
  connections: Iterable<Connection>;
  resetServerStats(): void;
  resetConnectionStats(): void;
}

/** Answers a four-letter word with ZooKeeper's text layout, honouring 4lw.commands.whitelist. */
export function answerFourLetter(word: string, ctx: FourLetterContext): string {
  const allowed = ctx.config.fourLetterWords;
  if (allowed !== '*' && !allowed.has(word)) return `${word} is not executed because it is not in the whitelist.\n`;
  const { server } = ctx;
  const tree = server.tree;
  const conns = [...ctx.connections];
  switch (word) {
    case 'ruok':
      return 'imok';
    case 'isro':
      return server.readOnly ? 'ro' : 'rw';
    case 'srvr':
      return serverSummary(ctx, conns, false);
    case 'stat':
      return serverSummary(ctx, conns, true);
    case 'envi':
      return [
        'Environment:',
        `zookeeper.version=${ZOOKEEPER_VERSION_LINE}`,
        `host.name=${hostname()}`,
        `java.version=node-${process.versions.node}`,
        'java.vendor=zkts',
        `java.home=${process.execPath}`,
        'java.class.path=',
        'java.library.path=',
        `java.io.tmpdir=${process.env.TMPDIR ?? '/tmp'}`,
        'java.compiler=<NA>',
        `os.name=${process.platform}`,
        `os.arch=${process.arch}`,
        `os.version=${process.version}`,
        `user.name=${process.env.USER ?? ''}`,
        `user.home=${process.env.HOME ?? ''}`,
        `user.dir=${process.cwd()}`,
        `os.memory.free=${Math.round((process.memoryUsage().heapTotal - process.memoryUsage().heapUsed) / 1048576)}MB`,
        `os.memory.max=${Math.round(process.memoryUsage().rss / 1048576)}MB`,
        `os.memory.total=${Math.round(process.memoryUsage().heapTotal / 1048576)}MB`,
        '',
      ].join('\n');
    case 'conf': {
      const c = ctx.config;
      const lines = [
        `clientPort=${c.clientPort}`,
        `secureClientPort=${ctx.secureClientPort ?? -1}`,
        `dataDir=${c.dataDir}/version-2`,
        `dataDirSize=${dirSize(c.dataDir)}`,
        `dataLogDir=${c.dataLogDir}/version-2`,
        `dataLogSize=${dirSize(c.dataLogDir)}`,
        `tickTime=${c.tickTime}`,
        `maxClientCnxns=${c.maxClientCnxns}`,
        `minSessionTimeout=${c.minSessionTimeout === -1 ? c.tickTime * 2 : c.minSessionTimeout}`,
        `maxSessionTimeout=${c.maxSessionTimeout === -1 ? c.tickTime * 20 : c.maxSessionTimeout}`,
        `clientPortListenBacklog=-1`,
        `serverId=${c.myid ?? 0}`,
      ];
      // An ensemble member ends with its config, printed without a final newline as ZooKeeper prints it.
      const quorum = quorumConf(ctx);
      return quorum ? [...lines, ...quorum].join('\n') : [...lines, ''].join('\n');
    }
    case 'mntr':
      return monitorValues(ctx).map(([k, v]) => `zk_${k}\t${v}`).join('\n') + '\n';
    case 'cons':
      return conns.map((c) => connectionLine(c, false)).join('') + '\n';
    case 'crst':
      ctx.resetConnectionStats();
      return 'Connection stats reset.\n';
    case 'srst':
      ctx.resetServerStats();
      return 'Server stats reset.\n';
    case 'wchs': {
      const watchers = new Set<object>();
      let total = 0;
      for (const table of [tree.dataWatches, tree.childWatches]) {
        for (const [w, paths] of table.watchers()) {
          watchers.add(w);
          total += paths.size;
        }
      }
      const paths = new Set<string>();
      for (const table of [tree.dataWatches, tree.childWatches]) for (const [p] of table.entries()) paths.add(p);
      return `${watchers.size} connections watching ${paths.size} paths\nTotal watches:${total}\n`;
    }
    case 'wchc': {
      const bySession = new Map<bigint, Set<string>>();
      for (const table of [tree.dataWatches, tree.childWatches]) {
        for (const [w, paths] of table.watchers()) {
          const id = (w as Connection).sessionId;
          const set = bySession.get(id) ?? new Set<string>();
          for (const p of paths) set.add(p);
          bySession.set(id, set);
        }
      }
      return [...bySession].map(([id, paths]) => `${hex(id)}\n${[...paths].map((p) => `\t${p}\n`).join('')}`).join('') + '\n';
    }
    case 'wchp': {
      const byPath = new Map<string, Set<bigint>>();
      for (const table of [tree.dataWatches, tree.childWatches]) {
        for (const [p, watchers] of table.entries()) {
          const set = byPath.get(p) ?? new Set<bigint>();
          for (const w of watchers.keys()) set.add((w as Connection).sessionId);
          byPath.set(p, set);
        }
      }
      return [...byPath].map(([p, ids]) => `${p}\n${[...ids].map((id) => `\t${hex(id)}\n`).join('')}`).join('') + '\n';
    }
    case 'dump': {
      const lines = ['SessionTracker dump:', `Session Sets (${server.sessions.size})/(${server.sessions.size}):`];
      for (const s of server.sessions.values()) lines.push(`${hex(s.id)}`);
      const eph = [...tree.ephemeralSessions()].filter(([, p]) => p.size > 0);
      lines.push('ephemeral nodes dump:', `Sessions with Ephemerals (${eph.length}):`);
      for (const [id, paths] of eph) {
        lines.push(`${hex(id)}:`);
        for (const p of paths) lines.push(`\t${p}`);
      }
      lines.push('Connections dump:', `Connections Sets (${conns.length})/(${conns.length}):`);
      return lines.join('\n') + '\n';
    }
    case 'dirs':
      return `datadir_size: ${dirSize(ctx.config.dataDir)}\nlogdir_size: ${dirSize(ctx.config.dataLogDir)}\n`;
    default:
      return `${word} is not supported by zkts.\n`;
  }
}

/**
 * mntr's figures (the admin server's monitor), without mntr's zk_ prefix: what zkts measures of
 * ZooKeeperServer.dumpMonitorValues and the ServerMetrics summaries.
 */
export function monitorValues(ctx: FourLetterContext): [string, string | number | JavaDouble][] {
  const { server } = ctx;
  const tree = server.tree;
  const s = server.stats;
  const values: [string, string | number | JavaDouble][] = [
    ['version', ZOOKEEPER_VERSION_LINE],
    ['server_state', server.mode],
    ['avg_latency', new JavaDouble(s.requestLatency.average)],
    ['max_latency', s.requestLatency.maximum],
    ['min_latency', s.requestLatency.minimum],
    ['packets_received', s.packetsReceived],
    ['packets_sent', s.packetsSent],
    ['num_alive_connections', [...ctx.connections].length],
    ['outstanding_requests', server.outstandingRequests],
    ['znode_count', znodeCount(server)],
    ['global_sessions', server.sessions.size],
    ['local_sessions', 0],
    ['uptime', Date.now() - server.startedAt],
    ['watch_count', tree.dataWatches.watchCount + tree.childWatches.watchCount],
    ['ephemerals_count', [...tree.ephemeralSessions()].reduce((n, [, p]) => n + p.size, 0)],
    ['approximate_data_size', server.tree.approximateDataSize],
  ];
  // Left out where /proc cannot tell (ZooKeeper leaves them out off Unix).
  const openFds = openFileDescriptorCount();
  if (openFds !== undefined) values.push(['open_file_descriptor_count', openFds]);
  const maxFds = maxFileDescriptorCount();
  if (maxFds !== undefined) values.push(['max_file_descriptor_count', maxFds]);
  // An ensemble member's rows: peer state, quorum size, elections, a leader's learners and proposals,
  // a follower's received proposals and commits (see Replication.monitor).
  if (server.replication) values.push(...server.replication.monitor());
  for (const summary of s.summaries()) values.push(...summary.values());
  return values;
}

/** A connection as ServerCnxn.dumpConnectionInfo prints it; `brief` (stat) stops after the packet counts. */
function connectionLine(c: Connection, brief: boolean): string {
  const lcxid = c.lastCxid >= 0 ? `,lcxid=0x${c.lastCxid.toString(16)}` : '';
  const minlat = c.minLatency === Infinity ? 0 : c.minLatency;
  return ` /${c.remoteAddress}:${c.remotePort}[${c.isOpen ? 1 : 0}](queued=0,recved=${c.packetsReceived},sent=${c.packetsSent}${
    !brief && c.sessionId !== 0n
      ? `,sid=${hex(c.sessionId)},lop=NA,est=${c.connectedAt},to=${c.sessionTimeout}${lcxid},lzxid=${hex(BigInt(c.lastZxid))},lresp=${c.lastResponseTime},llat=${c.lastLatency},minlat=${minlat},avglat=${c.avgLatency},maxlat=${c.maxLatency}`
      : ''
  })\n`;
}

function serverSummary(ctx: FourLetterContext, conns: Connection[], withClients: boolean): string {
  const s = ctx.server.stats.requestLatency;
  const lines = [`Zookeeper version: ${ZOOKEEPER_VERSION_LINE}`];
  if (withClients) {
    lines.push('Clients:');
    for (const c of conns) lines.push(connectionLine(c, true).trimEnd());
    lines.push('');
  }
  lines.push(
    `Latency min/avg/max: ${s.minimum}/${javaDouble(s.average)}/${s.maximum}`,
    `Received: ${ctx.server.stats.packetsReceived}`,
    `Sent: ${ctx.server.stats.packetsSent}`,
    `Connections: ${conns.length}`,
    `Outstanding: ${ctx.server.outstandingRequests}`,
    `Zxid: ${hex(BigInt(ctx.server.zxid))}`,
    `Mode: ${ctx.server.mode}`,
    `Node count: ${znodeCount(ctx.server)}`,
  );
  return lines.join('\n') + '\n';
}

/** ZooKeeper's node table holds the root under both "" and "/", and its counts include both. */
export function znodeCount(server: ZkServer): number {
  return server.tree.nodeCount + 1;
}

/**
 * conf's lines of an ensemble member (QuorumZooKeeperServer.dumpConf): limits, its ports and
 * learner type in the active config, and that config as /zookeeper/config shows it. Undefined for a
 * standalone server.
 */
function quorumConf(ctx: FourLetterContext): string[] | undefined {
  const { server, config: c } = ctx;
  const text = server.replication ? server.tree.getNode(CONFIG_PATH)?.data?.toString('utf8') : undefined;
  const me = text === undefined ? undefined : parseConfigText(text)?.members.find((m) => m.sid === c.myid);
  if (text === undefined || !me) return undefined;
  return [
    `initLimit=${c.initLimit}`,
    `syncLimit=${c.syncLimit}`,
    'electionAlg=3',
    `electionPort=${me.addresses.map((a) => a.electionPort).join('|')}`,
    `quorumPort=${me.addresses.map((a) => a.quorumPort).join('|')}`,
    `peerType=${me.role === 'observer' ? 1 : 0}`,
    'membership: ',
    text,
  ];
}

/** Bytes in a data directory's version-2 folder, as ZooKeeper's dirs and conf report them. */
export function dirSize(dataDir: string): number {
  const dir = join(dataDir, 'version-2');
  try {
    return readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
  } catch {
    return 0;
  }
}
