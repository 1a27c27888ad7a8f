import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { keyNote, systemPropertyNote } from './config-notes.js';

/** A configuration mistake, naming the file, line and key. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export interface ServerSpec {
  id: number;
  host: string;
  quorumPort: number;
  electionPort: number;
  role: 'participant' | 'observer';
  clientAddress?: string;
  clientPort?: number;
}

export interface ServerConfig {
  tickTime: number;
  initLimit: number;
  syncLimit: number;
  dataDir: string;
  dataLogDir: string;
  clientPort: number;
  /** undefined: every interface, ZooKeeper's meaning of a zoo.cfg without clientPortAddress. */
  clientPortAddress: string | undefined;
  /** 0 means unlimited, as in ZooKeeper. */
  maxClientCnxns: number;
  minSessionTimeout: number;
  maxSessionTimeout: number;
  /** '*' or the enabled commands. */
  fourLetterWords: '*' | Set<string>;
  extendedTypesEnabled: boolean;
  juteMaxBuffer: number;
  /** admin.*: ZooKeeper's AdminServer over HTTP (src/server/admin). Off unless admin.enableServer=true (see README). */
  adminEnableServer: boolean;
  adminServerAddress: string;
  adminServerPort: number;
  adminCommandUrl: string;
  adminIdleTimeout: number;
  /** zkts.console.enabled: the web console at /console of the admin server; zkts.console.writes lets it change znodes. */
  consoleEnabled: boolean;
  consoleWrites: boolean;
  /** metricsProvider.className=...PrometheusMetricsProvider: /metrics on httpHost:httpPort (src/server/metrics). */
  prometheus: boolean;
  metricsHttpHost: string;
  metricsHttpPort: number;
  /** metricsProvider.exportJvmInfo: Node's process and runtime metrics stand for the JVM's. */
  metricsExportProcessInfo: boolean;
  /** The zoo.cfg text as read and the -D properties given, for initial_configuration and system_properties. */
  configText: string | undefined;
  systemProperties: Record<string, string>;
  containerCheckIntervalMs: number;
  superDigest: string | undefined;
  /** zookeeper.skipACL=yes: no ACL is checked (process-wide, as in ZooKeeper). */
  skipAcl: boolean;
  /** zookeeper.superUser and zookeeper.superUser.*: SASL users granted the super id, by key. */
  superUsers: Record<string, string>;
  jaasConfigFile: string | undefined;
  reconfigEnabled: boolean;
  readOnlyModeEnabled: boolean;
  servers: ServerSpec[];
  myid: number | undefined;
  /** With a single server line: run standalone (ZooKeeper's default) or as an ensemble of one. */
  standaloneEnabled: boolean;
  /** The file the server lines came from, when dynamicConfigFile names one. */
  dynamicConfigFile: string | undefined;
  /** The config's version: the hex suffix of the dynamic file's name (zoo.cfg.dynamic.<version>), else 0. */
  configVersion: number;
  /** The zoo.cfg read, where a reconfig writes the next config (as ZooKeeper rewrites its zoo.cfg). */
  configFile: string | undefined;
  snapCount: number;
  forceSync: boolean;
  /** Bytes a log file grows by at a time (preAllocSize is in KiB in zoo.cfg, as in ZooKeeper). */
  preAllocSize: number;
  autopurgeSnapRetainCount: number;
  autopurgePurgeInterval: number;
  /**
   * ZooKeeper's globalOutstandingLimit: above this many requests in the pipeline, connections with
   * a request of their own outstanding stop being read until theirs are answered.
   */
  globalOutstandingLimit: number;
  /**
   * Bytes a connection may leave unread (queued replies and watch events) before it is closed
   * (zkts.maxUnreadOutputBytes); undefined means 4 MiB plus jute.maxbuffer, room for the largest reply.
   */
  maxUnreadOutputBytes: number | undefined;
  /** secureClientPort: the TLS client port (src/server/tls.ts); undefined: none. */
  secureClientPort: number | undefined;
  /** undefined: every interface, as ZooKeeper binds a secureClientPort without secureClientPortAddress. */
  secureClientPortAddress: string | undefined;
  /** The ssl.* settings (zoo.cfg, or -Dzookeeper.ssl.*) by key; they hold passwords: never print the values. */
  ssl: Record<string, string>;
  /** An authProvider.N names X509AuthenticationProvider: the x509 scheme exists (ZooKeeper's ProviderRegistry). */
  x509AuthProvider: boolean;
  /** zookeeper.X509AuthenticationProvider.superUser: the certificate subject granted super. */
  x509SuperUser: string | undefined;
  /** sslQuorum: the election and quorum ports use TLS, with the ssl.quorum.* settings. */
  sslQuorum: boolean;
  /** serverCnxnFactory as written (ZooKeeper needs NettyServerCnxnFactory for TLS; zkts does not). */
  serverCnxnFactory: string | undefined;
  /** Keys we read but do not act on, and keys we do not know: reported as warnings at start. */
  warnings: string[];
  /** Where each key read was set ("zoo.cfg:12", "-Dzookeeper.skipACL"), by key. */
  sources: Record<string, string>;
}

export const DEFAULT_CLIENT_PORT = 2181;
/** Unread output a connection may leave beyond jute.maxbuffer when zkts.maxUnreadOutputBytes is not set. */
export const DEFAULT_UNREAD_OUTPUT_MARGIN = 4 * 1024 * 1024;
export const DEFAULT_JUTE_MAXBUFFER = 0xfffff;

export function defaultConfig(): ServerConfig {
  return {
    tickTime: 2000,
    initLimit: 10,
    syncLimit: 5,
    dataDir: resolve('zkts-data'),
    dataLogDir: resolve('zkts-data'),
    clientPort: DEFAULT_CLIENT_PORT,
    clientPortAddress: '127.0.0.1',
    maxClientCnxns: 60,
    minSessionTimeout: -1,
    maxSessionTimeout: -1,
    fourLetterWords: new Set(['srvr']),
    extendedTypesEnabled: false,
    juteMaxBuffer: DEFAULT_JUTE_MAXBUFFER,
    adminEnableServer: false,
    adminServerAddress: '0.0.0.0',
    adminServerPort: 8080,
    adminCommandUrl: '/commands',
    adminIdleTimeout: 30_000,
    consoleEnabled: true,
    consoleWrites: false,
    prometheus: false,
    metricsHttpHost: '0.0.0.0',
    metricsHttpPort: 7000,
    metricsExportProcessInfo: true,
    configText: undefined,
    systemProperties: {},
    containerCheckIntervalMs: 60_000,
    superDigest: undefined,
    skipAcl: false,
    superUsers: {},
    jaasConfigFile: undefined,
    reconfigEnabled: false,
    readOnlyModeEnabled: false,
    servers: [],
    myid: undefined,
    standaloneEnabled: true,
    dynamicConfigFile: undefined,
    configVersion: 0,
    configFile: undefined,
    snapCount: 100_000,
    forceSync: true,
    preAllocSize: 64 * 1024 * 1024,
    autopurgeSnapRetainCount: 3,
    autopurgePurgeInterval: 0,
    globalOutstandingLimit: 1000,
    maxUnreadOutputBytes: undefined,
    secureClientPort: undefined,
    secureClientPortAddress: undefined,
    ssl: {},
    x509AuthProvider: false,
    x509SuperUser: undefined,
    serverCnxnFactory: undefined,
    sslQuorum: false,
    warnings: [],
    sources: {},
  };
}

/** Negotiation bounds: ZooKeeper's defaults are 2 and 20 ticks. */
export function sessionTimeoutBounds(c: ServerConfig): { min: number; max: number } {
  return {
    min: c.minSessionTimeout === -1 ? c.tickTime * 2 : c.minSessionTimeout,
    max: c.maxSessionTimeout === -1 ? c.tickTime * 20 : c.maxSessionTimeout,
  };
}

type Setter = (c: ServerConfig, value: string, where: string, key: string) => void;

function intIn(min: number, max = Number.MAX_SAFE_INTEGER): (v: string, where: string, key: string) => number {
  return (v, where, key) => {
    if (!/^-?\d+$/.test(v)) throw new ConfigError(`${where}: ${key} must be an integer, got '${v}'`);
    const n = Number(v);
    if (n < min || n > max) throw new ConfigError(`${where}: ${key} must be between ${min} and ${max}, got ${n}`);
    return n;
  };
}

function boolValue(v: string, where: string, key: string): boolean {
  const l = v.toLowerCase();
  if (l === 'true' || l === 'yes') return true;
  if (l === 'false' || l === 'no') return false;
  throw new ConfigError(`${where}: ${key} must be true or false, got '${v}'`);
}

const positive = intIn(1);
export const PROMETHEUS_PROVIDER = 'org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider';
const port = intIn(0, 65535);

/** Keys of zoo.cfg (and the equivalent zookeeper.* system properties) that zkts understands. */
const SETTERS: Record<string, Setter> = {
  tickTime: (c, v, w, k) => (c.tickTime = positive(v, w, k)),
  initLimit: (c, v, w, k) => (c.initLimit = positive(v, w, k)),
  syncLimit: (c, v, w, k) => (c.syncLimit = positive(v, w, k)),
  dataDir: (c, v) => (c.dataDir = v),
  dataLogDir: (c, v) => (c.dataLogDir = v),
  clientPort: (c, v, w, k) => (c.clientPort = port(v, w, k)),
  clientPortAddress: (c, v) => (c.clientPortAddress = v),
  maxClientCnxns: (c, v, w, k) => (c.maxClientCnxns = intIn(0)(v, w, k)),
  minSessionTimeout: (c, v, w, k) => (c.minSessionTimeout = intIn(-1)(v, w, k)),
  maxSessionTimeout: (c, v, w, k) => (c.maxSessionTimeout = intIn(-1)(v, w, k)),
  '4lw.commands.whitelist': (c, v) => {
    const words = v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    c.fourLetterWords = words.includes('*') ? '*' : new Set(words);
  },
  extendedTypesEnabled: (c, v, w, k) => (c.extendedTypesEnabled = boolValue(v, w, k)),
  'jute.maxbuffer': (c, v, w, k) => (c.juteMaxBuffer = positive(v, w, k)),
  'admin.enableServer': (c, v, w, k) => (c.adminEnableServer = boolValue(v, w, k)),
  'admin.serverAddress': (c, v) => (c.adminServerAddress = v),
  'admin.serverPort': (c, v, w, k) => (c.adminServerPort = port(v, w, k)),
  'admin.commandURL': (c, v, w, k) => {
    if (!v.startsWith('/')) throw new ConfigError(`${w}: ${k} must start with '/', got '${v}'`);
    c.adminCommandUrl = v.replace(/\/+$/, '') || '/';
  },
  'admin.idleTimeout': (c, v, w, k) => (c.adminIdleTimeout = positive(v, w, k)),
  'zkts.console.enabled': (c, v, w, k) => (c.consoleEnabled = boolValue(v, w, k)),
  'zkts.console.writes': (c, v, w, k) => (c.consoleWrites = boolValue(v, w, k)),
  'metricsProvider.className': (c, v, w, k) => {
    c.prometheus = v === PROMETHEUS_PROVIDER;
    const note = keyNote(k, v);
    if (note) warnOnce(c, w, k, note);
  },
  'metricsProvider.httpHost': (c, v) => (c.metricsHttpHost = v),
  'metricsProvider.httpPort': (c, v, w, k) => (c.metricsHttpPort = port(v, w, k)),
  'metricsProvider.exportJvmInfo': (c, v, w, k) => (c.metricsExportProcessInfo = boolValue(v, w, k)),
  'znode.container.checkIntervalMs': (c, v, w, k) => (c.containerCheckIntervalMs = positive(v, w, k)),
  'DigestAuthenticationProvider.superDigest': (c, v) => (c.superDigest = v),
  // ZooKeeper skips ACLs only for the exact value "yes" (ZooKeeperServer.skipACL).
  skipACL: (c, v, w, k) => {
    c.skipAcl = v === 'yes';
    if (v !== 'yes' && v !== 'no') warnOnce(c, w, k, `only 'yes' turns ACL checks off, as in ZooKeeper: ACLs are checked`);
  },
  superUser: (c, v, _w, k) => (c.superUsers = { ...c.superUsers, [k]: v }),
  reconfigEnabled: (c, v, w, k) => (c.reconfigEnabled = boolValue(v, w, k)),
  standaloneEnabled: (c, v, w, k) => (c.standaloneEnabled = boolValue(v, w, k)),
  dynamicConfigFile: (c, v) => readDynamicConfig(c, v),
  snapCount: (c, v, w, k) => (c.snapCount = positive(v, w, k)),
  forceSync: (c, v, w, k) => (c.forceSync = boolValue(v, w, k)),
  preAllocSize: (c, v, w, k) => (c.preAllocSize = positive(v, w, k) * 1024),
  'autopurge.snapRetainCount': (c, v, w, k) => (c.autopurgeSnapRetainCount = intIn(3)(v, w, k)),
  'autopurge.purgeInterval': (c, v, w, k) => (c.autopurgePurgeInterval = intIn(0)(v, w, k)),
  globalOutstandingLimit: (c, v, w, k) => (c.globalOutstandingLimit = intIn(0)(v, w, k)),
  'zkts.maxUnreadOutputBytes': (c, v, w, k) => (c.maxUnreadOutputBytes = positive(v, w, k)),
  secureClientPort: (c, v, w, k) => (c.secureClientPort = port(v, w, k)),
  secureClientPortAddress: (c, v) => (c.secureClientPortAddress = v),
  ssl: (c, v, w, k) => {
    c.ssl = { ...c.ssl, [k]: v };
    const note = keyNote(k, v);
    if (note) warnOnce(c, w, k, note);
  },
  authProvider: (c, v, w, k) => {
    if (v.trim() === X509_PROVIDER) c.x509AuthProvider = true;
    else {
      const note = keyNote(k, v);
      if (note) warnOnce(c, w, k, note);
    }
  },
  'X509AuthenticationProvider.superUser': (c, v) => (c.x509SuperUser = v),
  serverCnxnFactory: (c, v) => (c.serverCnxnFactory = v.trim()),
  sslQuorum: (c, v, w, k) => (c.sslQuorum = boolValue(v, w, k)),
  // ZooKeeper's RequestThrottler (off at 0, its default) is not implemented: say so rather than pretend.
  request_throttle_max_requests: (c, v, w, k) => {
    if (intIn(0)(v, w, k) > 0) c.warnings.push(`${w}: ${k} (ZooKeeper's RequestThrottler) is not supported by zkts and is ignored; globalOutstandingLimit throttles reading instead`);
  },
};

export const X509_PROVIDER = 'org.apache.zookeeper.server.auth.X509AuthenticationProvider';

/**
 * The setter of a key: superUser.<anything> is a super user as superUser is (ZooKeeper's
 * isSaslSuperUser); ssl.* (ssl.quorum.* too) and authProvider.* have one setter each.
 */
function setterOf(key: string): Setter | undefined {
  if (SETTERS[key]) return SETTERS[key];
  if (key.startsWith('superUser.')) return SETTERS.superUser;
  if (key.startsWith('ssl.')) return SETTERS.ssl;
  if (key.startsWith('authProvider.')) return SETTERS.authProvider;
  return undefined;
}

/** Adds the warning of a key zkts does not act on; a note shared by several keys (ssl.*) is given once. */
function warnOnce(c: ServerConfig, where: string, key: string, note: string): void {
  // A system property's `where` (-Dzookeeper.skipACL) names its key already.
  const label = where.startsWith('-D') ? where : `${where}: ${key}`;
  if (!c.warnings.some((w) => w.endsWith(`: ${note}`))) c.warnings.push(`${label}: ${note}`);
}

/** The part of `server.N` values ZooKeeper accepts: host:quorumPort:electionPort[:role][;[clientAddr:]clientPort]. */
function parseServerLine(id: number, value: string, where: string): ServerSpec {
  const [addrPart, clientPart] = value.split(';', 2) as [string, string | undefined];
  const parts = addrPart.split(':');
  if (parts.length < 3 || parts.length > 4) {
    throw new ConfigError(`${where}: server.${id} must be host:quorumPort:electionPort[:participant|observer], got '${value}'`);
  }
  const role = (parts[3] ?? 'participant') as ServerSpec['role'];
  if (role !== 'participant' && role !== 'observer') {
    throw new ConfigError(`${where}: server.${id} role must be participant or observer, got '${parts[3]}'`);
  }
  const spec: ServerSpec = {
    id,
    host: parts[0]!,
    quorumPort: port(parts[1]!, where, `server.${id} quorum port`),
    electionPort: port(parts[2]!, where, `server.${id} election port`),
    role,
  };
  if (clientPart !== undefined) {
    const cp = clientPart.split(':');
    spec.clientPort = port(cp[cp.length - 1]!, where, `server.${id} client port`);
    if (cp.length === 2) spec.clientAddress = cp[0];
  }
  return spec;
}

/**
 * The server lines of a dynamic config file (zoo.cfg.dynamic.<version>, as ZooKeeper 3.5+ writes
 * them): `server.N=...` lines and a `version=` line.
 */
function readDynamicConfig(c: ServerConfig, file: string): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`dynamicConfigFile ${file}: ${(e as Error).message}`);
  }
  c.dynamicConfigFile = file;
  // QuorumPeerConfig.getVersionFromFilename: the part after the last dot, in hex, if it is one.
  const suffix = file.slice(file.lastIndexOf('.') + 1);
  c.configVersion = /^[0-9a-fA-F]{1,16}$/.test(suffix) ? parseInt(suffix, 16) : 0;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const where = `${file}:${i + 1}`;
    const m = /^server\.(\d+)\s*=\s*(.*)$/.exec(line);
    if (m) {
      const id = Number(m[1]);
      c.servers = [...c.servers.filter((s) => s.id !== id), parseServerLine(id, m[2]!.trim(), where)];
      c.sources[`server.${id}`] = where;
    } else if (!/^version\s*=/.test(line)) {
      throw new ConfigError(`${where}: a dynamic config file holds server.N and version lines only, got '${line}'`);
    }
  }
}

/** Parses zoo.cfg text (Java properties: key=value, # and ! comments). */
export function parseZooCfg(text: string, file: string, base: ServerConfig = defaultConfig()): ServerConfig {
  const c = { ...base, warnings: [...base.warnings], sources: { ...base.sources }, configText: text };
  let dataDirSet = false;
  let dataLogDirSet = false;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    const where = `${file}:${i + 1}`;
    const m = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (!m) throw new ConfigError(`${where}: expected key=value, got '${line}'`);
    const key = m[1]!;
    const value = m[2]!.trim();
    const server = /^server\.(\d+)$/.exec(key);
    c.sources[key] = where;
    const setter = setterOf(key);
    if (server) {
      const id = Number(server[1]);
      c.servers = [...c.servers.filter((s) => s.id !== id), parseServerLine(id, value, where)];
    } else if (setter) {
      setter(c, value, where, key);
      if (key === 'dataDir') dataDirSet = true;
      if (key === 'dataLogDir') dataLogDirSet = true;
    } else {
      const note = keyNote(key, value);
      if (note === undefined) c.warnings.push(`${where}: unknown key '${key}' ignored`);
      else if (note !== null) warnOnce(c, where, key, note);
    }
  }
  // ZooKeeper binds the wildcard address unless told otherwise (new InetSocketAddress(clientPort)).
  if (c.sources.clientPortAddress === undefined) c.clientPortAddress = undefined;
  if (c.secureClientPortAddress !== undefined && c.secureClientPort === undefined) {
    throw new ConfigError(`${c.sources.secureClientPortAddress}: secureClientPortAddress is set but secureClientPort is not set`);
  }
  const dir = dirname(resolve(file));
  if (dataDirSet && !isAbsolute(c.dataDir)) c.dataDir = resolve(dir, c.dataDir);
  if (dataLogDirSet && !isAbsolute(c.dataLogDir)) c.dataLogDir = resolve(dir, c.dataLogDir);
  if (dataDirSet && !dataLogDirSet) c.dataLogDir = c.dataDir;
  if (c.minSessionTimeout !== -1 && c.maxSessionTimeout !== -1 && c.minSessionTimeout > c.maxSessionTimeout) {
    throw new ConfigError(`${file}: minSessionTimeout (${c.minSessionTimeout}) must not exceed maxSessionTimeout (${c.maxSessionTimeout})`);
  }
  return c;
}

export function loadZooCfg(file: string, base?: ServerConfig): ServerConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${file}: ${(e as Error).message}`);
  }
  return { ...parseZooCfg(text, file, base), configFile: resolve(file) };
}

/**
 * Applies Java-style system properties (-Dkey=value), which ZooKeeper reads for some settings and
 * which the kazoo test harness passes on the command line.
 */
export function applySystemProperties(c: ServerConfig, props: string[]): ServerConfig {
  const out = { ...c, warnings: [...c.warnings], sources: { ...c.sources } };
  for (const p of props) {
    const eq = p.indexOf('=');
    const key = eq === -1 ? p : p.substring(0, eq);
    const value = eq === -1 ? '' : p.substring(eq + 1);
    const where = `-D${key}`;
    out.systemProperties = { ...out.systemProperties, [key]: value };
    switch (key) {
      case 'java.security.auth.login.config':
        out.jaasConfigFile = value;
        break;
      case 'readonlymode.enabled':
        out.readOnlyModeEnabled = boolValue(value, where, key);
        break;
      case 'jute.maxbuffer':
        out.juteMaxBuffer = positive(value, where, key);
        break;
      default: {
        const prefixed = key.startsWith('zookeeper.');
        const short = prefixed ? key.substring('zookeeper.'.length) : key;
        const setter = setterOf(short);
        if (setter) {
          setter(out, value, where, short);
          out.sources[short] = where;
          break;
        }
        const zkNote = prefixed ? keyNote(short, value) : undefined;
        const note = zkNote !== undefined ? zkNote : systemPropertyNote(key, value);
        if (note === undefined) out.warnings.push(`${where}: unknown system property ignored`);
        else if (note !== null) warnOnce(out, where, key, note);
      }
    }
  }
  return out;
}

/** Reads dataDir/myid when present (ZooKeeper requires it only for ensembles). */
export function readMyid(dataDir: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(resolve(dataDir, 'myid'), 'utf8').trim();
  } catch {
    return undefined;
  }
  if (!/^\d+$/.test(text)) throw new ConfigError(`${resolve(dataDir, 'myid')}: expected a server id, got '${text}'`);
  return Number(text);
}
