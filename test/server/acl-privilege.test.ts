/**
 * Who may bypass ACLs, with kazoo (SASL DIGEST-MD5 through puresasl) against zkts and against
 * Apache ZooKeeper 3.8, which must answer alike:
 * - zookeeper.superUser=NAME: the SASL user NAME gets the super id, so every ACL passes
 *   (ZooKeeperServer.processSasl / isSaslSuperUser);
 * - a SASL user named "super" matches every sasl ACL, and only those (SASLAuthenticationProvider.matches);
 * - skipACL=yes: no ACL is checked at all (ZooKeeperServer.checkACL).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../support/servers.js';
import { SERVER_KINDS, runProcess, serverSkipReason } from '../compat/client-helpers.js';

const PYTHON = '/usr/bin/python3'; // Debian's interpreter, which has python3-kazoo and puresasl

function kazooSkipReason(): string | null {
  if (!existsSync(PYTHON)) return `${PYTHON} is missing`;
  try {
    execFileSync(PYTHON, ['-c', 'import kazoo.client, puresasl.client'], { stdio: 'ignore', timeout: 20_000 });
    return null;
  } catch {
    return `kazoo and puresasl are not importable by ${PYTHON} (Debian packages python3-kazoo, python3-puresasl)`;
  }
}

/**
 * argv: connect string, JSON list of [user, password] (null: no SASL login). An unauthenticated
 * client creates /sasl-bob (READ for sasl:bob only) and /digest-dave (READ for digest dave:pw only),
 * then each login reads both. Prints {"<user>": {"sasl-bob": "ok"|"noauth", "digest-dave": ...}}.
 */
const SCRIPT = `
import json, sys
from kazoo.client import KazooClient
from kazoo.exceptions import NoAuthError, NodeExistsError
from kazoo.security import make_acl, make_digest_acl

hosts, logins = sys.argv[1], json.loads(sys.argv[2])

def connect(login):
    kw = {}
    if login is not None:
        kw['sasl_options'] = {'mechanism': 'DIGEST-MD5', 'username': login[0], 'password': login[1]}
    c = KazooClient(hosts=hosts, timeout=20, connection_retry={'max_tries': 3}, **kw)
    c.start(timeout=30)
    return c

setup = connect(None)
for path, acl in [('/sasl-bob', make_acl('sasl', 'bob', read=True)), ('/digest-dave', make_digest_acl('dave', 'pw', read=True))]:
    try:
        setup.create(path, b'secret', acl=[acl])
    except NodeExistsError:
        pass
setup.stop(); setup.close()

out = {}
for login in logins:
    c = connect(login)
    row = {}
    for path in ['/sasl-bob', '/digest-dave']:
        try:
            c.get(path)
            row[path[1:]] = 'ok'
        except NoAuthError:
            row[path[1:]] = 'noauth'
    out['(none)' if login is None else login[0]] = row
    c.stop(); c.close()
print(json.dumps(out), flush=True)
`;

const JAAS = `Server {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    user_super="super_pw"
    user_alice="alice_pw"
    user_bob="bob_pw"
    user_carol="carol_pw";
};
`;

// ZooKeeper knows the sasl scheme only when told to load its provider (kazoo's harness does the same).
const SASL_PROVIDER = 'authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider';

async function readAsEach(server: RunningServer, logins: ([string, string] | null)[]): Promise<Record<string, Record<string, string>>> {
  const r = await runProcess(PYTHON, ['-c', SCRIPT, server.connectString, JSON.stringify(logins)], { timeoutMs: 100_000 });
  const last = r.stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(last) as Record<string, Record<string, string>>;
  } catch {
    throw new Error(`kazoo script failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}\nserver:\n${server.output()}`);
  }
}

const kazooSkip = kazooSkipReason();
let dir: string;
let jaas: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'zkts-privilege-'));
  jaas = join(dir, 'jaas.conf');
  writeFileSync(jaas, JAAS);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

for (const kind of SERVER_KINDS) {
  const skip = kazooSkip ?? serverSkipReason(kind);
  describe.skipIf(skip !== null)(`ACL privileges against ${kind}${skip ? ` (skipped: ${skip})` : ''}`, () => {
    it('zookeeper.superUser grants super; a SASL user named super matches sasl ACLs only', async () => {
      const server = await startServer(kind, {
        cfg: [SASL_PROVIDER],
        props: [`java.security.auth.login.config=${jaas}`, 'zookeeper.superUser=alice'],
      });
      try {
        const seen = await readAsEach(server, [
          ['super', 'super_pw'],
          ['alice', 'alice_pw'],
          ['bob', 'bob_pw'],
          ['carol', 'carol_pw'],
        ]);
        expect(seen).toEqual({
          super: { 'sasl-bob': 'ok', 'digest-dave': 'noauth' },
          alice: { 'sasl-bob': 'ok', 'digest-dave': 'ok' },
          bob: { 'sasl-bob': 'ok', 'digest-dave': 'noauth' },
          carol: { 'sasl-bob': 'noauth', 'digest-dave': 'noauth' },
        });
      } finally {
        await server.stop();
      }
    }, 180_000);

    it('skipACL=yes in zoo.cfg lets anyone read anything', async () => {
      const server = await startServer(kind, { cfg: [SASL_PROVIDER, 'skipACL=yes'], props: [`java.security.auth.login.config=${jaas}`] });
      try {
        const seen = await readAsEach(server, [null, ['carol', 'carol_pw']]);
        expect(seen).toEqual({
          '(none)': { 'sasl-bob': 'ok', 'digest-dave': 'ok' },
          carol: { 'sasl-bob': 'ok', 'digest-dave': 'ok' },
        });
      } finally {
        await server.stop();
      }
    }, 180_000);
  });
}
