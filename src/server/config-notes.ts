/**
 * What zkts does with the ZooKeeper settings it reads but does not act on. An operator who writes
 * `sslQuorum=true` or `audit.enable=true` believes something is on: each such key gets a warning
 * at start saying what happens instead. Keys that change nothing (or that ensembles take as
 * ZooKeeper's defaults mean them) are accepted quietly.
 *
 * A note is `null` (accepted quietly), a string (the warning's text), or `undefined` (not a key
 * ZooKeeper knows: warned as unknown).
 */

type Note = string | null | undefined;

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
  const tls = tlsNote(key, value);
  if (tls !== undefined) return tls;
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

/** The ssl.* settings the secure client port honours (src/server/tls.ts). */
const SSL_HONOURED = new Set([
  'ssl.keyStore.location',
  'ssl.keyStore.password',
  'ssl.keyStore.passwordPath',
  'ssl.keyStore.type',
  'ssl.trustStore.location',
  'ssl.trustStore.password',
  'ssl.trustStore.passwordPath',
  'ssl.trustStore.type',
  'ssl.clientAuth',
  'ssl.protocol',
  'ssl.enabledProtocols',
  'ssl.ciphersuites',
  // On the client port ZooKeeper does not check a client's host name against its certificate
  // (ClientX509Util.shouldVerifyClientHostname is false), and neither does zkts: nothing to do.
  'ssl.hostnameVerification',
]);

/** The note of a TLS setting; undefined when `key` is not one. */
function tlsNote(key: string, value: string): Note {
  // ssl.quorum.X means for the election and quorum ports (sslQuorum) what ssl.X means for secureClientPort.
  if (SSL_HONOURED.has(key) || SSL_HONOURED.has(key.replace(/^ssl\.quorum\./, 'ssl.'))) return null;
  // portUnification is the quorum's (UnifiedServerSocket, for rolling upgrades to sslQuorum); client.portUnification the client port's.
  if (key === 'portUnification') return isTrue(value) ? 'not supported: the election and quorum ports take TLS only with sslQuorum=true, plaintext only without' : null;
  if (key === 'client.portUnification') return isTrue(value) ? 'not supported: clientPort serves plaintext only; TLS clients use secureClientPort' : null;
  if (key === 'sslQuorumReloadCertFiles') return isTrue(value) ? 'not supported: the quorum\'s key and trust stores are read once, at start' : null;
  if (key === 'ssl.authProvider') {
    return value.trim() === 'x509' ? null : `not supported: only the x509 provider authenticates client certificates; with ${value.trim()} a client presenting one is disconnected (as ZooKeeper does without that provider)`;
  }
  if (key === 'ssl.crl' || key === 'ssl.ocsp') return isTrue(value) ? 'certificate revocation (CRL, OCSP) is not checked by zkts' : null;
  if (key === 'ssl.context.supplier.class') return 'not supported: the TLS context is built from the ssl.* store settings';
  if (key === 'ssl.handshakeDetectionTimeoutMillis') return 'ignored: it applies to portUnification only, which zkts does not support';
  if (key.startsWith('ssl.')) return 'not a ZooKeeper 3.8 TLS setting: ignored';
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
