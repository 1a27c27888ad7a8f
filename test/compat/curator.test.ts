/**
 * Apache Curator 5.4.0 (Debian's) against zkts: the scenarios of fixtures/CuratorScenarios.java
 * (create modes and parent containers, protected names, TTL nodes, transactions and multiRead, one-shot
 * and persistent (recursive) watches, locks, semaphores, leader latch and selector, shared count,
 * atomic long, queues, barriers, CuratorCache, TreeCache, PathChildrenCache, NodeCache, persistent
 * nodes, the /zookeeper subtree, requests near jute.maxbuffer, ACLs and digest auth, a reconnection
 * that sets 2,500 watches again, a lost session and what Curator rebuilds, connection states) print
 * one normalized line per outcome, and zkts must print exactly what Apache ZooKeeper 3.8.0 prints:
 * standalone, and as a 3-server ensemble with every server in the connect string (Curator's clients
 * may then be connected to different servers). A 3-server ZooKeeper 3.8.0 ensemble prints the same
 * lines too (checked by hand, not run here: three more JVMs).
 *
 * Every server runs with extendedTypesEnabled (TTL nodes) and a one-hour container/TTL reaper
 * interval (a container the scenarios empty must not vanish between two steps on a slow machine).
 * The fixture is compiled once, with the JDK compiler module of `java` (no separate javac needed).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startEnsemble, type Ensemble } from '../support/ensemble.js';
import { CURATOR, CURATOR_JARS, DIST, JAVA, ZOOKEEPER, skipWithout } from '../support/requirements.js';
import { startServer, type RunningServer } from '../support/servers.js';

const FIXTURE = join(import.meta.dirname, 'fixtures/CuratorScenarios.java');
const CLASSPATH = ['/usr/share/java/zookeeper.jar', '/usr/share/java/zookeeper-jute.jar', ...CURATOR_JARS];
const PROPS = ['zookeeper.extendedTypesEnabled=true', 'znode.container.checkIntervalMs=3600000'];

interface Run {
  lines: string[];
  stderr: string;
  code: number | null;
}

/** Runs the compiled scenarios against connectString; rejects if the JVM does not end in time. */
function runScenarios(classes: string, connectString: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('java', ['-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-cp', [classes, ...CLASSPATH].join(':'), 'CuratorScenarios', connectString], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`CuratorScenarios against ${connectString} did not finish in 150 s; so far:\n${stdout}\n${stderr}`));
    }, 150_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ lines: stdout.split('\n').filter((l) => l !== ''), stderr, code });
    });
  });
}

const noDeps = skipWithout(DIST, ZOOKEEPER, JAVA, CURATOR);

describe.skipIf(noDeps)('Apache Curator 5.4 against zkts, compared with Apache ZooKeeper 3.8.0', () => {
  let classes: string;
  let zookeeper: RunningServer | undefined;
  let standalone: RunningServer | undefined;
  let ensemble: Ensemble | undefined;
  let reference: Run;
  let zktsRun: Run;
  let ensembleRun: Run;

  beforeAll(async () => {
    classes = mkdtempSync(join(tmpdir(), 'curator-scenarios-'));
    const opts = { props: PROPS };
    // Compiling takes a JVM's few seconds: meanwhile both servers start.
    const compiled = new Promise<void>((resolve, reject) => {
      const javac = spawn('java', ['-m', 'jdk.compiler/com.sun.tools.javac.Main', '-nowarn', '-cp', CLASSPATH.join(':'), '-d', classes, FIXTURE], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      javac.stdout.on('data', (d: Buffer) => (out += d.toString()));
      javac.stderr.on('data', (d: Buffer) => (out += d.toString()));
      javac.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`compiling ${FIXTURE} failed (${code}):\n${out}`))));
    });
    const startedEnsemble = startEnsemble(['zkts', 'zkts', 'zkts'], { systemProperties: PROPS }).then(async (e) => {
      ensemble = e;
      await e.settled();
      return e.members.map((m) => `127.0.0.1:${m.clientPort}`).join(',');
    });
    let ensembleConnect: string;
    [zookeeper, standalone, ensembleConnect] = await Promise.all([startServer('zookeeper', opts), startServer('zkts', opts), startedEnsemble, compiled]);
    // The three runs mostly wait on round trips: side by side they take little more than one.
    [reference, zktsRun, ensembleRun] = await Promise.all([runScenarios(classes, zookeeper.connectString), runScenarios(classes, standalone.connectString), runScenarios(classes, ensembleConnect)]);
  }, 300_000);

  afterAll(async () => {
    await Promise.all([zookeeper?.stop(), standalone?.stop(), ensemble?.stop()]);
    if (classes) rmSync(classes, { recursive: true, force: true });
  });

  test('the scenarios run to their end on Apache ZooKeeper 3.8.0, every wait met', () => {
    expect(reference.code, reference.stderr).toBe(0);
    expect(reference.lines.filter((l) => /TIMEOUT|: ERROR /.test(l))).toEqual([]);
    // a few outcomes the comparison relies on: Curator reached every scenario
    expect(reference.lines).toContain('watches: event recursive NodeDataChanged /watch/r/x');
    expect(reference.lines).toContain('transactions: multi failing -> KeeperException BADVERSION at null results [OK, BADVERSION, RUNTIMEINCONSISTENCY]');
    expect(reference.lines).toContain('leaderLatch: participants -> p2*');
    expect(reference.lines).toContain('curatorCache: event NODE_DELETED /cc=9 v1 -> null');
    expect(reference.lines).toContain('auth: c1 getData -> KeeperException NOAUTH');
    expect(reference.lines).toContain('session: c3 latch events [isLeader, notLeader, isLeader]');
    expect(reference.lines.at(-1)).toBe('connection: c2 states [CONNECTED], framework STOPPED');
  });

  test('zkts standalone: the same lines as Apache ZooKeeper 3.8.0', () => {
    expect(zktsRun.code, zktsRun.stderr).toBe(0);
    expect(zktsRun.lines).toEqual(reference.lines);
  });

  test('a 3-server zkts ensemble, every server in the connect string: the same lines', () => {
    expect(ensembleRun.code, ensembleRun.stderr).toBe(0);
    expect(ensembleRun.lines).toEqual(reference.lines);
  });
});
