/**
 * Certificates for TLS tests, made with openssl and the JDK's keytool into a temp dir: a CA, a
 * server certificate for 127.0.0.1/localhost in PEM and PKCS12, client certificates (alice with a
 * subject full of characters RFC 2253 escapes, bob plain), and trust stores in PEM, PKCS12 and JKS.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCerts {
  dir: string;
  caPem: string;
  /** Key and certificate in one PEM file, as ZooKeeper's PEM key store takes them. */
  serverPem: string;
  serverP12: string;
  aliceCrt: string;
  aliceKey: string;
  aliceP12: string;
  bobCrt: string;
  bobKey: string;
  trustP12: string;
  trustJks: string;
  /** alice's subject as Java's X500Principal.getName() writes it (ZooKeeper's x509 id). */
  aliceDn: string;
  bobDn: string;
  passwords: { serverStore: string; aliceStore: string; trustStore: string };
  remove(): void;
}

const ALICE_EMAIL = 'alice@example.com';
/** The email attribute is not an RFC 2253 keyword: Java writes its OID and the DER IA5String in hex. */
const EMAIL_HEX = Buffer.concat([Buffer.from([0x16, ALICE_EMAIL.length]), Buffer.from(ALICE_EMAIL)]).toString('hex');

export function makeTestCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'zkts-tls-'));
  const f = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const passwords = { serverStore: 'server-store-secret-1', aliceStore: 'alice-store-secret-2', trustStore: 'trust-store-secret-3' };
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=zkts test CA');
  const sign = (name: string, subject: string, ext?: string) => {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-multivalue-rdn', '-subj', subject);
    const extArgs = ext ? (writeFileSync(f(`${name}.ext`), ext), ['-extfile', `${name}.ext`]) : [];
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', ...extArgs);
  };
  sign('server', '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  sign('alice', `/C=US/O=Acme, Inc./OU=Dev+UID=42/CN=#alice "x"/emailAddress=${ALICE_EMAIL}`);
  sign('bob', '/CN=bob');
  writeFileSync(f('server.pem'), readFileSync(f('server.key'), 'utf8') + readFileSync(f('server.crt'), 'utf8'));
  openssl('pkcs12', '-export', '-in', 'server.crt', '-inkey', 'server.key', '-out', 'server.p12', '-passout', `pass:${passwords.serverStore}`, '-name', 'server');
  openssl('pkcs12', '-export', '-in', 'alice.crt', '-inkey', 'alice.key', '-out', 'alice.p12', '-passout', `pass:${passwords.aliceStore}`, '-name', 'alice');
  const keytool = (store: string, type: string) =>
    execFileSync('keytool', ['-importcert', '-noprompt', '-alias', 'ca', '-file', 'ca.pem', '-keystore', store, '-storetype', type, '-storepass', passwords.trustStore], { cwd: dir, stdio: 'ignore' });
  keytool('trust.p12', 'PKCS12');
  keytool('trust.jks', 'JKS');
  return {
    dir,
    caPem: f('ca.pem'),
    serverPem: f('server.pem'),
    serverP12: f('server.p12'),
    aliceCrt: f('alice.crt'),
    aliceKey: f('alice.key'),
    aliceP12: f('alice.p12'),
    bobCrt: f('bob.crt'),
    bobKey: f('bob.key'),
    trustP12: f('trust.p12'),
    trustJks: f('trust.jks'),
    aliceDn: `1.2.840.113549.1.9.1=#${EMAIL_HEX},CN=\\#alice \\"x\\",OU=Dev+UID=42,O=Acme\\, Inc.,C=US`,
    bobDn: 'CN=bob',
    passwords,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Whether openssl and keytool (the JDK's, with Debian's `zookeeper`) are there to make the certificates. */
export function certToolsAvailable(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    execFileSync('keytool', ['-help'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
