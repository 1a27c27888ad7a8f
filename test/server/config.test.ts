import { describe, expect, it } from 'vitest';
import { applySystemProperties, ConfigError, defaultConfig, parseZooCfg, sessionTimeoutBounds } from '../../src/server/config.js';

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
    // Of all those keys, only the admin server's means something zkts lacks.
    expect(c.warnings).toEqual(['zoo.cfg:5: admin.serverPort: the AdminServer (HTTP) is not implemented: no admin endpoint is started']);
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
