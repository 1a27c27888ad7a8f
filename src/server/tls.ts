/**
 * The secure client port (secureClientPort) as ZooKeeper 3.8 configures it with its ssl.* settings
 * (X509Util, SSLContextAndOptions, NettyServerCnxnFactory): key and trust stores in PEM or PKCS12,
 * ssl.clientAuth, ssl.protocol / ssl.enabledProtocols, ssl.ciphersuites (Java's names), and the
 * x509 auth scheme for clients that present a certificate. Passwords are never put in a message.
 */
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { createSecureContext, getCiphers, type ConnectionOptions, type SecureVersion, type TlsOptions, type TLSSocket } from 'node:tls';
import { ConfigError, type ServerConfig } from './config.js';
import { Pkcs12Error, pkcs12Certificates } from './pkcs12.js';

export type ClientAuth = 'none' | 'want' | 'need';

export interface SecurePortOptions {
  /** For tls.createServer: stores, versions, ciphers, whether to ask for a client certificate. */
  tls: TlsOptions;
  clientAuth: ClientAuth;
  /** Whether a trust store is configured: X509AuthenticationProvider fails without one. */
  hasTrustStore: boolean;
}

/** ZooKeeper's default ssl.protocol; with ssl.enabledProtocols unset it is the only version enabled. */
const DEFAULT_PROTOCOL = 'TLSv1.2';

/**
 * ZooKeeper 3.8's default cipher suites on Java 9+ (X509Util.DEFAULT_CIPHERS_JAVA9: GCM first),
 * in OpenSSL's names.
 */
const DEFAULT_CIPHERS = [
  'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256',
  'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256',
  'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA',
  'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA',
  'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384',
  'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384',
  'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA',
  'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA',
];

const VERSIONS: SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** Builds the secure port's TLS options from the ssl.* settings; ConfigError names the key at fault. */
export function securePortOptions(c: ServerConfig): SecurePortOptions {
  return tlsSettings(c, 'ssl', 'secureClientPort');
}

/**
 * The quorum's TLS (sslQuorum, from the ssl.quorum.* settings, as ZooKeeper's QuorumX509Util):
 * what the election and quorum ports listen with, what a server dials its peers with, and whether
 * a peer's certificate must name the address it connects from (ssl.quorum.hostnameVerification,
 * default true: ZooKeeper checks both directions between servers).
 */
export function quorumTlsOptions(c: ServerConfig): { server: TlsOptions; client: ConnectionOptions; verifyHostnames: boolean } {
  const { tls } = tlsSettings(c, 'ssl.quorum', 'sslQuorum');
  const verifyHostnames = !/^false$/i.test(c.ssl['ssl.quorum.hostnameVerification']?.trim() ?? 'true');
  const { pfx, key, cert, passphrase, ca, minVersion, maxVersion, ciphers } = tls;
  const client: ConnectionOptions = { pfx, key, cert, passphrase, ca, minVersion, maxVersion, ciphers, rejectUnauthorized: true };
  if (!verifyHostnames) client.checkServerIdentity = () => undefined;
  return { server: tls, client, verifyHostnames };
}

type Prefix = 'ssl' | 'ssl.quorum';

function tlsSettings(c: ServerConfig, prefix: Prefix, neededBy: string): SecurePortOptions {
  const ssl = c.ssl;
  const where = (key: string) => `${c.sources[key] ?? key}: ${key}`;
  const k = (name: string) => `${prefix}.${name}`;
  const clientAuth = parseClientAuth(ssl[k('clientAuth')], where(k('clientAuth')));
  const keyLocation = ssl[k('keyStore.location')];
  if (!keyLocation) throw new ConfigError(`${c.sources[neededBy] ?? neededBy}: ${neededBy} needs ${k('keyStore.location')} (the server's key and certificate)`);
  const keyStore = loadKeyStore(keyLocation, password(ssl, k('keyStore'), where), ssl[k('keyStore.type')], k('keyStore'), where);
  const trustLocation = ssl[k('trustStore.location')];
  const ca = trustLocation ? loadTrustStore(trustLocation, password(ssl, k('trustStore'), where), ssl[k('trustStore.type')], k('trustStore'), where) : undefined;
  const { minVersion, maxVersion } = versions(ssl[k('protocol')], ssl[k('enabledProtocols')], prefix, where);
  const ciphers = cipherList(ssl[k('ciphersuites')], where(k('ciphersuites')));
  const tls: TlsOptions = {
    ...keyStore,
    ...(ca ? { ca } : {}),
    minVersion,
    maxVersion,
    ciphers,
    requestCert: clientAuth !== 'none',
    // need: a client without a trusted certificate fails the handshake. want: the connection is
    // kept and judged after the handshake (see x509Identity).
    rejectUnauthorized: clientAuth === 'need',
  };
  try {
    createSecureContext(tls);
  } catch (e) {
    throw new ConfigError(`${where(k('keyStore.location'))}: cannot use ${keyLocation} with these TLS settings: ${(e as Error).message}`);
  }
  return { tls, clientAuth, hasTrustStore: ca !== undefined };
}

function parseClientAuth(value: string | undefined, where: string): ClientAuth {
  // X509Util.ClientAuth.fromPropertyValue: unset or empty means NEED.
  if (value === undefined || value.trim() === '') return 'need';
  const v = value.trim().toLowerCase();
  if (v === 'none' || v === 'want' || v === 'need') return v;
  throw new ConfigError(`${where} must be none, want or need, got '${value}'`);
}

/** ssl.X.password, or the content of ssl.X.passwordPath when set (it wins, as in X509Util). */
function password(ssl: Record<string, string>, prefix: string, where: (key: string) => string): string {
  const path = ssl[`${prefix}.passwordPath`];
  if (path) {
    try {
      return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      throw new ConfigError(`${where(`${prefix}.passwordPath`)}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  return ssl[`${prefix}.password`] ?? '';
}

type StoreType = 'PEM' | 'PKCS12' | 'JKS' | 'BCFKS';

/** KeyStoreFileType.fromPropertyValueOrFileName: the type setting, else the file extension. */
function storeType(location: string, type: string | undefined, bytes: Buffer, where: string): StoreType {
  // A JKS file says so in its first bytes, whatever its name.
  if (bytes.length >= 4 && bytes.readUInt32BE(0) === 0xfeedfeed) return 'JKS';
  if (type !== undefined && type.trim() !== '') {
    const t = type.trim().toUpperCase();
    if (t === 'PEM' || t === 'PKCS12' || t === 'JKS' || t === 'BCFKS') return t;
    throw new ConfigError(`${where}: store type '${type}' is not one of PEM, PKCS12, JKS, BCFKS`);
  }
  const ext = /\.[^./]*$/.exec(location)?.[0];
  const byExt: Record<string, StoreType> = { '.pem': 'PEM', '.p12': 'PKCS12', '.jks': 'JKS', '.bcfks': 'BCFKS' };
  const t = ext === undefined ? undefined : byExt[ext];
  if (!t) throw new ConfigError(`${where}: cannot tell the store type of ${location} from its name (.pem, .p12): set the matching .type key to PEM or PKCS12`);
  return t;
}

function readStore(location: string, where: string): Buffer {
  try {
    return readFileSync(location);
  } catch (e) {
    throw new ConfigError(`${where}: cannot read ${location}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** JKS and BCFKS are Java's own formats: say how to convert, with the JDK's keytool. */
function unsupportedStore(t: 'JKS' | 'BCFKS', location: string, key: string, where: string): never {
  throw new ConfigError(
    `${where}: ${location} is a ${t} store, which zkts cannot read (Node.js reads PEM and PKCS12, as ZooKeeper 3.8 does too). ` +
      `Convert it: keytool -importkeystore -srckeystore ${location} -srcstoretype ${t} -destkeystore ${location.replace(/\.[^./]*$/, '')}.p12 -deststoretype PKCS12, ` +
      `then point ${key}.location at the .p12 file and set ${key}.type=PKCS12`,
  );
}

function loadKeyStore(location: string, pass: string, type: string | undefined, key: string, whereOf: (key: string) => string): Pick<TlsOptions, 'pfx' | 'key' | 'cert' | 'passphrase'> {
  const where = whereOf(`${key}.location`);
  const bytes = readStore(location, where);
  const t = storeType(location, type, bytes, where);
  if (t === 'JKS' || t === 'BCFKS') unsupportedStore(t, location, key, where);
  // PEM: one file with the private key (PKCS#8, encrypted with the password if one is set) and the certificate chain, as ZooKeeper's PEMFileLoader reads it.
  const options = t === 'PKCS12' ? { pfx: bytes, passphrase: pass } : { key: bytes, cert: bytes, ...(pass ? { passphrase: pass } : {}) };
  try {
    createSecureContext(options);
  } catch (e) {
    throw new ConfigError(`${where}: cannot load the key and certificate from ${t} store ${location}: ${(e as Error).message}`);
  }
  return options;
}

/** The trusted certificates, as PEM. */
function loadTrustStore(location: string, pass: string, type: string | undefined, key: string, whereOf: (key: string) => string): string[] {
  const where = whereOf(`${key}.location`);
  const bytes = readStore(location, where);
  const t = storeType(location, type, bytes, where);
  if (t === 'JKS' || t === 'BCFKS') unsupportedStore(t, location, key, where);
  let ders: Buffer[];
  if (t === 'PKCS12') {
    try {
      ders = pkcs12Certificates(bytes, pass);
    } catch (e) {
      if (!(e instanceof Pkcs12Error)) throw e;
      throw new ConfigError(`${where}: cannot read PKCS12 store ${location}: ${e.message}`);
    }
  } else {
    const blocks = bytes.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    ders = blocks.map((b) => Buffer.from(b.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64'));
  }
  if (ders.length === 0) throw new ConfigError(`${where}: ${location} holds no certificate`);
  try {
    return ders.map((der) => new X509Certificate(der).toString());
  } catch (e) {
    throw new ConfigError(`${where}: a certificate in ${location} cannot be read: ${(e as Error).message}`);
  }
}

/** ssl.enabledProtocols (default: ssl.protocol alone, as SSLContextAndOptions) as Node's version range. */
function versions(protocol: string | undefined, enabled: string | undefined, prefix: Prefix, where: (key: string) => string): { minVersion: SecureVersion; maxVersion: SecureVersion } {
  const key = enabled !== undefined ? `${prefix}.enabledProtocols` : `${prefix}.protocol`;
  const names = (enabled ?? protocol ?? DEFAULT_PROTOCOL).split(',').map((s) => s.trim()).filter((s) => s !== '');
  const indexes: number[] = [];
  for (const name of names) {
    // Java's generic "TLS" context: every version it supports.
    if (name === 'TLS') indexes.push(2, 3);
    else {
      const i = VERSIONS.indexOf(name as SecureVersion);
      if (i === -1) throw new ConfigError(`${where(key)}: unsupported protocol '${name}' (supported: TLS, ${VERSIONS.join(', ')})`);
      indexes.push(i);
    }
  }
  if (indexes.length === 0) throw new ConfigError(`${where(key)}: no protocol given`);
  const min = Math.min(...indexes);
  const max = Math.max(...indexes);
  for (let i = min; i <= max; i++) {
    if (!indexes.includes(i)) throw new ConfigError(`${where(key)}: Node.js enables a range of TLS versions; list them without a gap (${VERSIONS.slice(min, max + 1).join(',')})`);
  }
  return { minVersion: VERSIONS[min]!, maxVersion: VERSIONS[max]! };
}

/** ssl.ciphersuites (Java's names, as ZooKeeper takes them) as an OpenSSL cipher list. */
function cipherList(value: string | undefined, where: string): string {
  const names = value === undefined ? DEFAULT_CIPHERS : value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw new ConfigError(`${where}: no cipher suite given`);
  const known = new Set(getCiphers().map((n) => n.toUpperCase()));
  return names
    .map((name) => {
      const openssl = opensslCipherName(name);
      if (openssl === undefined || !known.has(openssl.toUpperCase())) {
        throw new ConfigError(`${where}: cipher suite '${name}' is not known to zkts's TLS (give the standard names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)`);
      }
      return openssl;
    })
    .join(':');
}

/** A cipher suite's standard (IANA, Java) name as OpenSSL names it; TLS 1.3 suites keep theirs. */
export function opensslCipherName(name: string): string | undefined {
  if (/^TLS_(AES_128_GCM_SHA256|AES_256_GCM_SHA384|CHACHA20_POLY1305_SHA256|AES_128_CCM_SHA256)$/.test(name)) return name;
  const m = /^TLS_(ECDHE_ECDSA|ECDHE_RSA|DHE_RSA|RSA)_WITH_(AES_128|AES_256|CHACHA20_POLY1305)_?(GCM|CBC)?_(SHA|SHA256|SHA384)$/.exec(name);
  if (!m) return undefined;
  const [, kx, cipher, mode, mac] = m as unknown as [string, string, string, string | undefined, string];
  const prefix = kx === 'RSA' ? '' : `${kx.replace('_', '-')}-`;
  if (cipher === 'CHACHA20_POLY1305') return mode === undefined && mac === 'SHA256' ? `${prefix}CHACHA20-POLY1305` : undefined;
  const aes = cipher === 'AES_128' ? 'AES128' : 'AES256';
  if (mode === 'GCM') return `${prefix}${aes}-GCM-${mac}`;
  if (mode === 'CBC') return `${prefix}${aes}-${mac}`;
  return undefined;
}

/** The client's certificate (DER) once the handshake is done, or undefined when it sent none. */
export function peerCertificate(socket: TLSSocket): Buffer | undefined {
  const cert = socket.getPeerCertificate();
  return cert && 'raw' in cert && cert.raw ? cert.raw : undefined;
}
