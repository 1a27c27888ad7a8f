/**
 * The x509 auth scheme: ZooKeeper's X509AuthenticationProvider and what NettyServerCnxnFactory's
 * CertificateVerifier does once a TLS handshake on the secure port is done.
 */
import type { TLSSocket } from 'node:tls';
import type { records } from '../jute/index.js';
import type { AuthProvider } from './auth.js';
import type { ServerConfig } from './config.js';
import { peerCertificate, type SecurePortOptions } from './tls.js';
import { isDistinguishedName, subjectDn } from './x509-name.js';

/** X509AuthenticationProvider.matches: the subject itself, or any ACL for the configured super user. */
export function x509Provider(superUser: string | undefined): AuthProvider {
  return {
    isValid: isDistinguishedName,
    matches: (authId, aclId) => authId === aclId || (superUser !== undefined && authId === superUser),
    isAuthenticated: true,
  };
}

export type X509Outcome = { ok: true; ids: records.Id[] } | { ok: false; reason: string };

/**
 * The identities a TLS client gets from its certificate, or why it is disconnected. As ZooKeeper:
 * nothing is asked with ssl.clientAuth=none; with want, a client without a certificate is served
 * without an x509 id; a certificate is authenticated by the x509 provider (authProvider.N), which
 * needs a trust store and a certificate it trusts; its subject DN becomes the id `x509:<DN>`
 * (and `super:<DN>` for zookeeper.X509AuthenticationProvider.superUser).
 */
export function x509Identity(socket: TLSSocket, secure: SecurePortOptions, config: ServerConfig): X509Outcome {
  if (secure.clientAuth === 'none') return { ok: true, ids: [] };
  const cert = peerCertificate(socket);
  if (cert === undefined) {
    return secure.clientAuth === 'want' ? { ok: true, ids: [] } : { ok: false, reason: 'the client sent no certificate (ssl.clientAuth=need)' };
  }
  const scheme = config.ssl['ssl.authProvider']?.trim() || 'x509';
  if (scheme !== 'x509' || !config.x509AuthProvider) return { ok: false, reason: `X509 Auth provider not found: ${scheme}` };
  if (!secure.hasTrustStore) return { ok: false, reason: 'no trust manager available to authenticate the client (ssl.trustStore.location is not set)' };
  if (!socket.authorized) return { ok: false, reason: `the client's certificate is not trusted: ${String(socket.authorizationError)}` };
  let dn: string;
  try {
    dn = subjectDn(cert);
  } catch (e) {
    return { ok: false, reason: `cannot read the subject of the client's certificate: ${(e as Error).message}` };
  }
  const ids: records.Id[] = [];
  if (config.x509SuperUser !== undefined && dn === config.x509SuperUser) ids.push({ scheme: 'super', id: dn });
  ids.push({ scheme: 'x509', id: dn });
  return { ok: true, ids };
}
