/**
 * The secure client port (secureClientPort + ssl.*) against real clients, on zkts and on Apache
 * ZooKeeper 3.8 (NettyServerCnxnFactory) from the same zoo.cfg lines, so that every expectation is
 * proven on the reference too: kazoo (use_ssl with certfile/keyfile/ca), zkCli.sh (the Java client
 * over Netty with PKCS12 stores), Node's tls for protocol checks; mutual TLS refusing a client
 * without a certificate; the x509 auth scheme with ids as X509AuthenticationProvider writes them.
 *
 * The C client (Debian's cli_mt 3.8.0) has no TLS option (built without OpenSSL), so it is not here.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer as startEmbedded } from '../../src/index.js';
import { CERT_TOOLS, DIST, KAZOO, ZKCLI, ZKCLI_SH, skipWithout } from '../support/requirements.js';
import { fourLetter, freePort, NETTY_JARS, startServer, ZKTS_BIN, type RunningServer } from '../support/servers.js';
import { makeTestCerts, type TestCerts } from '../support/tls-certs.js';
import { SERVER_KINDS, runProcess, serverDependency } from './client-helpers.js';

const PYTHON = '/usr/bin/python3';
const NETTY = 'serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory';
const X509_PROVIDER = 'authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider';

/**
 * A kazoo session over TLS running `steps` (Python using `zk`, `acl` and `out`), printing `out` as
 * JSON; a connection failure is reported as {"connect_error": ...}.
 */
async function kazoo(port: number, tls: { cert?: string; key?: string; ca: string }, steps: string): Promise<Record<string, unknown>> {
  const script = `
import json, sys
from kazoo.client import KazooClient
from kazoo.security import make_acl
from kazoo.exceptions import NoAuthError
out = {}
zk = KazooClient(hosts='127.0.0.1:${port}', use_ssl=True, ca=${JSON.stringify(tls.ca)}, certfile=${JSON.stringify(tls.cert ?? null)}, keyfile=${JSON.stringify(tls.key ?? null)}, connection_retry={'max_tries': 0})
try:
    zk.start(timeout=8)
except Exception as e:
    print(json.dumps({'connect_error': type(e).__name__}))
    sys.exit(0)
${steps}
zk.stop()
print(json.dumps(out))
`.replaceAll('null', 'None');
  const r = await runProcess(PYTHON, ['-c', script], { timeoutMs: 60_000 });
  const last = r.stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(last) as Record<string, unknown>;
  } catch {
    throw new Error(`kazoo script failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}

/** Node's TLS client: whether a handshake with these settings succeeds. */
function handshake(port: number, certs: TestCerts, opts: { minVersion?: 'TLSv1.2' | 'TLSv1.3'; withCert?: boolean } = {}): Promise<string> {
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port,
      ca: readFileSync(certs.caPem),
      ...(opts.withCert === false ? {} : { cert: readFileSync(certs.aliceCrt), key: readFileSync(certs.aliceKey) }),
      ...(opts.minVersion ? { minVersion: opts.minVersion } : {}),
    });
    socket.once('secureConnect', () => {
      const protocol = socket.getProtocol() ?? '?';
      socket.destroy();
      resolve(protocol);
    });
    socket.once('error', (e) => resolve(`error: ${e.message}`));
  });
}

const needs = (...deps: Parameters<typeof skipWithout>) => skipWithout(CERT_TOOLS, ...deps);

for (const kind of SERVER_KINDS) {
  describe.skipIf(needs(KAZOO, ZKCLI, serverDependency(kind)))(`TLS on ${kind}: mutual TLS with PKCS12 stores (ssl.clientAuth unset = need)`, () => {
    let certs: TestCerts;
    let server: RunningServer;
    let securePort: number;

    beforeAll(async () => {
      certs = makeTestCerts();
      securePort = await freePort();
      server = await startServer(kind, {
        cfg: [
          `secureClientPort=${securePort}`,
          NETTY,
          X509_PROVIDER,
          `ssl.keyStore.location=${certs.serverP12}`,
          `ssl.keyStore.password=${certs.passwords.serverStore}`,
          `ssl.trustStore.location=${certs.trustP12}`,
          `ssl.trustStore.password=${certs.passwords.trustStore}`,
        ],
        classpath: NETTY_JARS,
      });
    }, 90_000);

    afterAll(async () => {
      await server?.stop();
      certs?.remove();
    });

    it('kazoo with alice\'s certificate creates a node with ACL x509:<alice\'s DN>; bob is refused it', async () => {
      const alice = await kazoo(securePort, { cert: certs.aliceCrt, key: certs.aliceKey, ca: certs.caPem }, `
zk.create('/tls', b'for alice', acl=[make_acl('x509', ${JSON.stringify(certs.aliceDn)}, all=True)])
out['data'] = zk.get('/tls')[0].decode()
out['acl'] = [[a.id.scheme, a.id.id, a.perms] for a in zk.get_acls('/tls')[0]]
`);
      expect(alice).toEqual({ data: 'for alice', acl: [['x509', certs.aliceDn, 31]] });
      const bob = await kazoo(securePort, { cert: certs.bobCrt, key: certs.bobKey, ca: certs.caPem }, `
try:
    zk.get('/tls')
    out['get'] = 'ok'
except NoAuthError:
    out['get'] = 'NoAuthError'
`);
      expect(bob).toEqual({ get: 'NoAuthError' });
    }, 90_000);

    it('zkCli.sh over Netty TLS with alice\'s PKCS12 store: whoami shows the x509 id, get reads her node', async () => {
      const flags = [
        // Debian's zookeeper.jar does not list all the Netty jars its TLS needs: a second -cp
        // (after zkCli.sh's own) replaces the class path.
        `-cp ${['/etc/zookeeper/conf', '/usr/share/java/zookeeper.jar', ...NETTY_JARS].join(':')}`,
        '-Dzookeeper.client.secure=true',
        '-Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty',
        `-Dzookeeper.ssl.keyStore.location=${certs.aliceP12}`,
        `-Dzookeeper.ssl.keyStore.password=${certs.passwords.aliceStore}`,
        `-Dzookeeper.ssl.trustStore.location=${certs.trustP12}`,
        `-Dzookeeper.ssl.trustStore.password=${certs.passwords.trustStore}`,
      ].join(' ');
      const r = await runProcess(ZKCLI_SH, ['-server', `127.0.0.1:${securePort}`], {
        input: 'whoami\nget /tls\nquit\n',
        env: { ...process.env, CLIENT_JVMFLAGS: flags },
        timeoutMs: 60_000,
      });
      const lines = r.stdout.split('\n').map((l) => l.trimEnd());
      expect(lines, r.stdout + r.stderr).toContain(`x509: ${certs.aliceDn}`);
      expect(lines).toContain('ip: 127.0.0.1');
      expect(lines).toContain('for alice');
    }, 90_000);

    it('a client without a certificate is refused (kazoo and Node), one with a certificate is served', async () => {
      const anonymous = await kazoo(securePort, { ca: certs.caPem }, `out['exists'] = zk.exists('/') is not None`);
      expect(anonymous).toHaveProperty('connect_error');
      expect(await handshake(securePort, certs, { withCert: false })).toMatch(/^error: /);
      expect(await handshake(securePort, certs)).toBe('TLSv1.2');
    }, 90_000);

    it('by default only TLSv1.2 is enabled (ssl.protocol), as in ZooKeeper: a TLSv1.3-only client fails', async () => {
      expect(await handshake(securePort, certs, { minVersion: 'TLSv1.3' })).toMatch(/^error: /);
    }, 30_000);

    it('the plaintext clientPort serves at the same time; conf names the secure port', async () => {
      const conf = await fourLetter(server.port, 'conf');
      expect(conf).toContain(`clientPort=${server.port}\n`);
      expect(conf).toContain(`secureClientPort=${securePort}\n`);
    }, 30_000);
  });

  describe.skipIf(needs(KAZOO, serverDependency(kind)))(`TLS on ${kind}: PEM stores, ssl.clientAuth=want, TLSv1.3, x509 super user`, () => {
    let certs: TestCerts;
    let server: RunningServer;
    let securePort: number;

    beforeAll(async () => {
      certs = makeTestCerts();
      securePort = await freePort();
      server = await startServer(kind, {
        cfg: [
          `secureClientPort=${securePort}`,
          NETTY,
          X509_PROVIDER,
          `ssl.keyStore.location=${certs.serverPem}`,
          `ssl.trustStore.location=${certs.caPem}`,
          'ssl.clientAuth=want',
          'ssl.protocol=TLSv1.3',
          'ssl.ciphersuites=TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384',
        ],
        props: [`zookeeper.X509AuthenticationProvider.superUser=${certs.bobDn}`],
        classpath: NETTY_JARS,
      });
    }, 90_000);

    afterAll(async () => {
      await server?.stop();
      certs?.remove();
    });

    it('without a certificate a client is served but has no x509 id; alice has hers; bob is super', async () => {
      const alice = await kazoo(securePort, { cert: certs.aliceCrt, key: certs.aliceKey, ca: certs.caPem }, `
zk.create('/want', b'a', acl=[make_acl('x509', ${JSON.stringify(certs.aliceDn)}, read=True)])
out['alice'] = zk.get('/want')[0].decode()
`);
      expect(alice).toEqual({ alice: 'a' });
      const anonymous = await kazoo(securePort, { ca: certs.caPem }, `
try:
    zk.get('/want')
    out['get'] = 'ok'
except NoAuthError:
    out['get'] = 'NoAuthError'
`);
      expect(anonymous).toEqual({ get: 'NoAuthError' });
      const bob = await kazoo(securePort, { cert: certs.bobCrt, key: certs.bobKey, ca: certs.caPem }, `out['bob'] = zk.get('/want')[0].decode()`);
      expect(bob).toEqual({ bob: 'a' });
    }, 90_000);

    it('ssl.protocol=TLSv1.3 is the one version served', async () => {
      expect(await handshake(securePort, certs)).toBe('TLSv1.3');
    }, 30_000);
  });
}

describe.skipIf(needs(DIST))('TLS settings on zkts: errors, secrets, TLS alone', () => {
  let certs: TestCerts;
  beforeAll(() => {
    certs = makeTestCerts();
  });
  afterAll(() => certs?.remove());

  function checkConfig(lines: string[]): { code: number | null; out: string } {
    const cfg = `${certs.dir}/zoo-${Math.random().toString(36).slice(2)}.cfg`;
    writeFileSync(cfg, [`dataDir=${certs.dir}/data`, ...lines].join('\n') + '\n');
    const r = spawnSync(process.execPath, [ZKTS_BIN, 'check-config', '--config', cfg], { encoding: 'utf8' });
    return { code: r.status, out: r.stdout + r.stderr };
  }

  it('a JKS store is refused, naming the key and the keytool command that converts it', () => {
    const r = checkConfig(['secureClientPort=2281', `ssl.keyStore.location=${certs.serverP12}`, `ssl.keyStore.password=${certs.passwords.serverStore}`, `ssl.trustStore.location=${certs.trustJks}`, `ssl.trustStore.password=${certs.passwords.trustStore}`]);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/ssl\.trustStore\.location: .*trust\.jks is a JKS store/);
    expect(r.out).toContain(`keytool -importkeystore -srckeystore ${certs.trustJks} -srcstoretype JKS`);
    expect(r.out).toContain('ssl.trustStore.type=PKCS12');
    expect(r.out).not.toContain(certs.passwords.trustStore);
  });

  it('a wrong trust store password is an error that does not print the password', () => {
    const r = checkConfig(['secureClientPort=2281', `ssl.keyStore.location=${certs.serverPem}`, `ssl.trustStore.location=${certs.trustP12}`, 'ssl.trustStore.password=not-the-password']);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/ssl\.trustStore\.location: cannot read PKCS12 store .*wrong password/);
    expect(r.out).not.toContain('not-the-password');
  });

  it('bad values are errors naming the key: clientAuth, protocol, cipher suite, store type', () => {
    const base = ['secureClientPort=2281', `ssl.keyStore.location=${certs.serverPem}`];
    expect(checkConfig([...base, 'ssl.clientAuth=maybe']).out).toMatch(/ssl\.clientAuth must be none, want or need/);
    expect(checkConfig([...base, 'ssl.protocol=SSLv3']).out).toMatch(/ssl\.protocol: unsupported protocol 'SSLv3'/);
    expect(checkConfig([...base, 'ssl.ciphersuites=TLS_FOO']).out).toMatch(/ssl\.ciphersuites: cipher suite 'TLS_FOO'/);
    expect(checkConfig(['secureClientPort=2281', `ssl.keyStore.location=${certs.dir}/server.key.der`]).out).toMatch(/cannot (read|tell the store type)/);
  });

  it('secureClientPort without clientPort serves TLS alone (clientPort=-1), as ZooKeeper; passwords show as (set)', () => {
    const r = checkConfig(['secureClientPort=2281', NETTY, `ssl.keyStore.location=${certs.serverP12}`, `ssl.keyStore.password=${certs.passwords.serverStore}`, 'ssl.clientAuth=none']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('clientPort=-1\n');
    expect(r.out).toContain('secureClientPort=2281\n');
    expect(r.out).toContain('ssl.keyStore.password=(set)\n');
    expect(r.out).not.toContain(certs.passwords.serverStore);
    expect(r.out).not.toMatch(/warning/);
  });

  it('without NettyServerCnxnFactory zkts serves TLS but warns that ZooKeeper would not start', () => {
    const r = checkConfig(['secureClientPort=2281', `ssl.keyStore.location=${certs.serverPem}`, 'ssl.clientAuth=none']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/warning: .*secureClientPort without serverCnxnFactory=org\.apache\.zookeeper\.server\.NettyServerCnxnFactory: ZooKeeper 3\.8 would refuse to start/);
  });

  it('an embedded server with secureClientPort=0 serves TLS on a free port of its own', async () => {
    const zk = await startEmbedded({ config: { secureClientPort: 0, 'ssl.keyStore.location': certs.serverPem, 'ssl.clientAuth': 'none' } });
    try {
      expect(zk.securePort).toBeGreaterThan(0);
      expect(zk.securePort).not.toBe(zk.port);
      expect(await handshake(zk.securePort!, certs, { withCert: false })).toBe('TLSv1.2');
    } finally {
      await zk.stop();
    }
  });

  it('the server log and conf never show a store password', async () => {
    const securePort = await freePort();
    const server = await startServer('zkts', {
      cfg: [`secureClientPort=${securePort}`, NETTY, X509_PROVIDER, `ssl.keyStore.location=${certs.serverP12}`, `ssl.keyStore.password=${certs.passwords.serverStore}`, `ssl.trustStore.location=${certs.trustP12}`, `ssl.trustStore.password=${certs.passwords.trustStore}`],
    });
    try {
      expect(await handshake(securePort, certs)).toBe('TLSv1.2');
      const conf = await fourLetter(server.port, 'conf');
      for (const text of [conf, server.output()]) {
        expect(text).not.toContain(certs.passwords.serverStore);
        expect(text).not.toContain(certs.passwords.trustStore);
      }
      expect(server.output()).toContain('authenticated a TLS client by its certificate');
    } finally {
      await server.stop();
    }
  }, 30_000);
});
