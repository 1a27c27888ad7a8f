/**
 * The commands of ZooKeeper 3.8's AdminServer (org.apache.zookeeper.server.admin.Commands): the
 * same names, aliases and JSON field names, computed from what the four-letter words report. A
 * field zkts does not measure is left out rather than filled in (README: "Admin server").
 */
import { readdirSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Connection } from '../connection.js';
import { dirSize, monitorValues, znodeCount, type FourLetterContext } from '../four-letter-commands.js';
import { ZOOKEEPER_VERSION_LINE } from '../four-letter.js';
import { JavaDouble } from '../server-stats.js';
import type { ZkServer } from '../zk-server.js';
import type { Json } from './json.js';

/** What a command reads; `server` is undefined while a quorum peer has no role (not serving). */
export interface AdminContext extends Omit<FourLetterContext, 'server'> {
  server: ZkServer | undefined;
  /** Where clients reach this server (the web console is one of them). */
  clientEndpoint: { host: string; port: number } | undefined;
}

type Fields = Record<string, Json | undefined>;

interface Command {
  /** The primary name first, as /commands lists it. */
  names: string[];
  /** ZooKeeper answers these only while a server is serving (CommandBase's serverRequired). */
  serverRequired: boolean;
  run(ctx: AdminContext, server: ZkServer, kwargs: URLSearchParams): Fields;
}

/** A command's answer: its fields, then "command" and "error" (CommandResponse.toMap). */
export type CommandResponse = Fields & { command: string; error: string | null };

const NOT_SERVING = 'This ZooKeeper instance is not currently serving requests';

/** Values of these keys are secrets: never printed by initial_configuration or system_properties. */
const SECRET_KEY = /passw(or)?d|secret|superDigest/i;

function redact(key: string, value: string): string {
  return SECRET_KEY.test(key) ? '********' : value;
}

function connectionInfo(c: Connection, brief: boolean): Fields {
  // interest_ops (a Java NIO selector's flags) and last_operation (not tracked) are left out.
  const info: Fields = {
    remote_socket_address: `${c.remoteAddress.includes(':') ? `[${c.remoteAddress}]` : c.remoteAddress}:${c.remotePort}`,
    outstanding_requests: c.outstandingRequests,
    packets_received: c.packetsReceived,
    packets_sent: c.packetsSent,
  };
  if (brief || c.sessionId === 0n) return info;
  return {
    ...info,
    session_id: c.sessionId,
    established: c.connectedAt,
    session_timeout: c.sessionTimeout,
    last_cxid: c.lastCxid,
    last_zxid: c.lastZxid,
    last_response_time: c.lastResponseTime,
    last_latency: c.lastLatency,
    min_latency: c.minLatency === Infinity ? 0 : c.minLatency,
    avg_latency: c.avgLatency,
    max_latency: c.maxLatency,
  };
}

function serverStats(ctx: AdminContext, server: ZkServer): Fields {
  const s = server.stats;
  // Not measured by zkts, left out: fsync_threshold_exceed_count, client_response_stats,
  // auth_failed_count, non_mtlsremote_conn_count, non_mtlslocal_conn_count.
  return {
    packets_sent: s.packetsSent,
    packets_received: s.packetsReceived,
    data_dir_size: dirSize(ctx.config.dataDir),
    log_dir_size: dirSize(ctx.config.dataLogDir),
    provider_null: false,
    server_state: server.mode,
    last_processed_zxid: server.zxid,
    outstanding_requests: server.outstandingRequests,
    avg_latency: new JavaDouble(s.requestLatency.average),
    max_latency: s.requestLatency.maximum,
    min_latency: s.requestLatency.minimum,
    num_alive_client_connections: [...ctx.connections].length,
    uptime: Date.now() - server.startedAt,
  };
}

function srvr(ctx: AdminContext, server: ZkServer): Fields {
  // client_response (response sizes) and a leader's proposal_stats are not measured.
  return {
    version: ZOOKEEPER_VERSION_LINE,
    read_only: false,
    server_stats: serverStats(ctx, server),
    node_count: znodeCount(server),
  };
}

/** Watches as the tree holds them: session -> paths, and path -> sessions. */
function watchTables(server: ZkServer): { bySession: Map<bigint, Set<string>>; byPath: Map<string, Set<bigint>>; watchers: number } {
  const bySession = new Map<bigint, Set<string>>();
  const byPath = new Map<string, Set<bigint>>();
  const watchers = new Set<object>();
  for (const table of [server.tree.dataWatches, server.tree.childWatches]) {
    for (const [path, byWatcher] of table.entries()) {
      for (const w of byWatcher.keys()) {
        watchers.add(w);
        const id = (w as Connection).sessionId;
        const paths = bySession.get(id) ?? new Set<string>();
        bySession.set(id, paths.add(path));
        const ids = byPath.get(path) ?? new Set<bigint>();
        byPath.set(path, ids.add(id));
      }
    }
  }
  return { bySession, byPath, watchers: watchers.size };
}

/** The newest complete snapshot in dataDir (zxid, and its file's mtime in seconds), as ZooKeeper's SnapshotInfo. */
function lastSnapshot(dataDir: string): { zxid: number; timestamp: number } | undefined {
  const dir = join(dataDir, 'version-2');
  let best: { zxid: number; file: string } | undefined;
  try {
    for (const f of readdirSync(dir)) {
      const m = /^snapshot\.([0-9a-f]+)$/.exec(f);
      if (!m) continue;
      const zxid = parseInt(m[1]!, 16);
      if (!best || zxid > best.zxid) best = { zxid, file: f };
    }
    if (!best) return undefined;
    return { zxid: best.zxid, timestamp: Math.floor(statSync(join(dir, best.file)).mtimeMs / 1000) };
  } catch {
    return undefined;
  }
}

/** This server's client listener as ZooKeeper prints it (host:port; 0.0.0.0 for every interface). */
function clientAddress(ctx: AdminContext): string {
  return voterAddress(ctx.config.clientPortAddress ?? '0.0.0.0', ctx.clientEndpoint?.port ?? ctx.config.clientPort);
}

function voterAddress(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

const COMMANDS: Command[] = [
  {
    names: ['connection_stat_reset', 'crst'],
    serverRequired: true,
    run: (ctx) => {
      ctx.resetConnectionStats();
      return {};
    },
  },
  {
    names: ['configuration', 'conf', 'config'],
    serverRequired: true,
    run: (ctx) => {
      const c = ctx.config;
      // ZooKeeperServer.getConf().toMap(): no secret is among these keys.
      return {
        client_port: c.clientPort,
        data_dir: join(c.dataDir, 'version-2'),
        data_log_dir: join(c.dataLogDir, 'version-2'),
        tick_time: c.tickTime,
        max_client_cnxns: c.maxClientCnxns,
        min_session_timeout: c.minSessionTimeout === -1 ? c.tickTime * 2 : c.minSessionTimeout,
        max_session_timeout: c.maxSessionTimeout === -1 ? c.tickTime * 20 : c.maxSessionTimeout,
        server_id: c.myid ?? 0,
        client_port_listen_backlog: -1,
      };
    },
  },
  {
    names: ['connections', 'cons'],
    serverRequired: true,
    run: (ctx) => ({ connections: [...ctx.connections].map((c) => connectionInfo(c, false)), secure_connections: [] }),
  },
  {
    names: ['dirs'],
    serverRequired: true,
    run: (ctx) => ({ datadir_size: dirSize(ctx.config.dataDir), logdir_size: dirSize(ctx.config.dataLogDir) }),
  },
  {
    names: ['dump'],
    serverRequired: true,
    run: (_ctx, server) => {
      const expiry: Record<string, Json> = {};
      for (const [time, ids] of server.sessionExpiryMap()) expiry[String(time)] = [...ids];
      const ephemerals: Record<string, Json> = {};
      for (const [id, paths] of server.tree.ephemeralSessions()) if (paths.size > 0) ephemerals[id.toString()] = [...paths];
      return { expiry_time_to_session_ids: expiry, session_id_to_ephemeral_paths: ephemerals };
    },
  },
  {
    names: ['environment', 'env', 'envi'],
    serverRequired: false,
    run: () => {
      // envi's keys, with Node's figures where the JVM's would be.
      const mem = process.memoryUsage();
      return {
        'zookeeper.version': ZOOKEEPER_VERSION_LINE,
        'host.name': hostname(),
        'java.version': `node-${process.versions.node}`,
        'java.vendor': 'zkts',
        'java.home': process.execPath,
        'java.class.path': '',
        'java.library.path': '',
        'java.io.tmpdir': process.env.TMPDIR ?? '/tmp',
        'java.compiler': '<NA>',
        'os.name': process.platform,
        'os.arch': process.arch,
        'os.version': process.version,
        'user.name': process.env.USER ?? '',
        'user.home': process.env.HOME ?? '',
        'user.dir': process.cwd(),
        'os.memory.free': `${Math.round((mem.heapTotal - mem.heapUsed) / 1048576)}MB`,
        'os.memory.max': `${Math.round(mem.rss / 1048576)}MB`,
        'os.memory.total': `${Math.round(mem.heapTotal / 1048576)}MB`,
      };
    },
  },
  // zkts has no trace log: there is no mask to report ("tracemask" left out) or to set.
  { names: ['get_trace_mask', 'gtmk'], serverRequired: false, run: () => ({}) },
  {
    names: ['hash'],
    serverRequired: true,
    // ZooKeeper's digest log (a digest every 128 txns) is not kept: "digests" is left out.
    run: () => ({}),
  },
  {
    names: ['initial_configuration', 'icfg'],
    serverRequired: true,
    run: (ctx) => {
      const text = ctx.config.configText;
      if (text === undefined) return {};
      // The zoo.cfg as read, but never a password (ZooKeeper prints ssl.*.password as written).
      const redacted = text.replace(/^(\s*)([^=:\s#!]+)(\s*[=:\s]\s*)(.*)$/gm, (line, sp: string, key: string, sep: string, value: string) =>
        SECRET_KEY.test(key) ? `${sp}${key}${sep}${redact(key, value)}` : line,
      );
      return { initial_configuration: redacted };
    },
  },
  { names: ['is_read_only', 'isro'], serverRequired: true, run: ({ server }) => ({ read_only: server?.readOnly === true }) },
  {
    names: ['last_snapshot', 'lsnp'],
    serverRequired: true,
    run: (ctx) => {
      const info = lastSnapshot(ctx.config.dataDir);
      // Without a snapshot, ZooKeeper prints Long.toHexString(-1).
      return { zxid: info ? info.zxid.toString(16) : 'ffffffffffffffff', timestamp: info?.timestamp ?? -1 };
    },
  },
  {
    names: ['leader', 'lead'],
    serverRequired: true,
    run: (ctx, server) => {
      const replication = server.replication;
      if (!replication) return { error: 'server is not initialized' };
      const leaderId = replication.role === 'leader' ? ctx.config.myid : replication.leaderId;
      const leader = ctx.config.servers.find((s) => s.id === leaderId);
      return {
        is_leader: replication.role === 'leader',
        leader_id: leaderId ?? -1,
        leader_ip: leader ? leader.host : '',
      };
    },
  },
  {
    names: ['monitor', 'mntr'],
    serverRequired: false,
    run: (ctx, server) => Object.fromEntries(monitorValues({ ...ctx, server })),
  },
  // zkts keeps no per-observer connection counters: nothing to reset.
  { names: ['observer_connection_stat_reset', 'orst'], serverRequired: true, run: () => ({}) },
  {
    names: ['observers', 'obsr'],
    serverRequired: true,
    // The leader's synced observers; of ZooKeeper's per-observer fields only the sid is kept.
    run: ({ server }) => {
      const sids = server?.replication?.syncedObservers?.() ?? [];
      return { synced_observers: sids.length, observers: sids.map((sid) => ({ sid })) };
    },
  },
  { names: ['ruok'], serverRequired: true, run: () => ({}) },
  {
    names: ['set_trace_mask', 'stmk'],
    serverRequired: false,
    run: (_ctx, _server, kwargs) => {
      const mask = kwargs.get('traceMask');
      if (mask === null) return { error: 'setTraceMask requires long traceMask argument' };
      if (!/^[+-]?\d+$/.test(mask)) return { error: `setTraceMask requires long traceMask argument, got ${mask}` };
      return { error: 'zkts has no trace log: the trace mask cannot be set' };
    },
  },
  { names: ['server_stats', 'srvr'], serverRequired: true, run: (ctx, server) => srvr(ctx, server) },
  {
    names: ['stats', 'stat'],
    serverRequired: true,
    run: (ctx, server) => ({ ...srvr(ctx, server), connections: [...ctx.connections].map((c) => connectionInfo(c, true)), secure_connections: [] }),
  },
  {
    names: ['stat_reset', 'srst'],
    serverRequired: true,
    run: (ctx) => {
      ctx.resetServerStats();
      return {};
    },
  },
  {
    names: ['system_properties', 'sysp'],
    serverRequired: false,
    run: (ctx) => {
      // Java's system properties have no Node counterpart but the -D properties zkts was given.
      const props = ctx.config.systemProperties;
      return Object.fromEntries(Object.keys(props).sort().map((k) => [k, redact(k, props[k]!)]));
    },
  },
  {
    names: ['voting_view'],
    serverRequired: true,
    run: (ctx, server) => {
      const view: Record<string, Json> = {};
      if (server.replication) {
        for (const s of ctx.config.servers) {
          if (s.role !== 'participant') continue;
          view[String(s.id)] = {
            server_addresses: [voterAddress(s.host, s.quorumPort)],
            election_addresses: [voterAddress(s.host, s.electionPort)],
            client_address: s.clientPort !== undefined ? voterAddress(s.clientAddress ?? '0.0.0.0', s.clientPort) : s.id === ctx.config.myid ? clientAddress(ctx) : '',
            learner_type: s.role,
          };
        }
      }
      return { current_config: view };
    },
  },
  {
    names: ['watches', 'wchc'],
    serverRequired: true,
    run: (_ctx, server) => {
      const out: Record<string, Json> = {};
      for (const [id, paths] of watchTables(server).bySession) out[id.toString()] = [...paths];
      return { session_id_to_watched_paths: out };
    },
  },
  {
    names: ['watches_by_path', 'wchp'],
    serverRequired: true,
    run: (_ctx, server) => {
      const out: Record<string, Json> = {};
      for (const [path, ids] of watchTables(server).byPath) out[path] = [...ids];
      return { path_to_session_ids: out };
    },
  },
  {
    names: ['watch_summary', 'wchs'],
    serverRequired: true,
    run: (_ctx, server) => {
      const t = watchTables(server);
      let total = 0;
      for (const ids of t.byPath.values()) total += ids.size;
      return { num_connections: t.watchers, num_paths: t.byPath.size, num_total_watches: total };
    },
  },
  {
    names: ['zabstate'],
    serverRequired: false,
    run: (ctx, server) => {
      if (!server.replication) return { voting: false, zabstate: '' };
      // A zkts peer serves clients only once synced with its leader: ZooKeeper's BROADCAST phase.
      // quorum_address and election_address (ZooKeeper's MultipleAddresses, with live reachability checks) are left out.
      const zxid = BigInt(server.zxid);
      return {
        myid: ctx.config.myid ?? 0,
        is_leader: server.replication.role === 'leader',
        client_address: clientAddress(ctx),
        // Whether this server is among the voting members (ZooKeeper's getVotingMembers): an observer is not.
        voting: server.replication.observer !== true,
        last_zxid: `0x${zxid.toString(16)}`,
        zab_epoch: Number(zxid >> 32n),
        zab_counter: Number(zxid & 0xffffffffn),
        zabstate: 'broadcast',
      };
    },
  },
];

const BY_NAME = new Map(COMMANDS.flatMap((c) => c.names.map((n) => [n, c] as const)));

/** The primary names, sorted, as the /commands page links them. */
export const PRIMARY_NAMES = COMMANDS.map((c) => c.names[0]!).sort();

/** Runs a command by any of its names (Commands.runCommand); errors are in the answer, never thrown. */
export function runCommand(name: string, ctx: AdminContext, kwargs: URLSearchParams): CommandResponse {
  const command = BY_NAME.get(name);
  if (!command) return { command: name, error: `Unknown command: ${name}` };
  const primary = command.names[0]!;
  const server = ctx.server;
  if (!server) {
    // Without a serving server, only the commands that need none answer (environment, ...).
    if (command.serverRequired || primary === 'monitor' || primary === 'zabstate') return { command: name, error: NOT_SERVING };
  }
  const fields = command.run(ctx, server!, kwargs);
  const { error, ...rest } = fields;
  return { ...rest, command: primary, error: (error as string | undefined) ?? null };
}
