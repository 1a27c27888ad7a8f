/**
 * The pieces of the secure port that Node's tls module does not provide: certificate subjects as
 * Java's X500Principal.getName() writes them (the x509 id), PKCS#12 trust stores written by
 * keytool, and Java's cipher suite names.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pkcs12Error, pkcs12Certificates } from '../../src/server/pkcs12.js';
import { opensslCipherName } from '../../src/server/tls.js';
import { isDistinguishedName, subjectDn } from '../../src/server/x509-name.js';
import { CERT_TOOLS, JAVA, skipWithout } from '../support/requirements.js';
import { makeTestCerts, type TestCerts } from '../support/tls-certs.js';

describe('cipher suite names', () => {
  it.each([
    ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'ECDHE-RSA-AES128-GCM-SHA256'],
    ['TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384', 'ECDHE-ECDSA-AES256-GCM-SHA384'],
    ['TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA', 'ECDHE-RSA-AES128-SHA'],
    ['TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384', 'ECDHE-ECDSA-AES256-SHA384'],
    ['TLS_DHE_RSA_WITH_AES_128_GCM_SHA256', 'DHE-RSA-AES128-GCM-SHA256'],
    ['TLS_RSA_WITH_AES_256_CBC_SHA256', 'AES256-SHA256'],
    ['TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256', 'ECDHE-RSA-CHACHA20-POLY1305'],
    ['TLS_AES_256_GCM_SHA384', 'TLS_AES_256_GCM_SHA384'],
  ])('%s is OpenSSL\'s %s', (java, openssl) => {
    expect(opensslCipherName(java)).toBe(openssl);
  });

  it('a name it does not know is undefined (an error naming ssl.ciphersuites at start)', () => {
    expect(opensslCipherName('TLS_ECDHE_RSA_WITH_RC4_128_SHA')).toBeUndefined();
    expect(opensslCipherName('ECDHE-RSA-AES128-GCM-SHA256')).toBeUndefined();
  });
});

describe('distinguished names as ACL ids', () => {
  it.each(['CN=alice', 'CN=alice,OU=Dev+UID=42,O=Acme\\, Inc.,C=US', '1.2.840.113549.1.9.1=#1603616263,CN=x', ''])('%j is valid', (dn) => {
    expect(isDistinguishedName(dn)).toBe(true);
  });
  it.each(['alice', 'CN=alice,bob', ' '])('%j is not', (dn) => {
    expect(isDistinguishedName(dn)).toBe(false);
  });
});

describe.skipIf(skipWithout(CERT_TOOLS, JAVA))('stores and subjects made by openssl and keytool', () => {
  let certs: TestCerts;
  beforeAll(() => {
    certs = makeTestCerts();
  });
  afterAll(() => certs?.remove());

  it('a keytool PKCS12 trust store (PBES2, certificates only, which Node cannot load) gives its CA certificate', () => {
    const [ca, ...rest] = pkcs12Certificates(readFileSync(certs.trustP12), certs.passwords.trustStore);
    expect(rest).toEqual([]);
    expect(new X509Certificate(ca!).fingerprint256).toBe(new X509Certificate(readFileSync(certs.caPem)).fingerprint256);
  });

  it('a wrong password fails the integrity check; a JKS file is not PKCS12', () => {
    expect(() => pkcs12Certificates(readFileSync(certs.trustP12), 'wrong')).toThrowError(/integrity check failed: wrong password/);
    expect(() => pkcs12Certificates(readFileSync(certs.trustJks), certs.passwords.trustStore)).toThrowError(Pkcs12Error);
  });

  it('subjects are written as Java\'s X500Principal.getName() writes them (escapes, multi-valued RDN, OID=#hex)', () => {
    const program = join(certs.dir, 'Dn.java');
    writeFileSync(
      program,
      'import java.security.cert.*; import java.io.*;\n' +
        'public class Dn { public static void main(String[] a) throws Exception { for (String f : a) { X509Certificate c = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new FileInputStream(f)); System.out.println(c.getSubjectX500Principal().getName()); } } }\n',
    );
    const files = [certs.aliceCrt, certs.bobCrt, certs.caPem];
    const java = execFileSync('java', [program, ...files], { encoding: 'utf8' }).trimEnd().split('\n');
    const ours = files.map((f) => subjectDn(new X509Certificate(readFileSync(f)).raw));
    expect(ours).toEqual(java);
    expect(ours[0]).toBe(certs.aliceDn);
  }, 60_000);
});
