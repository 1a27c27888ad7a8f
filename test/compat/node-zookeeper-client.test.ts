/**
 * The npm package node-zookeeper-client (pure JavaScript client, devDependency) against zkts and
 * against Apache ZooKeeper 3.8: create modes, versions, watches, remove, multi, digest ACLs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../support/servers.js';
import { skipWithout } from '../support/requirements.js';
import { SERVER_KINDS, digestId, serverDependency } from './client-helpers.js';
import { ACL, CreateMode, Event, EventLog, Exception, Id, Nzc, Permission, long, zkError } from './nzc.js';

const OP_CREATE = 1;
const OP_DELETE = 2;
const OP_SET_DATA = 5;
const OP_CHECK = 13;
const OP_ERROR = -1;

for (const kind of SERVER_KINDS) {
  describe.skipIf(skipWithout(serverDependency(kind)))(`node-zookeeper-client against ${kind}`, () => {
    let server: RunningServer;
    let a: Nzc; // main client
    let b: Nzc; // second session: makes the changes a's watches see, and is denied by ACLs
    const extra: Nzc[] = [];
    const connect = async () => {
      const c = await Nzc.connect(server.connectString);
      extra.push(c);
      return c;
    };

    beforeAll(async () => {
      server = await startServer(kind);
      a = await Nzc.connect(server.connectString);
      b = await Nzc.connect(server.connectString);
    }, 60_000);

    afterAll(async () => {
      for (const c of [a, b, ...extra]) await c?.close();
      await server?.stop();
    });

    it('create in all four modes; ephemerals belong to the session and go when it closes', async () => {
      const owner = await connect();
      expect(await a.create('/modes')).toBe('/modes');
      expect(await a.create('/modes/p', Buffer.from('persistent'), undefined, CreateMode.PERSISTENT)).toBe('/modes/p');
      expect(await owner.create('/modes/e', Buffer.from('ephemeral'), undefined, CreateMode.EPHEMERAL)).toBe('/modes/e');
      expect(await a.create('/modes/ps-', null, undefined, CreateMode.PERSISTENT_SEQUENTIAL)).toBe('/modes/ps-0000000002');
      expect(await owner.create('/modes/es-', null, undefined, CreateMode.EPHEMERAL_SEQUENTIAL)).toBe('/modes/es-0000000003');
      expect(await a.create('/modes/ps-', null, undefined, CreateMode.PERSISTENT_SEQUENTIAL)).toBe('/modes/ps-0000000004');

      const ownerId = owner.sessionId();
      expect(ownerId).not.toBe(0n);
      expect(long((await a.exists('/modes/e'))!.ephemeralOwner)).toBe(ownerId);
      expect(long((await a.exists('/modes/es-0000000003'))!.ephemeralOwner)).toBe(ownerId);
      expect(long((await a.exists('/modes/p'))!.ephemeralOwner)).toBe(0n);
      expect(long((await a.exists('/modes/ps-0000000002'))!.ephemeralOwner)).toBe(0n);

      expect((await zkError(a.create('/modes/p'))).code).toBe(Exception.NODE_EXISTS);
      expect((await zkError(a.create('/modes/missing/child'))).code).toBe(Exception.NO_NODE);
      expect((await zkError(owner.create('/modes/e/child'))).code).toBe(Exception.NO_CHILDREN_FOR_EPHEMERALS);

      const { children, stat } = await a.getChildren('/modes');
      expect([...children].sort()).toEqual(['e', 'es-0000000003', 'p', 'ps-0000000002', 'ps-0000000004']);
      expect(stat.numChildren).toBe(5);
      expect(stat.cversion).toBe(5);

      await owner.close();
      expect([...(await a.getChildren('/modes')).children].sort()).toEqual(['p', 'ps-0000000002', 'ps-0000000004']);
    }, 30_000);

    it('getData/setData with versions; BadVersion on a stale version', async () => {
      await a.create('/ver', Buffer.from('v0'));
      const g0 = await a.getData('/ver');
      expect(g0.data?.toString()).toBe('v0');
      expect(g0.stat).toMatchObject({ version: 0, dataLength: 2, numChildren: 0, aversion: 0, cversion: 0 });
      expect(long(g0.stat.mzxid)).toBe(long(g0.stat.czxid));

      const s1 = await a.setData('/ver', Buffer.from('v1'), 0);
      expect(s1.version).toBe(1);
      expect(long(s1.mzxid)).toBeGreaterThan(long(g0.stat.mzxid));
      expect(long(s1.czxid)).toBe(long(g0.stat.czxid));

      const stale = await zkError(b.setData('/ver', Buffer.from('lost update'), 0));
      expect(stale.code).toBe(Exception.BAD_VERSION);
      expect((await a.getData('/ver')).data?.toString()).toBe('v1');

      const s2 = await b.setData('/ver', Buffer.from('v2-longer'), -1);
      expect(s2).toMatchObject({ version: 2, dataLength: 9 });

      await a.setData('/ver', Buffer.alloc(0), 2);
      const g3 = await a.getData('/ver');
      expect(g3.data === null || g3.data.length === 0).toBe(true);
      expect(g3.stat).toMatchObject({ version: 3, dataLength: 0 });

      expect((await zkError(a.setData('/nope', Buffer.from('x')))).code).toBe(Exception.NO_NODE);
      expect((await zkError(a.getData('/nope'))).code).toBe(Exception.NO_NODE);
      expect((await zkError(a.remove('/ver', 2))).code).toBe(Exception.BAD_VERSION);
      await a.remove('/ver', 3);
      expect(await a.exists('/ver')).toBeNull();
    }, 30_000);

    it('getChildren watcher fires once on a child add', async () => {
      await a.create('/kids');
      const log = new EventLog();
      expect((await a.getChildren('/kids', log.watcher)).children).toEqual([]);
      await b.create('/kids/one');
      const [ev] = await log.waitFor(1);
      expect(ev).toEqual({ type: Event.NODE_CHILDREN_CHANGED, name: 'NODE_CHILDREN_CHANGED', path: '/kids' });

      // One-shot: a second add does not fire again (a's later request is answered after any event).
      await b.create('/kids/two');
      await a.exists('/kids');
      expect(log.events).toHaveLength(1);

      // A data change on the parent does not fire a child watch.
      const log2 = new EventLog();
      await a.getChildren('/kids', log2.watcher);
      await b.setData('/kids', Buffer.from('x'));
      await a.exists('/kids');
      expect(log2.events).toEqual([]);
      await b.remove('/kids/one');
      expect(await log2.waitFor(1)).toEqual([{ type: Event.NODE_CHILDREN_CHANGED, name: 'NODE_CHILDREN_CHANGED', path: '/kids' }]);
    }, 30_000);

    it('exists watcher fires on create; data watcher on change; exists watcher on delete', async () => {
      const created = new EventLog();
      expect(await a.exists('/later', created.watcher)).toBeNull();
      await b.create('/later', Buffer.from('here'));
      expect(await created.waitFor(1)).toEqual([{ type: Event.NODE_CREATED, name: 'NODE_CREATED', path: '/later' }]);

      const changed = new EventLog();
      await a.getData('/later', changed.watcher);
      await b.setData('/later', Buffer.from('changed'));
      expect(await changed.waitFor(1)).toEqual([{ type: Event.NODE_DATA_CHANGED, name: 'NODE_DATA_CHANGED', path: '/later' }]);

      const deleted = new EventLog();
      expect(await a.exists('/later', deleted.watcher)).not.toBeNull();
      await b.remove('/later');
      expect(await deleted.waitFor(1)).toEqual([{ type: Event.NODE_DELETED, name: 'NODE_DELETED', path: '/later' }]);
    }, 30_000);

    it('remove: NoNode, NotEmpty, then success', async () => {
      await a.create('/rm');
      await a.create('/rm/kid');
      expect((await zkError(a.remove('/rm/none'))).code).toBe(Exception.NO_NODE);
      expect((await zkError(a.remove('/rm'))).code).toBe(Exception.NOT_EMPTY);
      await a.remove('/rm/kid');
      await a.remove('/rm');
      expect(await a.exists('/rm')).toBeNull();
    }, 30_000);

    it('transaction (multi) commits all ops atomically', async () => {
      const { error, results } = await a.multi((t) =>
        t
          .create('/txn')
          .create('/txn/1', Buffer.from('one'))
          .setData('/txn/1', Buffer.from('uno'), 0)
          .check('/txn/1', 1)
          .create('/txn/seq-', Buffer.from('s'), undefined, CreateMode.PERSISTENT_SEQUENTIAL)
          .remove('/txn/1', 1),
      );
      expect(error).toBeNull();
      expect(results.map((r) => r.type)).toEqual([OP_CREATE, OP_CREATE, OP_SET_DATA, OP_CHECK, OP_CREATE, OP_DELETE]);
      expect(results[0]!.path).toBe('/txn');
      expect(results[1]!.path).toBe('/txn/1');
      expect(results[2]!.stat?.version).toBe(1);
      expect(results[4]!.path).toBe('/txn/seq-0000000001');
      expect((await a.getChildren('/txn')).children).toEqual(['seq-0000000001']);
    }, 30_000);

    it('transaction (multi) failure: nothing applied, per-op error results', async () => {
      const before = await a.getData('/txn');
      const { error, results } = await a.multi((t) =>
        t
          .create('/txn/new', Buffer.from('should not exist'))
          .setData('/txn', Buffer.from('should not change'), -1)
          .check('/txn', 42) // wrong version: fails the whole multi
          .remove('/txn/seq-0000000001'),
      );
      expect(error?.code).toBe(Exception.BAD_VERSION);
      // ZooKeeper reports: ops before the failure OK (0), the failing op its error, later ops RUNTIMEINCONSISTENCY.
      expect(results.map((r) => [r.type, r.err])).toEqual([
        [OP_ERROR, Exception.OK],
        [OP_ERROR, Exception.OK],
        [OP_ERROR, Exception.BAD_VERSION],
        [OP_ERROR, Exception.RUNTIME_INCONSISTENCY],
      ]);
      expect(await a.exists('/txn/new')).toBeNull();
      const after = await a.getData('/txn');
      expect(after.stat.version).toBe(before.stat.version);
      expect(long(after.stat.mzxid)).toBe(long(before.stat.mzxid));
      expect((await a.getChildren('/txn')).children).toEqual(['seq-0000000001']);

      // A failure in the first op reports it as such, the rest as RUNTIMEINCONSISTENCY.
      const second = await a.multi((t) => t.create('/txn').create('/txn/other'));
      expect(second.error?.code).toBe(Exception.NODE_EXISTS);
      expect(second.results.map((r) => r.err)).toEqual([Exception.NODE_EXISTS, Exception.RUNTIME_INCONSISTENCY]);
      expect(await a.exists('/txn/other')).toBeNull();
    }, 30_000);

    it('addAuthInfo digest + creator ACL: another session gets NoAuth; getACL', async () => {
      const alice = await connect();
      alice.addAuthInfo('digest', 'alice:secret');
      const aliceId = digestId('alice', 'secret');

      // auth:: (CREATOR_ALL) expands to the creator's authenticated digest id.
      await alice.create('/private', Buffer.from('alice only'), [new ACL(Permission.ALL, new Id('auth', ''))]);
      expect((await alice.getData('/private')).data?.toString()).toBe('alice only');
      const acl = await alice.getACL('/private');
      expect(acl.acls.map((x) => [x.permission, x.id.scheme, x.id.id])).toEqual([[Permission.ALL, 'digest', aliceId]]);
      expect(acl.stat.aversion).toBe(0);

      expect((await zkError(b.getData('/private'))).code).toBe(Exception.NO_AUTH);
      expect((await zkError(b.setData('/private', Buffer.from('x')))).code).toBe(Exception.NO_AUTH);
      expect((await zkError(b.create('/private/kid'))).code).toBe(Exception.NO_AUTH);
      expect((await zkError(b.getACL('/private'))).code).toBe(Exception.NO_AUTH);
      expect(await b.exists('/private')).not.toBeNull(); // exists needs no permission
      // DELETE is checked on the parent: b cannot remove alice's child of /private.
      await alice.create('/private/kid', null, [new ACL(Permission.ALL, new Id('world', 'anyone'))]);
      expect((await zkError(b.remove('/private/kid'))).code).toBe(Exception.NO_AUTH);
      await alice.remove('/private/kid');

      // A second session with the wrong password is still denied; with the right one it is allowed.
      const mallory = await connect();
      mallory.addAuthInfo('digest', 'alice:guess');
      expect((await zkError(mallory.getData('/private'))).code).toBe(Exception.NO_AUTH);
      const alice2 = await connect();
      alice2.addAuthInfo('digest', 'alice:secret');
      expect((await alice2.getData('/private')).data?.toString()).toBe('alice only');

      // setACL with a version check; then a world-readable ACL lets b read, and b's getACL redacts the digest.
      expect((await zkError(alice.setACL('/private', [new ACL(Permission.ALL, new Id('digest', aliceId))], 7))).code).toBe(Exception.BAD_VERSION);
      const s = await alice.setACL('/private', [new ACL(Permission.ALL, new Id('digest', aliceId)), new ACL(Permission.READ, new Id('world', 'anyone'))], 0);
      expect(s.aversion).toBe(1);
      expect((await b.getData('/private')).data?.toString()).toBe('alice only');
      expect((await zkError(b.setData('/private', Buffer.from('x')))).code).toBe(Exception.NO_AUTH);
      const seenByB = await b.getACL('/private');
      expect(seenByB.acls.map((x) => [x.permission, x.id.scheme, x.id.id])).toEqual([
        [Permission.ALL, 'digest', 'alice:x'],
        [Permission.READ, 'world', 'anyone'],
      ]);
      const seenByAlice = await alice.getACL('/private');
      expect(seenByAlice.acls.map((x) => [x.permission, x.id.scheme, x.id.id])).toEqual([
        [Permission.ALL, 'digest', aliceId],
        [Permission.READ, 'world', 'anyone'],
      ]);

      // Creating with auth:: without any authenticated id is InvalidACL.
      expect((await zkError(b.create('/noauth', null, [new ACL(Permission.ALL, new Id('auth', ''))]))).code).toBe(Exception.INVALID_ACL);
    }, 30_000);

    // ---- Details where zkts once differed from ZooKeeper ----

    it(`stat.cversion counts child deletions (ZooKeeper reports 2 * creates - numChildren)`, async () => {
      await a.create('/cv');
      await a.create('/cv/1');
      await a.create('/cv/2');
      expect((await a.exists('/cv'))!.cversion).toBe(2);
      await a.remove('/cv/1');
      // DataNode.copyStat: cversion = stored (creates) * 2 - numChildren = creates + deletes.
      expect((await a.exists('/cv'))!.cversion).toBe(3);
      // Sequence numbers still come from the number of creates.
      expect(await a.create('/cv/s-', null, undefined, CreateMode.PERSISTENT_SEQUENTIAL)).toBe('/cv/s-0000000002');
      await a.remove('/cv/2');
      expect((await a.getChildren('/cv')).stat).toMatchObject({ cversion: 5, numChildren: 1 });
      // The built-in nodes never had a create: / has 1 child (-1), /zookeeper has 2 (-2) until something is created there.
      expect((await a.exists('/zookeeper'))!.cversion).toBe(-2);
    }, 30_000);

    it(`getData('/') returns empty data, not null`, async () => {
      const root = await a.getData('/');
      expect(root.data).not.toBeNull();
      expect(root.data!.length).toBe(0);
      expect(root.stat.dataLength).toBe(0);
    }, 30_000);
  });
}
