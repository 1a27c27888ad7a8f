/**
 * From the command line to the configuration a server starts with: zoo.cfg, -D properties, --port,
 * dataDir/myid, and the refusals of what zkts cannot serve. `zkts start` and `zkts check-config`
 * share it, so that check-config says exactly what start would do.
 */
import {
  ConfigError,
  DEFAULT_UNREAD_OUTPUT_MARGIN,
  PROMETHEUS_PROVIDER,
  applySystemProperties,
  defaultConfig,
  loadZooCfg,
  readMyid,
  sessionTimeoutBounds,
  X509_PROVIDER,
  type ServerConfig,
} from './config.js';
import { quorumTlsOptions, securePortOptions } from './tls.js';

const NETTY_FACTORY = 'org.apache.zookeeper.server.NettyServerCnxnFactory';

export interface ConfigOptions {
  /** A zoo.cfg; without one, the defaults (127.0.0.1:2181, ./zkts-data). */
  config?: string;
  /** -Dkey=value system properties, without the -D. */
  define?: string[];
  /** --port, overriding clientPort. */
  port?: number;
}

export function resolveServerConfig(o: ConfigOptions): ServerConfig {
  let config = o.config !== undefined ? loadZooCfg(o.config) : defaultConfig();
  config = applySystemProperties(config, o.define ?? []);
  if (o.port !== undefined) config = { ...config, clientPort: o.port };
  config = secureOnly(config, o.port !== undefined);
  checkSecurePort(config);
  config.myid = readMyid(config.dataDir);
  checkEnsemble(config);
  return config;
}

/**
 * An ensemble: server lines for more than one server, or one with standaloneEnabled=false (an
 * ensemble of one). As ZooKeeper, a single server line with standaloneEnabled (the default) runs
 * standalone.
 */
export function isEnsemble(c: ServerConfig): boolean {
  return c.servers.length > 1 || (c.servers.length === 1 && !c.standaloneEnabled);
}

/** An ensemble member must know which server it is: dataDir/myid, naming one of the server lines. */
function checkEnsemble(c: ServerConfig): void {
  if (!isEnsemble(c)) return;
  if (c.myid === undefined) throw new ConfigError(`${c.dataDir}/myid file is missing: each server of an ensemble needs its id there`);
  const me = c.servers.find((s) => s.id === c.myid);
  if (!me) throw new ConfigError(`My id ${c.myid} not in the peer list (${c.dataDir}/myid; server lines: ${c.servers.map((s) => s.id).join(', ')})`);
}

/**
 * ZooKeeper given a secureClientPort and no clientPort serves TLS alone (its conf then says
 * clientPort=-1): so does zkts, unless --port asks for a plaintext port.
 */
function secureOnly(c: ServerConfig, portGiven: boolean): ServerConfig {
  if (c.secureClientPort === undefined || c.sources.clientPort !== undefined || portGiven) return c;
  return { ...c, clientPort: -1 };
}

/** The ssl.* settings are read now, so that a bad store or value is an error before anything starts. */
function checkSecurePort(c: ServerConfig): void {
  if (c.secureClientPort === undefined) {
    if (Object.keys(c.ssl).some((k) => !k.startsWith('ssl.quorum.'))) c.warnings.push('ssl.* settings without secureClientPort: no TLS port is opened');
  } else {
    checkSecureClientPort(c);
  }
  if (c.sslQuorum) {
    if (!isEnsemble(c)) c.warnings.push(`${c.sources.sslQuorum}: sslQuorum on a standalone server: there are no quorum ports to secure`);
    quorumTlsOptions(c);
  }
}

function checkSecureClientPort(c: ServerConfig): void {
  securePortOptions(c);
  if (c.serverCnxnFactory !== NETTY_FACTORY) {
    c.warnings.push(
      `${c.sources.secureClientPort}: secureClientPort without serverCnxnFactory=${NETTY_FACTORY}: ` +
        'ZooKeeper 3.8 would refuse to start (its default NIO factory has no TLS); zkts serves TLS anyway',
    );
  }
  const provider = c.ssl['ssl.authProvider'] ?? 'x509';
  if (c.ssl['ssl.clientAuth']?.trim().toLowerCase() !== 'none' && (!c.x509AuthProvider || provider !== 'x509')) {
    c.warnings.push(
      `${c.sources.secureClientPort}: client certificates are requested (ssl.clientAuth) but no authProvider.N=${X509_PROVIDER}: ` +
        'as ZooKeeper, a client presenting a certificate is disconnected (X509 Auth provider not found); add that line or set ssl.clientAuth=none',
    );
  }
}

/** The effective settings, as zoo.cfg keys, for `zkts check-config`. Secrets are not shown. */
export function describeConfig(c: ServerConfig): string[] {
  const { min, max } = sessionTimeoutBounds(c);
  const words = c.fourLetterWords === '*' ? '*' : [...c.fourLetterWords].join(',');
  const superUsers = Object.values(c.superUsers);
  const settings: [string, string | number | boolean][] = [
    ['tickTime', c.tickTime],
    ['dataDir', c.dataDir],
    ['dataLogDir', c.dataLogDir],
    ['clientPort', c.clientPort],
    ['clientPortAddress', c.clientPortAddress ?? '(every interface)'],
    ['secureClientPort', c.secureClientPort ?? '(not set)'],
    ['secureClientPortAddress', c.secureClientPort === undefined ? '(not set)' : (c.secureClientPortAddress ?? '(every interface)')],
    ...Object.entries(c.ssl).map(([k, v]): [string, string] => [k, /password$/i.test(k) ? '(set)' : v]),
    ['authProvider.x509', c.x509AuthProvider ? X509_PROVIDER : '(not set)'],
    ['sslQuorum', c.sslQuorum],
    ['maxClientCnxns', c.maxClientCnxns],
    ['globalOutstandingLimit', c.globalOutstandingLimit],
    ['zkts.maxUnreadOutputBytes', c.maxUnreadOutputBytes ?? `${c.juteMaxBuffer + DEFAULT_UNREAD_OUTPUT_MARGIN} (default: jute.maxbuffer + 4 MiB)`],
    ['minSessionTimeout', min],
    ['maxSessionTimeout', max],
    ['4lw.commands.whitelist', words],
    ['admin.enableServer', c.adminEnableServer],
    ...(c.adminEnableServer
      ? ([
          ['admin.serverAddress', c.adminServerAddress],
          ['admin.serverPort', c.adminServerPort],
          ['admin.commandURL', c.adminCommandUrl],
          ['admin.idleTimeout', c.adminIdleTimeout],
          ['zkts.console.enabled', c.consoleEnabled],
          ['zkts.console.writes', c.consoleWrites],
        ] as [string, string | number | boolean][])
      : []),
    ['metricsProvider.className', c.prometheus ? PROMETHEUS_PROVIDER : '(none: mntr and monitor only)'],
    ...(c.prometheus
      ? ([
          ['metricsProvider.httpHost', c.metricsHttpHost],
          ['metricsProvider.httpPort', c.metricsHttpPort],
          ['metricsProvider.exportJvmInfo', c.metricsExportProcessInfo],
        ] as [string, string | number | boolean][])
      : []),
    ['extendedTypesEnabled', c.extendedTypesEnabled],
    ['jute.maxbuffer', c.juteMaxBuffer],
    ['znode.container.checkIntervalMs', c.containerCheckIntervalMs],
    ['DigestAuthenticationProvider.superDigest', c.superDigest === undefined ? '(not set)' : '(set)'],
    ['superUser', superUsers.length === 0 ? '(not set)' : superUsers.join(',')],
    ['skipACL', c.skipAcl ? 'yes' : 'no'],
    ['java.security.auth.login.config', c.jaasConfigFile ?? '(not set)'],
    ['reconfigEnabled', c.reconfigEnabled],
    ['readonlymode.enabled', c.readOnlyModeEnabled],
    ['snapCount', c.snapCount],
    ['forceSync', c.forceSync ? 'yes' : 'no'],
    ['preAllocSize', c.preAllocSize / 1024],
    ['autopurge.snapRetainCount', c.autopurgeSnapRetainCount],
    ['autopurge.purgeInterval', c.autopurgePurgeInterval],
    ['myid', c.myid ?? '(none)'],
  ];
  return settings.map(([k, v]) => `${k}=${v}`);
}
