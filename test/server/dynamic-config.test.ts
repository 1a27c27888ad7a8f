/**
 * The config logic of dynamic reconfiguration (src/server/dynamic-config.ts): the next config a
 * reconfig request makes, with ZooKeeper's refusals, and the files ZooKeeper writes for it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, KeeperError } from '../../src/jute/index.js';
import { loadZooCfg } from '../../src/server/config.js';
import { configText, nextConfig, parseConfigText, quorumConfigOf, writeConfigFiles, type MembershipChange } from '../../src/server/dynamic-config.js';

const CURRENT = parseConfigText('server.1=127.0.0.1:2001:3001:participant\nserver.2=127.0.0.1:2002:3002:participant\nserver.3=127.0.0.1:2003:3003:participant\nversion=100000000')!;
const change = (c: Partial<MembershipChange>): MembershipChange => ({ joiningServers: null, leavingServers: null, newMembers: null, ...c });

function refusal(f: () => unknown): number | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof KeeperError) return e.code;
    throw e;
  }
  return undefined;
}

describe('nextConfig', () => {
  it('adds and removes servers incrementally, keeping the text a joiner was given', () => {
    const joining = 'server.100=0.0.0.0:4001:4002:observer;0.0.0.0:4003';
    const added = nextConfig(CURRENT, change({ joiningServers: joining }), 0x100000004, true);
    expect(configText(added)).toBe(`${configText(CURRENT).replace(/\nversion=.*$/, '')}\n${joining}\nversion=100000004`);
    const removed = nextConfig(added, change({ leavingServers: '100, 3' }), 0x100000005, true);
    expect(removed.members.map((m) => m.sid)).toEqual([1, 2]);
    // A client port alone means every interface, as ZooKeeper prints it.
    expect(configText(nextConfig(CURRENT, change({ joiningServers: 'server.9=h:1:2:observer;3456' }), 7, true))).toMatch(/^server\.9=h:1:2:observer;0\.0\.0\.0:3456$/m);
  });

  it('replaces the membership with newMembers (comma or newline separated)', () => {
    const next = nextConfig(CURRENT, change({ newMembers: 'server.1=127.0.0.1:2001:3001:participant;2181,server.5=127.0.0.1:2005:3005;2185' }), 9, true);
    expect(configText(next)).toBe('server.1=127.0.0.1:2001:3001:participant;0.0.0.0:2181\nserver.5=127.0.0.1:2005:3005:participant;0.0.0.0:2185\nversion=9');
  });

  it('refuses with BADARGUMENTS what ZooKeeper refuses', () => {
    expect(refusal(() => nextConfig(CURRENT, change({ joiningServers: 'some thing' }), 9, true))).toBe(ErrorCode.BADARGUMENTS);
    expect(refusal(() => nextConfig(CURRENT, change({ joiningServers: 'server.4=127.0.0.1:2004:3004:observer' }), 9, true))).toBe(ErrorCode.BADARGUMENTS); // no client port
    expect(refusal(() => nextConfig(CURRENT, change({ joiningServers: 'server.4=127.0.0.1:2001:3004;2184' }), 9, true))).toBe(ErrorCode.BADARGUMENTS); // server 1's quorum address
    expect(refusal(() => nextConfig(CURRENT, change({ leavingServers: 'x' }), 9, true))).toBe(ErrorCode.BADARGUMENTS);
    expect(refusal(() => nextConfig(CURRENT, change({ leavingServers: '1,2' }), 9, true))).toBe(ErrorCode.BADARGUMENTS); // one voter, standaloneEnabled
    expect(refusal(() => nextConfig(CURRENT, change({ leavingServers: '1,2' }), 9, false))).toBeUndefined();
    expect(refusal(() => nextConfig(CURRENT, change({ leavingServers: '1,2,3' }), 9, false))).toBe(ErrorCode.BADARGUMENTS);
    expect(refusal(() => nextConfig(CURRENT, change({ newMembers: 'tickTime=2' }), 9, true))).toBe(ErrorCode.BADARGUMENTS);
  });
});

describe('writeConfigFiles', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('writes zoo.cfg.dynamic.<version> as ZooKeeper does and points zoo.cfg at it; zoo.cfg then reads back the same config', () => {
    dir = mkdtempSync(join(tmpdir(), 'zkts-dynconf-'));
    const cfg = join(dir, 'zoo.cfg');
    const original = `tickTime=2000\ndataDir=${dir}\nclientPort=2181\npeerType=participant\n${configText(CURRENT).replace(/\nversion=.*$/, '')}\n`;
    writeFileSync(cfg, original);
    const next = nextConfig(CURRENT, change({ joiningServers: 'server.10=127.0.0.1:2010:3010:observer;2190' }), 0x100000004, true);
    const file = writeConfigFiles(cfg, next);
    expect(file).toBe(`${cfg}.dynamic.100000004`);
    // Sorted as Java sorts the key=value strings ('0' < '=': server.10 before server.1), no version line, no final newline.
    expect(readFileSync(file, 'utf8')).toBe(
      'server.10=127.0.0.1:2010:3010:observer;0.0.0.0:2190\nserver.1=127.0.0.1:2001:3001:participant\nserver.2=127.0.0.1:2002:3002:participant\nserver.3=127.0.0.1:2003:3003:participant',
    );
    expect(readFileSync(cfg, 'utf8')).toBe(`tickTime=2000\ndataDir=${dir}\nclientPort=2181\ndynamicConfigFile=${file}\n`);
    expect(readFileSync(`${cfg}.bak`, 'utf8')).toBe(original);
    const reread = loadZooCfg(cfg);
    expect(configText(quorumConfigOf(reread))).toBe(configText(next));
    // The next one replaces the pointer; the backup keeps the original.
    writeConfigFiles(cfg, nextConfig(next, change({ leavingServers: '10' }), 0x100000005, true));
    expect(readFileSync(cfg, 'utf8')).toBe(`tickTime=2000\ndataDir=${dir}\nclientPort=2181\ndynamicConfigFile=${cfg}.dynamic.100000005\n`);
    expect(readFileSync(`${cfg}.bak`, 'utf8')).toBe(original);
  });
});
