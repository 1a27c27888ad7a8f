/**
 * From the command line to the configuration a server starts with: zoo.cfg, -D properties, --port,
 * dataDir/myid, and the refusals of what zkts cannot serve. `zkts start` and `zkts check-config`
 * share it, so that check-config says exactly what start would do.
 */
import {
  ConfigError,
  DEFAULT_UNREAD_OUTPUT_MARGIN,
  applySystemProperties,
  defaultConfig,
  loadZooCfg,
  readMyid,
  sessionTimeoutBounds,
  type ServerConfig,
} from './config.js';

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
  refuseEnsemble(config);
  refuseTlsOnly(config, o.port !== undefined);
  config.myid = readMyid(config.dataDir);
  return config;
}

/**
 * Until replication exists, an ensemble's config run standalone would make each server its own
 * database, disagreeing with the others without a word (split brain). The ensemble work replaces
 * this refusal with the real thing.
 */
export function refuseEnsemble(c: ServerConfig): void {
  const first = [...c.servers].sort((a, b) => a.id - b.id)[0];
  const key = first !== undefined ? `server.${first.id}` : c.sources.dynamicConfigFile !== undefined ? 'dynamicConfigFile' : undefined;
  if (key === undefined) return;
  throw new ConfigError(
    `${c.sources[key] ?? key}: ${key}: ensembles are not supported yet: zkts runs standalone only, and running ` +
      `each server of an ensemble alone would split it into independent databases. Remove the server.N ` +
      `(and dynamicConfigFile) lines to run one standalone server.`,
  );
}

/** ZooKeeper given only a secureClientPort serves TLS alone; zkts, without TLS, would serve plaintext instead. */
function refuseTlsOnly(c: ServerConfig, portGiven: boolean): void {
  const secure = c.sources.secureClientPort;
  if (secure === undefined || c.sources.clientPort !== undefined || portGiven) return;
  throw new ConfigError(
    `${secure}: secureClientPort without clientPort: zkts has no TLS and would serve plaintext on port ${c.clientPort}; ` +
      `set clientPort to serve plaintext clients`,
  );
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
    ['maxClientCnxns', c.maxClientCnxns],
    ['globalOutstandingLimit', c.globalOutstandingLimit],
    ['zkts.maxUnreadOutputBytes', c.maxUnreadOutputBytes ?? `${c.juteMaxBuffer + DEFAULT_UNREAD_OUTPUT_MARGIN} (default: jute.maxbuffer + 4 MiB)`],
    ['minSessionTimeout', min],
    ['maxSessionTimeout', max],
    ['4lw.commands.whitelist', words],
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
