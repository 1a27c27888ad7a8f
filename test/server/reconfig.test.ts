/**
 * Dynamic reconfiguration on a zkts ensemble of 3 (reconfigEnabled=true, a digest superuser), as
 * ZooKeeper 3.8 does it: every member shows the config in /zookeeper/config (and fires its watches
 * when it changes); a reconfig request, sent to a follower and forwarded, is refused with NOAUTH
 * without super, BADARGUMENTS for garbage and BADVERSION for a config id that is not the current
 * one; a superuser adds an observer (answered with the new config), which then really starts,
 * syncs and serves reads; every member writes zoo.cfg.dynamic.<version> and points zoo.cfg at it;
 * then the observer is removed again. In mixed ensembles with Apache ZooKeeper 3.8.0, either kind
 * leading, a reconfig through the other kind's member is activated by both kinds: the wire format of
 * the reconfig proposal, COMMITANDACTIVATE and NEWLEADER's config, both ways; the observer it adds
 * (a zkts one to a ZooKeeper leader, a ZooKeeper one to a zkts leader) starts, syncs and serves.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ZkClient, type WatchEvent } from '../../src/client/zk-client.js';
import { ErrorCode, EventType, JuteReader, OpCode, records } from '../../src/jute/index.js';
import { startEnsemble, type Ensemble, type Kind, type Member } from '../support/ensemble.js';
import { DIST, skipWithout, ZOOKEEPER } from '../support/requirements.js';
import { fourLetter, freePort, ZKTS_BIN, ZOOKEEPER_CLASSPATH } from '../support/servers.js';

let ensemble: Ensemble | undefined;
/** A server started beside the ensemble (startNewServer). */
let extra: ChildProcess | undefined;
const clients: ZkClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  if (extra && extra.exitCode === null && extra.signalCode === null) {
    const exited = new Promise((r) => extra!.once('exit', r));
    extra.kill('SIGKILL');
    await exited;
  }
  extra = undefined;
  await ensemble?.stop();
  ensemble = undefined;
});

/** super:test, as kazoo's harness sets it up. */
const SUPER_DIGEST = 'zookeeper.DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=';

async function client(port: number): Promise<ZkClient> {
  const c = await ZkClient.connect({ port, timeout: 30_000 });
  clients.push(c);
  return c;
}

/** A reconfig request: its error code, and the config and stat it answers with. */
async function reconfig(c: ZkClient, req: Partial<records.ReconfigRequest>): Promise<{ err: number; config?: string; stat?: records.Stat }> {
  const full: records.ReconfigRequest = { joiningServers: null, leavingServers: null, newMembers: null, curConfigId: -1, ...req };
  const { header, reader } = await c.request(OpCode.reconfig, (w) => records.ReconfigRequest.write(w, full));
  if (header.err !== 0) return { err: header.err };
  const r = records.GetDataResponse.read(reader as JuteReader);
  return { err: 0, config: r.data?.toString() ?? '', stat: r.stat };
}

async function configAt(m: Member): Promise<string> {
  const c = await client(m.clientPort);
  await c.sync('/zookeeper/config');
  return (await c.getData('/zookeeper/config')).data?.toString() ?? '';
}

const versionOf = (config: string) => parseInt(/^version=([0-9a-f]+)$/m.exec(config)![1]!, 16);

async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts server `sid` beside the ensemble, zkts or Apache ZooKeeper, with the server lines of
 * `config` (the config that made it a member), and waits until srvr shows it serving as `mode`;
 * returns that mode.
 */
async function startNewServer(e: Ensemble, sid: number, config: string, ports: { client: number }, mode: 'observer' | 'follower', kind: Kind = 'zkts'): Promise<string> {
  const dir = join(dirname(dirname(e.members[0]!.dataDir)), `s${sid}`);
  mkdirSync(join(dir, 'data'), { recursive: true });
  writeFileSync(join(dir, 'data', 'myid'), `${sid}\n`);
  const cfg = join(dir, 'zoo.cfg');
  const lines = config.split('\n').filter((l) => l.startsWith('server.'));
  const peerType = mode === 'observer' ? ['peerType=observer'] : [];
  writeFileSync(cfg, ['tickTime=500', 'initLimit=10', 'syncLimit=5', `dataDir=${join(dir, 'data')}`, `clientPort=${ports.client}`, 'clientPortAddress=127.0.0.1', 'reconfigEnabled=true', ...peerType, '4lw.commands.whitelist=*', ...lines, ''].join('\n'));
  let out = '';
  const child =
    kind === 'zkts'
      ? spawn(process.execPath, [ZKTS_BIN, 'start', '--config', cfg, `-D${SUPER_DIGEST}`], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('/usr/bin/java', ['-Xmx256m', '-XX:+UseSerialGC', '-cp', ZOOKEEPER_CLASSPATH, '-Dzookeeper.admin.enableServer=false', `-D${SUPER_DIGEST}`, 'org.apache.zookeeper.server.quorum.QuorumPeerMain', cfg], {
          cwd: dir,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
  extra = child;
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const pattern = new RegExp(`^Mode: (${mode})`, 'm');
  return until(`${kind} server ${sid} to serve as ${mode}`, async () => pattern.exec(await fourLetter(ports.client, 'srvr'))?.[1], 60_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${out.slice(-3000)}`);
  });
}

describe('dynamic reconfiguration on a zkts ensemble of 3', () => {
  it.skipIf(skipWithout(DIST))('adds an observer that then serves, removes it, and refuses bad requests as ZooKeeper does', async () => {
    ensemble = await startEnsemble(['zkts', 'zkts', 'zkts'], { tickTime: 500, cfg: ['reconfigEnabled=true'], systemProperties: [SUPER_DIGEST] });
    const leader = await ensemble.settled(60_000);
    const follower = ensemble.members.find((m) => m !== leader)!;

    // Every member shows the static config, in QuorumMaj.toString's format, versioned by the leader
    // with its epoch's first zxid as ZooKeeper's leader does (ZOOKEEPER-1783).
    const initial = await configAt(leader);
    expect(initial).toMatch(/^server\.1=127\.0\.0\.1:\d+:\d+:participant\nserver\.2=127\.0\.0\.1:\d+:\d+:participant\nserver\.3=127\.0\.0\.1:\d+:\d+:participant\nversion=[1-9a-f][0-9a-f]*0{8}$/);
    for (const m of ensemble.members) expect(await configAt(m)).toBe(initial);

    // A client of a follower watches the config; its requests are forwarded to the leader.
    const watcher = await client(follower.clientPort);
    const events: WatchEvent[] = [];
    watcher.onEvent((e) => events.push(e));
    await watcher.getData('/zookeeper/config', true);

    const observerPorts = { quorum: await freePort(), election: await freePort(), client: await freePort() };
    const joining = `server.4=127.0.0.1:${observerPorts.quorum}:${observerPorts.election}:observer;127.0.0.1:${observerPorts.client}`;
    // Only a superuser may reconfigure (the config node is world-readable only); garbage and a stale config id are refused first.
    expect((await reconfig(watcher, { joiningServers: joining })).err).toBe(ErrorCode.NOAUTH);
    expect((await reconfig(watcher, { joiningServers: 'some thing' })).err).toBe(ErrorCode.BADARGUMENTS);
    const admin = await client(follower.clientPort);
    await admin.addAuth('digest', 'super:test');
    expect((await reconfig(admin, { joiningServers: 'server.5=127.0.0.1:1:2:observer' })).err).toBe(ErrorCode.BADARGUMENTS); // no client port
    expect((await reconfig(admin, { leavingServers: '1,2' })).err).toBe(ErrorCode.BADARGUMENTS); // one voter left
    expect((await reconfig(admin, { joiningServers: joining, curConfigId: versionOf(initial) + 1 })).err).toBe(ErrorCode.BADVERSION);
    expect(events).toEqual([]);

    const added = await reconfig(admin, { joiningServers: joining, curConfigId: versionOf(initial) });
    expect(added.err).toBe(0);
    expect(added.config).toBe(`${initial.replace(/\nversion=[0-9a-f]+$/, '')}\n${joining}\nversion=${added.stat!.mzxid.toString(16)}`);
    expect(added.stat!.version).toBe(-1);
    await until('the watch event', async () => (events.length > 0 ? true : undefined));
    expect(events).toMatchObject([{ type: EventType.NodeDataChanged, state: 3, path: '/zookeeper/config' }]);
    for (const m of ensemble.members) {
      expect(await configAt(m)).toBe(added.config);
      // As ZooKeeper: zoo.cfg names zoo.cfg.dynamic.<version>, which holds the server lines, sorted, without the version.
      const cfg = join(dirname(m.dataDir), 'zoo.cfg');
      const dynamic = /^dynamicConfigFile=(.+)$/m.exec(readFileSync(cfg, 'utf8'))?.[1];
      expect(dynamic).toBe(`${cfg}.dynamic.${versionOf(added.config!).toString(16)}`);
      expect(readFileSync(dynamic!, 'utf8')).toBe(added.config!.split('\n').slice(0, -1).sort().join('\n'));
      expect(readFileSync(cfg, 'utf8')).not.toMatch(/^server\./m);
    }

    // The observer starts with the new config's server lines; it learns the ensemble's version from the leader.
    const mode = await startNewServer(ensemble, 4, added.config!, observerPorts, 'observer');
    expect(mode).toBe('observer');
    await (await client(leader.clientPort)).create('/after-join', Buffer.from('seen'));
    const atObserver = await client(observerPorts.client);
    await atObserver.sync('/after-join');
    expect((await atObserver.getData('/after-join')).data?.toString()).toBe('seen');
    expect((await atObserver.getData('/zookeeper/config')).data?.toString()).toBe(added.config);

    // Removed again: the config is the three voters' with a newer version, and the observer stops serving.
    const removed = await reconfig(admin, { leavingServers: '4' });
    expect(removed.err).toBe(0);
    expect(removed.config).toBe(`${initial.replace(/\nversion=[0-9a-f]+$/, '')}\nversion=${removed.stat!.mzxid.toString(16)}`);
    expect(versionOf(removed.config!)).toBeGreaterThan(versionOf(added.config!));
    for (const m of ensemble.members) expect(await configAt(m)).toBe(removed.config);
    await until('the removed observer to stop serving', async () => ((await fourLetter(observerPorts.client, 'srvr')).startsWith('Zookeeper version') ? undefined : true));

    // A member restarted from its files (zoo.cfg without server lines, the dynamic file) rejoins with the last config.
    await follower.kill();
    follower.start(undefined, true);
    await ensemble.settled(60_000);
    expect(await configAt(follower)).toBe(removed.config);
  }, 180_000);
});

describe('adding a participant by reconfig', () => {
  it.skipIf(skipWithout(DIST))('the new voter, started with the new config, follows and counts in the quorum', async () => {
    ensemble = await startEnsemble(['zkts', 'zkts', 'zkts'], { tickTime: 500, cfg: ['reconfigEnabled=true'], systemProperties: [SUPER_DIGEST] });
    const leader = await ensemble.settled(60_000);
    const admin = await client(leader.clientPort);
    await admin.addAuth('digest', 'super:test');
    const ports = { quorum: await freePort(), election: await freePort(), client: await freePort() };
    // Three of the four new voters are synced: a quorum of the new config, so it may go ahead.
    const added = await reconfig(admin, { joiningServers: `server.4=127.0.0.1:${ports.quorum}:${ports.election}:participant;127.0.0.1:${ports.client}` });
    expect(added.err).toBe(0);
    expect(await startNewServer(ensemble, 4, added.config!, ports, 'follower')).toBe('follower');
    const mntr = await fourLetter(leader.clientPort, 'mntr');
    expect(/^zk_quorum_size\t(\d+)/m.exec(mntr)?.[1]).toBe('4');
    expect(/^zk_synced_followers\t(\d+)/m.exec(mntr)?.[1]).toBe('3');
    await admin.create('/after-join', Buffer.from('4'));
    const atNew = await client(ports.client);
    await atNew.sync('/after-join');
    expect((await atNew.getData('/after-join')).data?.toString()).toBe('4');
  }, 180_000);
});

const leaderRemovals: [string, Kind[]][] = [
  ['zkts throughout', ['zkts', 'zkts', 'zkts', 'zkts']],
  // The highest sid leads (test/support/ensemble.ts): the leader removed is of the other kind.
  ['a zkts leader of Apache ZooKeeper followers', ['zookeeper', 'zookeeper', 'zookeeper', 'zkts']],
  ['an Apache ZooKeeper leader of zkts followers', ['zkts', 'zkts', 'zkts', 'zookeeper']],
];

describe.each(leaderRemovals)('removing the leader by reconfig: %s', (_name, kinds) => {
  it.skipIf(skipWithout(DIST, ...(kinds.includes('zookeeper') ? [ZOOKEEPER] : [])))('hands leadership to a remaining voter, which serves the new config and takes writes', async () => {
    ensemble = await startEnsemble(kinds, { tickTime: 500, cfg: ['reconfigEnabled=true'], systemProperties: [SUPER_DIGEST] });
    const leader = await ensemble.settled(90_000);
    expect(leader.kind).toBe(kinds[3]);
    const rest = ensemble.members.filter((m) => m !== leader);
    const admin = await client(rest[0]!.clientPort);
    await admin.addAuth('digest', 'super:test');
    const before = await configAt(rest[0]!);
    // A zkts follower answers once it applied the reconfig (COMMITANDACTIVATE), before it leaves the
    // old leader; a ZooKeeper follower leaves at once, racing its own answer (the client may see the
    // connection close instead, as with ZooKeeper alone).
    const answer = await reconfig(admin, { leavingServers: String(leader.sid) }).catch((e: Error) => {
      if (rest[0]!.kind === 'zkts') throw e;
      return undefined;
    });
    // The three others elect a leader among themselves, and all of them show the new config.
    const next = await until('a new leader', async () => {
      const modes = await Promise.all(rest.map((m) => m.mode()));
      return modes.filter((x) => x === 'leader').length === 1 && modes.every((x) => x === 'leader' || x === 'follower') ? rest[modes.indexOf('leader')] : undefined;
    }, 60_000);
    const config = await configAt(next);
    expect(config).not.toMatch(new RegExp(`^server\\.${leader.sid}=`, 'm'));
    expect(config.split('\n').filter((l) => l.startsWith('server.'))).toHaveLength(3);
    expect(versionOf(config)).toBeGreaterThan(versionOf(before));
    if (answer) expect(answer).toMatchObject({ err: 0, config });
    for (const m of rest) expect(await configAt(m)).toBe(config);
    await (await client(next.clientPort)).create('/after-handover', Buffer.from('ok'));
    const reader = await client(rest.find((m) => m !== next)!.clientPort);
    await reader.sync('/after-handover');
    expect((await reader.getData('/after-handover')).data?.toString()).toBe('ok');
    // A removed zkts leader steps down once its followers left, and serves no more when the new
    // leader is zkts, which accepts no learner outside its config. A ZooKeeper leader accepts one as
    // a non-voting follower (LearnerHandler: "Follower sid: N not in the current config"), so in the
    // mixed case the removed server may go on serving as such, as a removed ZooKeeper server does.
    if (kinds.every((k) => k === 'zkts')) await until('the removed leader to stop serving', async () => ((await leader.mode()) === null ? true : undefined));
  }, 180_000);
});

const mixed: [string, Kind[]][] = [
  // The highest sid starts first and leads (test/support/ensemble.ts).
  ['Apache ZooKeeper leading, a zkts follower', ['zkts', 'zookeeper', 'zookeeper']],
  ['zkts leading, Apache ZooKeeper followers', ['zookeeper', 'zookeeper', 'zkts']],
];

describe.each(mixed)('dynamic reconfiguration in a mixed ensemble: %s', (_name, kinds) => {
  it.skipIf(skipWithout(DIST, ZOOKEEPER))('a reconfig through a member of the other kind is activated by every member; the observer it adds, of the other kind than the leader, serves', async () => {
    ensemble = await startEnsemble(kinds, { tickTime: 500, cfg: ['reconfigEnabled=true'], systemProperties: [SUPER_DIGEST] });
    const leader = await ensemble.settled(90_000);
    expect(leader.kind).toBe(kinds[2]);
    const other = ensemble.members.find((m) => m.kind !== leader.kind)!;
    // Every member shows the same config, whatever its kind (a ZooKeeper leader gives the static config its first version).
    const initial = await configAt(leader);
    for (const m of ensemble.members) expect(await configAt(m)).toBe(initial);

    const admin = await client(other.clientPort);
    await admin.addAuth('digest', 'super:test');
    const observerPorts = { quorum: await freePort(), election: await freePort(), client: await freePort() };
    const joining = `server.4=127.0.0.1:${observerPorts.quorum}:${observerPorts.election}:observer;127.0.0.1:${observerPorts.client}`;
    expect((await reconfig(admin, { joiningServers: joining, curConfigId: versionOf(initial) + 1 })).err).toBe(ErrorCode.BADVERSION);
    const added = await reconfig(admin, { joiningServers: joining, curConfigId: versionOf(initial) });
    expect(added.err).toBe(0);
    expect(added.config).toBe(`${initial.replace(/\nversion=[0-9a-f]+$/, '')}\n${joining}\nversion=${added.stat!.mzxid.toString(16)}`);
    for (const m of ensemble.members) expect(await configAt(m)).toBe(added.config);

    // The added observer is of the other kind than the leader: a zkts observer joins a ZooKeeper
    // leader, a ZooKeeper observer a zkts leader; it syncs and serves a write made on the leader.
    const observerKind: Kind = leader.kind === 'zkts' ? 'zookeeper' : 'zkts';
    expect(await startNewServer(ensemble, 4, added.config!, observerPorts, 'observer', observerKind)).toBe('observer');
    await (await client(leader.clientPort)).create('/seen-by-observer', Buffer.from('yes'));
    const atObserver = await client(observerPorts.client);
    await atObserver.sync('/seen-by-observer');
    expect((await atObserver.getData('/seen-by-observer')).data?.toString()).toBe('yes');
    expect(await configAt({ clientPort: observerPorts.client } as Member)).toBe(added.config);

    const removed = await reconfig(admin, { leavingServers: '4' });
    expect(removed.err).toBe(0);
    expect(removed.config).toBe(`${initial.replace(/\nversion=[0-9a-f]+$/, '')}\nversion=${removed.stat!.mzxid.toString(16)}`);
    for (const m of ensemble.members) {
      expect(await configAt(m)).toBe(removed.config);
      // conf ends with the member's quorum settings and the config, the same way on either kind.
      const conf = await fourLetter(m.clientPort, 'conf');
      expect(conf.slice(conf.indexOf('\ninitLimit='))).toMatch(/^\ninitLimit=10\nsyncLimit=5\nelectionAlg=3\nelectionPort=\d+\nquorumPort=\d+\npeerType=0\nmembership: \n/);
      expect(conf.endsWith(`\nmembership: \n${removed.config}`)).toBe(true);
      // Each member, of either kind, wrote the last config where its zoo.cfg points.
      const cfg = join(dirname(m.dataDir), 'zoo.cfg');
      const dynamic = /^dynamicConfigFile=(.+)$/m.exec(readFileSync(cfg, 'utf8'))?.[1];
      expect(dynamic).toBe(`${cfg}.dynamic.${versionOf(removed.config!).toString(16)}`);
    }
    // The ensemble goes on: a write through one kind is read on the other.
    await (await client(leader.clientPort)).create('/after-reconfig', Buffer.from('ok'));
    const reader = await client(other.clientPort);
    await reader.sync('/after-reconfig');
    expect((await reader.getData('/after-reconfig')).data?.toString()).toBe('ok');
  }, 180_000);
});
