/**
 * What zkts does with the ZooKeeper settings it reads but does not act on. An operator who writes
 * `secureClientPort` or `audit.enable=true` believes something is on: each such key gets a warning
 * at start saying what happens instead. Keys that change nothing (or that ensembles take as
 * ZooKeeper's defaults mean them) are accepted quietly.
 *
 * A note is `null` (accepted quietly), a string (the warning's text), or `undefined` (not a key
 * ZooKeeper knows: warned as unknown).
 */

type Note = string | null | undefined;

const TLS = 'TLS is not supported: zkts serves plaintext on clientPort only';
const QUORUM_SASL = 'quorum SASL is not supported: servers of an ensemble talk without authentication';
const PROMETHEUS = 'org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider';
/** ZooKeeper's default provider feeds mntr and the admin server's monitor, as zkts always does. */
const DEFAULT_PROVIDER = 'org.apache.zookeeper.metrics.impl.DefaultMetricsProvider';

/** Settings of the quorum that zkts's ensembles take as ZooKeeper's defaults mean them, or that change nothing. */
const QUORUM_ONLY = new Set([
  'syncEnabled',
  'electionAlg',
  'observerMasterPort',
  'connectToLearnerMasterLimit',
  'quorum.cnxn.threads.size',
  'oraclePath',
  'version',
]);

/** authProvider.N classes that name a scheme zkts always has. */
const BUILT_IN_PROVIDERS = new Set([
  'org.apache.zookeeper.server.auth.SASLAuthenticationProvider',
  'org.apache.zookeeper.server.auth.DigestAuthenticationProvider',
  'org.apache.zookeeper.server.auth.IPAuthenticationProvider',
]);

const isTrue = (v: string) => /^(true|yes)$/i.test(v.trim());

/** The note for a zoo.cfg key (or a `zookeeper.`-prefixed system property without its prefix). */
export function keyNote(key: string, value: string): Note {
  if (QUORUM_ONLY.has(key) || /^(group|weight|multiAddress)\./.test(key)) return null;
  // Quorum settings whose non-default values zkts's ensembles do not honour yet.
  // Observers are supported; whether this server observes comes from its server.N line (as in ZooKeeper, which follows the lines when peerType disagrees).
  if (key === 'peerType') return null;
  if (key === 'quorumListenOnAllIPs') return isTrue(value) ? 'not supported: the quorum and election ports listen on the address of this server\'s server.N line' : null;
  if (key === 'leaderServes') return isTrue(value) ? null : 'not supported: the leader serves clients too';
  if (key === 'cnxTimeout' || key === 'electionPortBindRetry') return 'ignored: election connections time out after 5 s, and a busy election port fails the start';
  if (key === 'localSessionsEnabled' || key === 'localSessionsUpgradingEnabled') return isTrue(value) ? 'local sessions are not supported: every session is global (created through the leader), except in read-only mode, where all are local' : null;
  // Implemented by the request throttling work; until then accepted as before.
  if (key === 'globalOutstandingLimit') return null;
  if (key.startsWith('authProvider.')) {
    return BUILT_IN_PROVIDERS.has(value.trim())
      ? null
      : `custom authentication providers are not supported: the scheme of ${value} is unknown to zkts (built in: digest, ip, sasl)`;
  }
  if (key === 'secureClientPort' || key === 'secureClientPortAddress' || key === 'portUnification' || key.startsWith('ssl.')) {
    return TLS;
  }
  if (key === 'sslQuorum' || key === 'sslQuorumReloadCertFiles') return 'TLS between servers is not supported: the quorum and election ports are plaintext';
  if (key.startsWith('quorum.auth.')) return QUORUM_SASL;
  // admin.enableServer, serverAddress, serverPort, commandURL and idleTimeout are settings (config.ts).
  if (key === 'admin.forceHttps' || key === 'admin.portUnification') return isTrue(value) ? 'HTTPS for the admin server is not supported: it serves plain HTTP' : null;
  if (key === 'admin.httpVersion') return null;
  if (key === 'metricsProvider.className') {
    const v = value.trim();
    return v === PROMETHEUS || v === DEFAULT_PROVIDER ? null : `unknown metrics provider ${v}: only ${PROMETHEUS} is supported; mntr and the admin server's monitor report the metrics`;
  }
  // The Prometheus provider's worker pool: zkts records on its event loop, with no queue to size.
  if (key === 'metricsProvider.numWorkerThreads' || key === 'metricsProvider.maxQueueSize' || key === 'metricsProvider.workerShutdownTimeoutMs') return null;
  if (key === 'audit.enable') return isTrue(value) ? 'audit logging is not supported: no audit log is written' : null;
  if (key === 'serverCnxnFactory') return 'ignored: zkts has its own network layer (Node.js sockets, plaintext)';
  if (key === 'clientCnxnSocket' || key === 'client.secure') return 'a client setting: servers ignore it';
  if (key === 'clientPortListenBacklog') return "ignored: the listener uses Node.js's default backlog";
  if (key.startsWith('jvm.pause.')) return 'ignored: zkts runs no JVM pause monitor';
  if (key === 'letAnySaslUserDoX') return 'not supported: a sasl ACL matches only its own user (and the SASL user named super)';
  if (key === 'enforce.auth.enabled' || key === 'sessionRequireClientSASLAuth') {
    return isTrue(value) ? 'not supported: clients that do not authenticate are served' : null;
  }
  if (key === 'allowSaslFailedClients') return isTrue(value) ? 'not supported: a client whose SASL login fails is disconnected' : null;
  if (key === 'DigestAuthenticationProvider.digestAlg') {
    return value.trim().toUpperCase() === 'SHA1' ? null : 'not supported: digest ids are computed with SHA1, as ZooKeeper does by default';
  }
  if (key === 'snapSizeLimitInKb') return 'not supported: snapshots are taken every snapCount txns only';
  return undefined;
}

/** Logging is configured with --log-level (or ZKTS_LOG_LEVEL); ZooKeeper's log4j/logback properties mean nothing here. */
const LOGGING = /^(log4j\.|logback\.|zookeeper\.(log\.|root\.logger|console\.threshold|tracelog\.|jmx\.log4j))/;

/**
 * The note for a system property (-Dkey=value) that is not a `zookeeper.` setting: JVM properties
 * and ZooKeeper's logging properties.
 */
export function systemPropertyNote(key: string, value: string): Note {
  if (LOGGING.test(key)) return 'ignored: zkts logs JSON lines to stdout (set the level with --log-level or ZKTS_LOG_LEVEL)';
  // Only a JVM needs these; they change nothing a ZooKeeper client sees.
  if (key === 'java.awt.headless' || key === 'java.net.preferIPv4Stack' || key === 'java.net.preferIPv6Addresses') return null;
  if (key === 'file.encoding') {
    return /^utf-?8$/i.test(value.trim()) ? null : 'ignored: zkts decodes text (digest credentials, paths) as UTF-8';
  }
  if (key === 'java.security.krb5.conf' || key.startsWith('sun.security.krb5.')) return 'Kerberos (GSSAPI) is not supported: SASL logins use DIGEST-MD5 only';
  return undefined;
}
