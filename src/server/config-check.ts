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
  refuseTlsOnly(config, o.port !== undefined);
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
