/**
 * TLS between servers (sslQuorum=true with ssl.quorum.* stores), as ZooKeeper 3.8 runs it: the
 * election and quorum ports speak TLS with mutual authentication. A zkts ensemble (startEnsemble of
 * src/embed.ts), and an ensemble mixing zkts with Apache ZooKeeper 3.8 from the same zoo.cfg lines.
 */
import { createConnection } from 'node:net';
import { readFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEnsemble, ZkClient, type Ensemble } from '../../src/index.js';
import { startEnsemble as startMixedEnsemble } from '../support/ensemble.js';
import { CERT_TOOLS, DIST, ZOOKEEPER, skipWithout } from '../support/requirements.js';
import { makeTestCerts, type TestCerts } from '../support/tls-certs.js';

function quorumTlsConfig(certs: TestCerts): Record<string, string> {
  return {
    sslQuorum: 'true',
    'ssl.quorum.keyStore.location': certs.serverP12,
    'ssl.quorum.keyStore.password': certs.passwords.serverStore,
    'ssl.quorum.trustStore.location': certs.trustP12,
    'ssl.quorum.trustStore.password': certs.passwords.trustStore,
  };
}

function connect(connectString: string, i: number): Promise<ZkClient> {
  const [host, port] = connectString.split(',')[i]!.split(':') as [string, string];
  return ZkClient.connect({ host, port: Number(port) });
}

/** The election port of server `id`, from its zoo.cfg server line. */
function electionPort(ens: Ensemble, id: number): number {
  const cfg = readFileSync(`${ens.servers[id - 1]!.dataDir}/../zoo.cfg`, 'utf8');
  return Number(new RegExp(`^server\\.${id}=[^:]+:\\d+:(\\d+)`, 'm').exec(cfg)![1]);
}

describe.skipIf(skipWithout(CERT_TOOLS, DIST))('sslQuorum on a zkts ensemble', () => {
  let certs: TestCerts;
  let ens: Ensemble;

  beforeAll(async () => {
    certs = makeTestCerts();
    ens = await startEnsemble({ servers: 3, config: quorumTlsConfig(certs) });
  }, 120_000);

  afterAll(async () => {
    await ens?.stop();
    certs?.remove();
  }, 60_000);

  it('elects a leader and replicates writes over TLS', async () => {
    const c1 = await connect(ens.connectString, 0);
    const c2 = await connect(ens.connectString, 1);
    await c1.create('/over-tls', Buffer.from('q'));
    await c2.sync('/over-tls');
    expect((await c2.getData('/over-tls')).data?.toString()).toBe('q');
    await Promise.all([c1.close(), c2.close()]);
  }, 60_000);

  it('the election port answers a TLS handshake with a trusted certificate, refuses one without, and drops plaintext', async () => {
    const port = electionPort(ens, 1);
    const handshake = (withCert: boolean) =>
      new Promise<string>((resolve) => {
        const s = tlsConnect({ host: '127.0.0.1', port, ca: readFileSync(certs.caPem), ...(withCert ? { pfx: readFileSync(certs.serverP12), passphrase: certs.passwords.serverStore } : {}) });
        s.once('secureConnect', () => {
          // With a certificate the handshake completes; without one the server's alert follows it (TLS 1.2: fails it).
          s.once('close', () => resolve(s.authorized ? 'closed after handshake' : 'unauthorized'));
          setTimeout(() => {
            s.destroy();
            resolve('open');
          }, 1000);
        });
        s.once('error', (e) => resolve(`error: ${e.message}`));
      });
    expect(await handshake(true)).toBe('open');
    expect(await handshake(false)).toMatch(/^error: /);
    // A plaintext peer's initial message (protocol version -65535, sid 9): not TLS, so the connection is dropped.
    const plain = await new Promise<string>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port });
      const hello = Buffer.alloc(16);
      hello.writeBigInt64BE(-65535n, 0);
      hello.writeBigInt64BE(9n, 8);
      s.once('connect', () => s.write(hello));
      s.setTimeout(5000, () => resolve('still open'));
      s.once('close', () => resolve('closed'));
      s.on('error', () => undefined);
    });
    expect(plain).toBe('closed');
  }, 60_000);

  it('a killed leader is replaced and comes back over TLS', async () => {
    const leader = await ens.settled();
    await ens.kill(leader);
    expect(await ens.settled()).not.toBe(leader);
    await ens.restart(leader);
    expect(await ens.servers[leader - 1]!.mode()).toBe('follower');
  }, 120_000);
});

describe.skipIf(skipWithout(CERT_TOOLS, DIST, ZOOKEEPER))('sslQuorum between zkts and Apache ZooKeeper 3.8', () => {
  it('a ZooKeeper server takes part (zkts accepts TLS only on its quorum ports) and replicates', async () => {
    const certs = makeTestCerts();
    const cfg = Object.entries(quorumTlsConfig(certs)).map(([k, v]) => `${k}=${v}`);
    const ens = await startMixedEnsemble(['zkts', 'zkts', 'zookeeper'], { cfg });
    try {
      await ens.settled(60_000);
      const zookeeper = ens.members.find((m) => m.kind === 'zookeeper')!;
      expect(await zookeeper.mode()).toMatch(/^(leader|follower)$/);
      const c = await ZkClient.connect({ host: '127.0.0.1', port: ens.members[0]!.clientPort });
      await c.create('/mixed-tls', Buffer.from('m'));
      await c.close();
      const z = await ZkClient.connect({ host: '127.0.0.1', port: zookeeper.clientPort });
      await z.sync('/mixed-tls');
      expect((await z.getData('/mixed-tls')).data?.toString()).toBe('m');
      await z.close();
    } finally {
      await ens.stop();
      certs.remove();
    }
  }, 180_000);
});
