import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { isEnsemble, resolveServerConfig } from '../../src/server/config-check.js';
import { applySystemProperties, ConfigError, defaultConfig, parseZooCfg, sessionTimeoutBounds } from '../../src/server/config.js';
import { ZkTcpServer } from '../../src/server/tcp-server.js';

describe('zoo.cfg', () => {
  it('reads the keys kazoo writes, servers included', () => {
    const c = parseZooCfg(
      [
        'tickTime=2000',
        'dataDir=/tmp/x/data',
        'clientPort=20000',
        'maxClientCnxns=0',
        'admin.serverPort=20003',
        'authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider',
        '4lw.commands.whitelist=*',
        'reconfigEnabled=true',
        'initLimit=4',
        'syncLimit=2',
        'server.1=localhost:20002:20001:participant',
        'server.2=localhost:20012:20011:observer;127.0.0.1:20010',
        'peerType=participant',
      ].join('\n'),
      'zoo.cfg',
    );
    expect(c).toMatchObject({ tickTime: 2000, dataDir: '/tmp/x/data', dataLogDir: '/tmp/x/data', clientPort: 20000, maxClientCnxns: 0, fourLetterWords: '*', reconfigEnabled: true, adminServerPort: 20003 });
    expect(c.servers).toEqual([
      { id: 1, host: 'localhost', quorumPort: 20002, electionPort: 20001, role: 'participant' },
      { id: 2, host: 'localhost', quorumPort: 20012, electionPort: 20011, role: 'observer', clientAddress: '127.0.0.1', clientPort: 20010 },
    ]);
    // zkts acts on every one of those keys (admin.serverPort: its admin server's port, once enabled).
    expect(c.warnings).toEqual([]);
  });

  it('names the file, line and key of a bad value', () => {
    expect(() => parseZooCfg('clientPort=2181\ntickTime=abc\n', '/etc/zoo.cfg')).toThrowError(
      new ConfigError("/etc/zoo.cfg:2: tickTime must be an integer, got 'abc'"),
    );
    expect(() => parseZooCfg('\n\nclientPort=70000', 'z.cfg')).toThrowError(/z\.cfg:3: clientPort must be between 0 and 65535/);
    expect(() => parseZooCfg('extendedTypesEnabled=maybe', 'z.cfg')).toThrowError(/z\.cfg:1: extendedTypesEnabled must be true or false/);
    expect(() => parseZooCfg('server.1=localhost:1', 'z.cfg')).toThrowError(/z\.cfg:1: server\.1 must be/);
  });

  it('warns about unknown keys instead of failing', () => {
    const c = parseZooCfg('# comment\nfrobnicate=yes\n', 'z.cfg');
    expect(c.warnings).toEqual(["z.cfg:2: unknown key 'frobnicate' ignored"]);
  });

  it('negotiates session timeouts between 2 and 20 ticks unless told otherwise', () => {
    expect(sessionTimeoutBounds(parseZooCfg('tickTime=2000', 'z'))).toEqual({ min: 4000, max: 40000 });
    expect(sessionTimeoutBounds(parseZooCfg('tickTime=2000\nminSessionTimeout=1000\nmaxSessionTimeout=5000', 'z'))).toEqual({ min: 1000, max: 5000 });
    expect(() => parseZooCfg('minSessionTimeout=9000\nmaxSessionTimeout=5000', 'z')).toThrowError(/must not exceed/);
  });

  it('takes Java-style system properties as the kazoo harness passes them', () => {
    const c = applySystemProperties(defaultConfig(), [
      'zookeeper.DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=',
      'java.security.auth.login.config=/tmp/jaas.conf',
      'readonlymode.enabled=true',
      'zookeeper.extendedTypesEnabled=true',
      'file.encoding=UTF-8',
    ]);
    expect(c).toMatchObject({ superDigest: 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=', jaasConfigFile: '/tmp/jaas.conf', readOnlyModeEnabled: true, extendedTypesEnabled: true });
  });

  it('defaults to a standalone server on 127.0.0.1:2181', () => {
    expect(defaultConfig()).toMatchObject({ clientPort: 2181, clientPortAddress: '127.0.0.1', tickTime: 2000 });
  });
});

describe('ensemble configs', () => {
  const ensemble = ['tickTime=2000', 'dataDir=/tmp/x', 'clientPort=2181', 'server.2=b:2888:3888', 'server.1=a:2888:3888'].join('\n');

  it('are ensembles with two or more server lines, or one with standaloneEnabled=false', () => {
    const c = parseZooCfg(ensemble, '/etc/zoo.cfg');
    expect(c.servers.map((s) => s.id)).toEqual([2, 1]);
    expect(isEnsemble(c)).toBe(true);
    expect(isEnsemble(parseZooCfg('server.1=a:2888:3888\n', 'z.cfg'))).toBe(false); // ZooKeeper runs that standalone
    expect(isEnsemble(parseZooCfg('server.1=a:2888:3888\nstandaloneEnabled=false\n', 'z.cfg'))).toBe(true);
    expect(isEnsemble(parseZooCfg('tickTime=2000\nclientPort=2181\n', 'z.cfg'))).toBe(false);
  });

  it('read their server lines from a dynamicConfigFile', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zkts-dyn-'));
    const dyn = join(dir, 'zoo.cfg.dynamic.100000000');
    writeFileSync(dyn, 'server.1=127.0.0.1:2888:3888:participant;127.0.0.1:2181\nserver.2=127.0.0.1:2889:3889:participant\nversion=100000000\n');
    const c = parseZooCfg(`tickTime=2000\ndynamicConfigFile=${dyn}\n`, 'z.cfg');
    expect(c.servers.map((s) => [s.id, s.quorumPort, s.clientPort])).toEqual([[1, 2888, 2181], [2, 2889, undefined]]);
    writeFileSync(dyn, 'clientPort=2181\n');
    expect(() => parseZooCfg(`dynamicConfigFile=${dyn}\n`, 'z.cfg')).toThrowError(/server\.N and version lines only/);
  });

  it('need a myid naming one of the server lines, as ZooKeeper', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zkts-myid-'));
    const cfg = join(dir, 'zoo.cfg');
    writeFileSync(cfg, `tickTime=2000\ndataDir=${dir}\nclientPort=2181\nserver.1=a:2888:3888\nserver.2=b:2888:3888\n`);
    expect(() => resolveServerConfig({ config: cfg })).toThrowError(`${dir}/myid file is missing`);
    writeFileSync(join(dir, 'myid'), '7\n');
    expect(() => resolveServerConfig({ config: cfg })).toThrowError(/My id 7 not in the peer list/);
    writeFileSync(join(dir, 'myid'), '2\n');
    expect(resolveServerConfig({ config: cfg }).myid).toBe(2);
    writeFileSync(cfg, `tickTime=2000\ndataDir=${dir}\nclientPort=2181\nserver.1=a:2888:3888\nserver.2=b:2888:3888:observer\n`);
    const observer = resolveServerConfig({ config: cfg });
    expect(observer.servers.find((s) => s.id === observer.myid)?.role).toBe('observer');
  });

  it('takes peerType=observer without a warning: the server lines say who observes', () => {
    expect(parseZooCfg('tickTime=2000\npeerType=observer\n', 'z.cfg').warnings).toEqual([]);
  });
});

describe('settings zkts does not act on', () => {
  const warningsOf = (line: string) => parseZooCfg(`tickTime=2000\n${line}\n`, 'z.cfg').warnings;

  it.each([
    ['portUnification=true', /the election and quorum ports take TLS only with sslQuorum=true/],
    ['client.portUnification=true', /clientPort serves plaintext only; TLS clients use secureClientPort/],
    ['ssl.crl=true', /revocation \(CRL, OCSP\) is not checked/],
    ['ssl.context.supplier.class=com.example.Supplier', /built from the ssl\.\* store settings/],
    ['ssl.authProvider=custom', /only the x509 provider/],
    ['ssl.keyStore.frobnicate=1', /not a ZooKeeper 3\.8 TLS setting/],
    ['sslQuorumReloadCertFiles=true', /read once, at start/],
    ['quorum.auth.enableSasl=true', /quorum SASL is not supported/],
    ['quorum.auth.learnerRequireSasl=true', /quorum SASL is not supported/],
    ['quorum.auth.kerberos.servicePrincipal=zkquorum/localhost', /quorum SASL is not supported/],
    ['skipACL=true', /only 'yes' turns ACL checks off/],
    ['audit.enable=true', /no audit log is written/],
    ['admin.forceHttps=true', /HTTPS for the admin server is not supported/],
    ['admin.portUnification=true', /HTTPS for the admin server is not supported/],
    ['metricsProvider.className=com.example.MyMetricsProvider', /unknown metrics provider com\.example\.MyMetricsProvider/],
    ['clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty', /a client setting/],
    ['authProvider.1=com.example.CustomAuthenticationProvider', /custom authentication providers are not supported/],
    ['letAnySaslUserDoX=anyone', /not supported/],
    ['enforce.auth.enabled=true', /clients that do not authenticate are served/],
    ['DigestAuthenticationProvider.digestAlg=SHA3-256', /digest ids are computed with SHA1/],
    ['snapSizeLimitInKb=4194304', /every snapCount txns only/],
    ['clientPortListenBacklog=100', /default backlog/],
    ['jvm.pause.monitor=true', /no JVM pause monitor/],
    ['quorumListenOnAllIPs=true', /listen on the address of this server's server\.N line/],
    ['cnxTimeout=5000', /time out after 5 s/],
    ['localSessionsEnabled=true', /every session is global/],
    ['leaderServes=no', /the leader serves clients too/],
  ])('%s: one warning naming the line and key', (line, note) => {
    const key = line.substring(0, line.indexOf('='));
    const warnings = warningsOf(line);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(new RegExp(`^z\\.cfg:2: ${key.replace(/\./g, '\\.')}: `));
    expect(warnings[0]).toMatch(note);
  });

  it.each([
    'globalOutstandingLimit=1000', // implemented by the request throttling work
    'admin.enableServer=false',
    'audit.enable=false',
    'skipACL=no',
    'authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider',
    'authProvider.sasl=org.apache.zookeeper.server.auth.SASLAuthenticationProvider',
    'peerType=participant',
    'standaloneEnabled=false',
    'syncEnabled=true',
    'electionAlg=3',
    'quorumListenOnAllIPs=false',
    'leaderServes=yes',
    'group.1=1:2:3',
    'weight.1=1',
    'DigestAuthenticationProvider.digestAlg=SHA1',
    // TLS settings the secure client port honours
    'secureClientPort=2281',
    'ssl.keyStore.location=/etc/zk/keystore.p12',
    'ssl.clientAuth=need',
    'ssl.hostnameVerification=false',
    'ssl.authProvider=x509',
    'sslQuorum=false',
    'sslQuorum=true',
    'ssl.quorum.keyStore.location=/k.p12',
    'ssl.quorum.hostnameVerification=false',
    'serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory',
    'authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider',
  ])('%s: accepted quietly (the default, no effect, or done)', (line) => {
    expect(warningsOf(line)).toEqual([]);
  });

  it('every key of ZooKeeper 3.8 QuorumPeerConfig is set or noted, none is unknown', () => {
    const keys = [
      'dataDir', 'dataLogDir', 'clientPort', 'localSessionsEnabled', 'localSessionsUpgradingEnabled', 'clientPortAddress',
      'secureClientPort', 'secureClientPortAddress', 'observerMasterPort', 'clientPortListenBacklog', 'tickTime',
      'maxClientCnxns', 'minSessionTimeout', 'maxSessionTimeout', 'initLimit', 'syncLimit', 'connectToLearnerMasterLimit',
      'electionAlg', 'quorumListenOnAllIPs', 'peerType', 'syncEnabled', 'autopurge.snapRetainCount',
      'autopurge.purgeInterval', 'standaloneEnabled', 'reconfigEnabled', 'sslQuorum', 'portUnification',
      'sslQuorumReloadCertFiles', 'quorum.auth.enableSasl', 'quorum.auth.serverRequireSasl', 'quorum.auth.learnerRequireSasl',
      'quorum.auth.learner.saslLoginContext', 'quorum.auth.server.saslLoginContext', 'quorum.auth.kerberos.servicePrincipal',
      'quorum.cnxn.threads.size', 'jvm.pause.info-threshold.ms', 'jvm.pause.warn-threshold.ms', 'jvm.pause.sleep.time.ms',
      'jvm.pause.monitor', 'metricsProvider.className', 'multiAddress.enabled', 'multiAddress.reachabilityCheckTimeoutMs',
      'multiAddress.reachabilityCheckEnabled', 'oraclePath',
    ];
    const values: Record<string, string> = { peerType: 'participant', electionAlg: '3', 'autopurge.snapRetainCount': '3', clientPortAddress: '127.0.0.1' };
    for (const key of keys) {
      const value = values[key] ?? (/Port$|Limit$|Timeout$|tickTime|Cnxns|Interval|size|ms$|Ms$/.test(key) ? '10' : /Address$|Dir$|Context$|Principal$|className|oraclePath/.test(key) ? 'x' : 'true');
      // ZooKeeper refuses a secureClientPortAddress without a secureClientPort; so does zkts.
      const needs = key === 'secureClientPortAddress' ? 'secureClientPort=10\n' : '';
      const warnings = parseZooCfg(`${needs}${key}=${value}\n`, 'z.cfg').warnings;
      expect(warnings.filter((w) => w.includes('unknown key')), key).toEqual([]);
    }
  });

  it('a secureClientPortAddress without secureClientPort is refused, as in ZooKeeper', () => {
    expect(() => parseZooCfg('secureClientPortAddress=0.0.0.0\n', 'z.cfg')).toThrowError('z.cfg:1: secureClientPortAddress is set but secureClientPort is not set');
  });

  it('ssl.* and X509 settings are read from zoo.cfg and from -Dzookeeper.* properties', () => {
    const c = applySystemProperties(
      parseZooCfg('secureClientPort=2281\nssl.keyStore.location=/k.p12\nauthProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider\n', 'z.cfg'),
      ['zookeeper.ssl.trustStore.location=/t.pem', 'zookeeper.X509AuthenticationProvider.superUser=CN=admin'],
    );
    expect(c.secureClientPort).toBe(2281);
    expect(c.ssl).toEqual({ 'ssl.keyStore.location': '/k.p12', 'ssl.trustStore.location': '/t.pem' });
    expect(c.x509AuthProvider).toBe(true);
    expect(c.x509SuperUser).toBe('CN=admin');
    expect(c.warnings).toEqual([]);
  });

  it('skipACL is on for the exact value yes only, as in ZooKeeper', () => {
    expect(parseZooCfg('skipACL=yes', 'z').skipAcl).toBe(true);
    expect(parseZooCfg('skipACL=no', 'z').skipAcl).toBe(false);
    expect(parseZooCfg('skipACL=true', 'z').skipAcl).toBe(false);
    expect(parseZooCfg('skipACL=YES', 'z').skipAcl).toBe(false);
    expect(applySystemProperties(defaultConfig(), ['zookeeper.skipACL=yes']).skipAcl).toBe(true);
  });

  it('zookeeper.superUser and zookeeper.superUser.* name SASL super users, from zoo.cfg or -D', () => {
    const c = applySystemProperties(parseZooCfg('superUser=alice\nsuperUser.2=bob\n', 'z'), ['zookeeper.superUser.ops=carol', 'zookeeper.superUser=dave']);
    expect(c.superUsers).toEqual({ superUser: 'dave', 'superUser.2': 'bob', 'superUser.ops': 'carol' });
    expect(c.warnings).toEqual([]);
  });
});

describe('system properties (-D)', () => {
  it('unknown ones are warned, as unknown zoo.cfg keys are', () => {
    const c = applySystemProperties(defaultConfig(), ['zookeeper.frobnicate=1', 'com.example.flag=true']);
    expect(c.warnings).toEqual(['-Dzookeeper.frobnicate: unknown system property ignored', '-Dcom.example.flag: unknown system property ignored']);
  });

  it('zookeeper.<key> means what <key> means in zoo.cfg', () => {
    const c = applySystemProperties(defaultConfig(), ['zookeeper.serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory', 'zookeeper.clientPortListenBacklog=10']);
    expect(c.serverCnxnFactory).toBe('org.apache.zookeeper.server.NettyServerCnxnFactory');
    expect(c.warnings).toEqual(["-Dzookeeper.clientPortListenBacklog: ignored: the listener uses Node.js's default backlog"]);
  });

  it('the properties kazoo\'s harness passes leave one warning, about logging', () => {
    const c = applySystemProperties(defaultConfig(), [
      'file.encoding=UTF-8',
      'readonlymode.enabled=true',
      'zookeeper.log.dir=/tmp/w/log',
      'zookeeper.root.logger=INFO,CONSOLE',
      'log4j.configuration=file:/tmp/w/log4j.properties',
      'java.awt.headless=true',
      'java.security.auth.login.config=/tmp/w/jaas.conf',
      'zookeeper.DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=',
    ]);
    expect(c.warnings).toEqual(['-Dzookeeper.log.dir: ignored: zkts logs JSON lines to stdout (set the level with --log-level or ZKTS_LOG_LEVEL)']);
  });

  it('a file.encoding other than UTF-8 is warned', () => {
    expect(applySystemProperties(defaultConfig(), ['file.encoding=ISO-8859-1']).warnings).toEqual([
      '-Dfile.encoding: ignored: zkts decodes text (digest credentials, paths) as UTF-8',
    ]);
  });
});

describe('clientPortAddress', () => {
  it('a zoo.cfg without it means every interface, as in ZooKeeper; zkts start without a zoo.cfg keeps 127.0.0.1', () => {
    expect(parseZooCfg('clientPort=2181\n', 'z').clientPortAddress).toBeUndefined();
    expect(parseZooCfg('clientPort=2181\nclientPortAddress=10.0.0.1\n', 'z').clientPortAddress).toBe('10.0.0.1');
    expect(resolveServerConfig({ define: [] }).clientPortAddress).toBe('127.0.0.1');
  });

  it('a server from a zoo.cfg without it listens on the wildcard and answers on a non-loopback address', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zkts-wildcard-'));
    const config = parseZooCfg(`dataDir=${dir}\nclientPort=0\n4lw.commands.whitelist=ruok\npreAllocSize=1024\n`, join(dir, 'zoo.cfg'));
    const server = new ZkTcpServer(config, pino({ level: 'silent' }));
    try {
      const { address, port } = await server.start();
      expect(['::', '0.0.0.0']).toContain(address);
      const external = Object.values(networkInterfaces())
        .flat()
        .find((a) => a !== undefined && !a.internal && a.family === 'IPv4');
      if (external === undefined) return; // no other interface: the wildcard above is the proof
      const answer = await new Promise<string>((resolve, reject) => {
        const sock = connect({ host: external.address, port }, () => sock.end('ruok'));
        let text = '';
        sock.on('data', (d) => (text += d.toString()));
        sock.on('close', () => resolve(text));
        sock.on('error', reject);
      });
      expect(answer).toBe('imok');
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
