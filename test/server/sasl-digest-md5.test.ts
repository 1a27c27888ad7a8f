import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJaasUsers } from '../../src/server/jaas.js';
import {
  DIGEST_MD5_MAX_RESPONSE_LENGTH,
  DigestMd5Server,
  SaslError,
  parseDigestDirectives,
} from '../../src/server/sasl-digest-md5.js';

// --------------------------------------------------------------------------------------------
// An independent client side of RFC 2831 (md5-sess, qop=auth), with knobs to produce bad responses.
// --------------------------------------------------------------------------------------------

const USERS = parseJaasUsers(`
Server {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    user_super="super_secret"
    user_jaasuser="jaas_password";
};`);

const NONCE = 'ZGlnZXN0LW1kNS10ZXN0LW5vbmNlLTAxMjM0NTY3';

function md5(data: Buffer | string): Buffer {
  return createHash('md5').update(data).digest();
}

/** RFC 2831 2.1.2.1: with charset=utf-8, strings that fit ISO 8859-1 are hashed in ISO 8859-1. */
function credBytes(s: string, encoding: 'rfc' | 'utf8'): Buffer {
  if (encoding === 'rfc' && [...s].every((c) => c.codePointAt(0)! <= 0xff)) return Buffer.from(s, 'latin1');
  return Buffer.from(s, 'utf8');
}

function parseChallenge(challenge: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  const re = /([A-Za-z-]+)=(?:"((?:[^"\\]|\\.)*)"|([^,]*))(?:,|$)/gy;
  const text = challenge.toString('utf8');
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    out.set(m[1]!.toLowerCase(), m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!);
    if (re.lastIndex >= text.length) break;
  }
  expect(re.lastIndex, `challenge parsed completely: ${text}`).toBe(text.length);
  return out;
}

interface ResponseOptions {
  username: string;
  password: string;
  /** null: omit the directive. Default: the challenge's realm. */
  realm?: string | null;
  digestUri?: string | null;
  nonce?: string | null;
  cnonce?: string | null;
  nc?: string | null;
  /** The nonce count used in the hash (default '00000001'). */
  hashNc?: string;
  qop?: string | null;
  charset?: string | null;
  authzid?: string;
  /** Send authzid but leave it out of the hash. */
  authzidNotHashed?: boolean;
  response?: string | null;
  encoding?: 'rfc' | 'utf8';
  extra?: string;
}

function quote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Builds a digest-response for `challenge`; returns it with the rspauth a correct server must answer. */
function clientResponse(challenge: Buffer, o: ResponseOptions): { token: Buffer; rspauth: string } {
  const ch = parseChallenge(challenge);
  const realm = o.realm === undefined ? (ch.get('realm') ?? '') : o.realm;
  const nonce = o.nonce === undefined ? ch.get('nonce')! : o.nonce;
  const cnonce = o.cnonce === undefined ? 'OA6MHXh6VqTrRk' : o.cnonce;
  const digestUri = o.digestUri === undefined ? 'zookeeper/zk-sasl-md5' : o.digestUri;
  const qop = o.qop === undefined ? 'auth' : o.qop;
  const nc = o.nc === undefined ? '00000001' : o.nc;
  const charset = o.charset === undefined ? 'utf-8' : o.charset;
  const enc = o.encoding ?? 'rfc';

  const hashValue = (method: string): string => {
    const userHash = md5(
      Buffer.concat([
        credBytes(o.username, enc),
        Buffer.from(':'),
        credBytes(realm ?? '', enc),
        Buffer.from(':'),
        credBytes(o.password, enc),
      ]),
    );
    const a1 = [userHash, Buffer.from(`:${nonce ?? ''}:${cnonce ?? ''}`)];
    if (o.authzid !== undefined && !o.authzidNotHashed) a1.push(Buffer.from(`:${o.authzid}`));
    const ha1 = md5(Buffer.concat(a1)).toString('hex');
    const ha2 = md5(`${method}:${digestUri ?? ''}`).toString('hex');
    return md5(`${ha1}:${nonce ?? ''}:${o.hashNc ?? '00000001'}:${cnonce ?? ''}:${qop ?? 'auth'}:${ha2}`).toString('hex');
  };

  const parts: string[] = [];
  if (charset !== null) parts.push(`charset=${charset}`);
  parts.push(`username=${quote(o.username)}`);
  if (realm !== null) parts.push(`realm=${quote(realm)}`);
  if (nonce !== null) parts.push(`nonce=${quote(nonce)}`);
  if (nc !== null) parts.push(`nc=${nc}`);
  if (cnonce !== null) parts.push(`cnonce=${quote(cnonce)}`);
  if (digestUri !== null) parts.push(`digest-uri=${quote(digestUri)}`);
  const response = o.response === undefined ? hashValue('AUTHENTICATE') : o.response;
  if (response !== null) parts.push(`response=${response}`);
  if (qop !== null) parts.push(`qop=${qop}`);
  if (o.authzid !== undefined) parts.push(`authzid=${quote(o.authzid)}`);
  if (o.extra !== undefined) parts.push(o.extra);
  return { token: Buffer.from(parts.join(','), 'utf8'), rspauth: `rspauth=${hashValue('')}` };
}

function newServer(extra: Partial<ConstructorParameters<typeof DigestMd5Server>[0]> = {}): DigestMd5Server {
  return new DigestMd5Server({ users: USERS, randomNonce: () => NONCE, ...extra });
}

/** Full exchange with the in-test client; throws what the server throws. */
function exchange(o: ResponseOptions, server = newServer()): { server: DigestMd5Server; reply: string; rspauth: string } {
  const challenge = server.evaluate(Buffer.alloc(0));
  const { token, rspauth } = clientResponse(challenge, o);
  const reply = server.evaluate(token).toString('latin1');
  return { server, reply, rspauth };
}

/** Requires `f` to throw a SaslError (and nothing else); returns its message. */
function saslErrorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SaslError);
    return (e as SaslError).message;
  }
  throw new Error('expected a SaslError, nothing was thrown');
}

const GOOD = { username: 'jaasuser', password: 'jaas_password' } as const;

// --------------------------------------------------------------------------------------------

describe('DigestMd5Server challenge', () => {
  it('is exactly what the JDK SaslServer of ZooKeeper sends', () => {
    const challenge = newServer().evaluate(Buffer.alloc(0));
    expect(challenge.toString()).toBe(`realm="zk-sasl-md5",nonce="${NONCE}",charset=utf-8,algorithm=md5-sess`);
  });

  it('uses a fresh 40-character base64 nonce by default', () => {
    const nonces = [1, 2, 3].map(() => {
      const server = new DigestMd5Server({ users: USERS });
      return parseChallenge(server.evaluate(Buffer.alloc(0))).get('nonce')!;
    });
    for (const n of nonces) expect(n).toMatch(/^[A-Za-z0-9+/]{40}$/);
    expect(new Set(nonces).size).toBe(3);
  });

  it('can advertise qop="auth"', () => {
    const challenge = newServer({ advertiseQop: true }).evaluate(Buffer.alloc(0));
    expect(challenge.toString()).toBe(`realm="zk-sasl-md5",nonce="${NONCE}",qop="auth",charset=utf-8,algorithm=md5-sess`);
  });

  it('quotes special characters in realms and nonce', () => {
    const server = newServer({ realms: ['a"b', 'c\\d'], randomNonce: () => 'n"o\\n' });
    expect(server.evaluate(Buffer.alloc(0)).toString()).toBe(
      'realm="a\\"b",realm="c\\\\d",nonce="n\\"o\\\\n",charset=utf-8,algorithm=md5-sess',
    );
    // and the unescaped values are the ones the response must carry
    const { token } = clientResponse(Buffer.from('realm="c\\\\d",nonce="n\\"o\\\\n"'), { ...GOOD });
    expect(server.evaluate(token).toString()).toMatch(/^rspauth=[0-9a-f]{32}$/);
    expect(server.authorizationId).toBe('jaasuser');
  });

  it('ignores a non-empty initial response, like the JDK', () => {
    const server = newServer();
    const challenge = server.evaluate(Buffer.from('username="jaasuser"'));
    expect(challenge.toString()).toContain(`nonce="${NONCE}"`);
    expect(server.complete).toBe(false);
  });

  it(`rejects an initial token longer than ${DIGEST_MD5_MAX_RESPONSE_LENGTH} bytes`, () => {
    const server = newServer();
    expect(saslErrorOf(() => server.evaluate(Buffer.alloc(DIGEST_MD5_MAX_RESPONSE_LENGTH + 1, 0x61)))).toMatch(
      /Invalid digest response length/,
    );
  });
});

describe('DigestMd5Server authentication', () => {
  it('authenticates jaasuser and answers the rspauth the client expects', () => {
    const server = newServer();
    expect(server.complete).toBe(false);
    expect(server.authorizationId).toBeUndefined();
    const { reply, rspauth } = exchange(GOOD, server);
    expect(reply).toBe(rspauth);
    expect(server.complete).toBe(true);
    expect(server.authorizationId).toBe('jaasuser');
  });

  it('authenticates super', () => {
    const { server } = exchange({ username: 'super', password: 'super_secret' });
    expect(server.authorizationId).toBe('super');
  });

  it('reproduces the RFC 2831 section 4 example', () => {
    const server = new DigestMd5Server({
      users: new Map([['chris', 'secret']]),
      serviceName: 'imap',
      serverName: 'elwood.innosoft.com',
      randomNonce: () => 'OA6MG9tEQGm2hh',
    });
    expect(server.evaluate(Buffer.alloc(0)).toString()).toBe(
      'realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",charset=utf-8,algorithm=md5-sess',
    );
    const reply = server.evaluate(
      Buffer.from(
        'charset=utf-8,username="chris",realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",nc=00000001,' +
          'cnonce="OA6MHXh6VqTrRk",digest-uri="imap/elwood.innosoft.com",' +
          'response=d388dad90d4bbd760a152321f2143af7,qop=auth',
      ),
    );
    expect(reply.toString()).toBe('rspauth=ea40f60335c427b5527b84dbabcdfffd');
    expect(server.authorizationId).toBe('chris');
  });

  it('hashes the authzid but keeps the user name as the identity (ZooKeeper callback handler)', () => {
    const { server, reply, rspauth } = exchange({ ...GOOD, authzid: 'super' });
    expect(reply).toBe(rspauth);
    expect(server.authorizationId).toBe('jaasuser');
    expect(saslErrorOf(() => exchange({ ...GOOD, authzid: 'jaasuser', authzidNotHashed: true }))).toMatch(
      /Mismatched response/,
    );
  });

  it('accepts optional directives left out, LWS, key case, digest-uri case and unknown directives', () => {
    for (const o of [
      { ...GOOD, charset: null, qop: null, nc: null },
      { ...GOOD, digestUri: 'ZooKeeper/ZK-SASL-MD5' },
      { ...GOOD, extra: 'auth-param=x,foo="bar", maxbuf=65536' },
      { ...GOOD, qop: 'auth', charset: 'utf-8' },
    ]) {
      const { reply, rspauth } = exchange(o);
      expect(reply).toBe(rspauth);
    }
    const server = newServer();
    const { token, rspauth } = clientResponse(server.evaluate(Buffer.alloc(0)), GOOD);
    const spaced = token
      .toString()
      .replace(/,/g, ' ,\r\n\t ')
      .replace(/=/g, ' = ')
      .replace(/username|digest-uri|response/g, (k) => k.toUpperCase());
    expect(server.evaluate(Buffer.from(`  ,${spaced}, ,`)).toString()).toBe(rspauth);
  });

  it('ignores "nc" like the JDK (whose directive table says "nonce-count"), but checks "nonce-count"', () => {
    const { reply, rspauth } = exchange({ ...GOOD, nc: '00000002' });
    expect(reply).toBe(rspauth);
    expect(saslErrorOf(() => exchange({ ...GOOD, nc: '00000002', hashNc: '00000002' }))).toMatch(/Mismatched response/);
    expect(exchange({ ...GOOD, extra: 'nonce-count=00000001' }).reply).toMatch(/^rspauth=/);
    expect(saslErrorOf(() => exchange({ ...GOOD, extra: 'nonce-count=00000002' }))).toMatch(/Nonce count/);
    expect(saslErrorOf(() => exchange({ ...GOOD, extra: 'nonce-count=zz' }))).toMatch(/Nonce count/);
  });

  it('offers and accepts any configured realm', () => {
    const server = newServer({ realms: ['one', 'two'] });
    const { token, rspauth } = clientResponse(server.evaluate(Buffer.alloc(0)), { ...GOOD, realm: 'two' });
    expect(server.evaluate(token).toString()).toBe(rspauth);
  });

  it('hashes ISO 8859-1 credentials in ISO 8859-1 and others in UTF-8, as the JDK does', () => {
    const users = new Map([
      ['jürgen', 'pässwörd'],
      ['иван', 'пароль'],
    ]);
    const server = () => newServer({ users });
    expect(exchange({ username: 'jürgen', password: 'pässwörd' }, server()).server.authorizationId).toBe('jürgen');
    expect(exchange({ username: 'иван', password: 'пароль' }, server()).server.authorizationId).toBe('иван');
    // a client hashing Latin-1 characters as UTF-8 (puresasl does) fails, against ZooKeeper too
    expect(
      saslErrorOf(() => exchange({ username: 'jürgen', password: 'pässwörd', encoding: 'utf8' }, server())),
    ).toMatch(/Mismatched response/);
  });

  it('round-trips any user name and password', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', minLength: 0, maxLength: 16 }),
        fc.string({ unit: 'binary', maxLength: 24 }),
        fc.string({ unit: 'binary', maxLength: 24 }),
        (username, password, other) => {
          const server = newServer({ users: new Map([[username, password]]) });
          const { reply, rspauth } = exchange({ username, password }, server);
          expect(reply).toBe(rspauth);
          expect(server.authorizationId).toBe(username);
          if (other !== password) {
            saslErrorOf(() => exchange({ username, password: other }, newServer({ users: new Map([[username, password]]) })));
          }
        },
      ),
      { numRuns: 150 },
    );
    // 150 runs of hashing take about 1 s alone and over 6 s on a loaded 2-core machine.
  }, 30_000);

  it('refuses to continue after completion', () => {
    const { server } = exchange(GOOD);
    expect(saslErrorOf(() => server.evaluate(Buffer.alloc(0)))).toMatch(/illegal state/);
    expect(server.complete).toBe(true); // as the JDK: the identity stays available
    expect(server.authorizationId).toBe('jaasuser');
  });
});

describe('DigestMd5Server rejections', () => {
  const cases: [string, ResponseOptions, RegExp][] = [
    ['wrong password', { ...GOOD, password: 'wrong' }, /Mismatched response/],
    ['unknown user', { username: 'baduser', password: 'badpassword' }, /cannot acquire password for baduser/],
    ['user name case differs', { username: 'JaasUser', password: 'jaas_password' }, /cannot acquire password/],
    ['wrong nonce', { ...GOOD, nonce: 'x' + NONCE.slice(1) }, /Mismatched nonce/],
    ['missing nonce', { ...GOOD, nonce: null }, /Missing nonce/],
    ['missing cnonce', { ...GOOD, cnonce: null }, /Missing cnonce/],
    ['missing realm', { ...GOOD, realm: null }, /Nonexistent realm: $/],
    ['other realm', { ...GOOD, realm: 'zk-sasl' }, /Nonexistent realm: zk-sasl/],
    ['other service in digest-uri', { ...GOOD, digestUri: 'imap/zk-sasl-md5' }, /Mismatched URI: imap\/zk-sasl-md5/],
    ['other host in digest-uri', { ...GOOD, digestUri: 'zookeeper/localhost' }, /Mismatched URI/],
    ['serv-name in digest-uri', { ...GOOD, digestUri: 'zookeeper/zk-sasl-md5/x' }, /Mismatched URI/],
    ['missing digest-uri', { ...GOOD, digestUri: null }, /Mismatched URI: null/],
    ['qop auth-int', { ...GOOD, qop: 'auth-int' }, /does not support {2}qop: auth-int/],
    ['qop auth-conf', { ...GOOD, qop: 'auth-conf' }, /does not support {2}qop: auth-conf/],
    ['unknown qop', { ...GOOD, qop: 'none' }, /Invalid QOP: none/],
    ['qop list', { ...GOOD, qop: '"auth,auth-int"' }, /Invalid QOP/],
    ['charset iso-8859-1', { ...GOOD, charset: 'iso-8859-1' }, /Incompatible charset/],
    ['charset UTF-8', { ...GOOD, charset: 'UTF-8' }, /Incompatible charset/],
    ['bad maxbuf', { ...GOOD, extra: 'maxbuf=lots' }, /maxbuf/],
    ['missing response', { ...GOOD, response: null }, /Missing response/],
    ['upper-case response', { ...GOOD, response: 'D388DAD90D4BBD760A152321F2143AF7' }, /Mismatched response/],
    ['truncated response', { ...GOOD, response: 'd388dad90d4bbd760a152321f2143af' }, /Mismatched response/],
    ['repeated username', { ...GOOD, extra: 'username="super"' }, /more than one username/],
    ['repeated realm', { ...GOOD, extra: 'realm="zk-sasl-md5"' }, /more than one realm/],
  ];
  for (const [title, options, message] of cases) {
    it(title, () => {
      const server = newServer();
      expect(saslErrorOf(() => exchange(options, server))).toMatch(message);
      expect(server.complete).toBe(false);
      expect(server.authorizationId).toBeUndefined();
      // the exchange is over: even a correct response is refused now
      expect(saslErrorOf(() => server.evaluate(clientResponse(Buffer.from(`nonce="${NONCE}"`), GOOD).token))).toMatch(
        /illegal state/,
      );
    });
  }

  it('missing username', () => {
    const server = newServer();
    server.evaluate(Buffer.alloc(0));
    const token = clientResponse(Buffer.from(`realm="zk-sasl-md5",nonce="${NONCE}"`), GOOD)
      .token.toString()
      .replace(/username="jaasuser",/, '');
    expect(saslErrorOf(() => server.evaluate(Buffer.from(token)))).toMatch(/Missing username/);
  });
});

describe('DigestMd5Server on malformed tokens', () => {
  const bad: [string, string | Buffer][] = [
    ['empty token', ''],
    ['unterminated quote', 'username="jaasuser'],
    ['trailing escape in quotes', 'username="jaasuser\\'],
    ['empty key', '=x'],
    ['comma inside key', 'user,name=x'],
    ['space then no =', 'username x'],
    ['valueless directive at end', 'username='],
    ['text after closing quote', 'username="a"b'],
    ['bare words', 'hello world'],
    ['binary', Buffer.from([0, 1, 2, 0xff, 0xfe, 0x22, 0x3d, 0x2c])],
    ['invalid UTF-8 user name', Buffer.concat([Buffer.from('username="'), Buffer.from([0xc3, 0x28]), Buffer.from('"')])],
    ['too long', Buffer.alloc(DIGEST_MD5_MAX_RESPONSE_LENGTH + 1, 0x20)],
  ];
  for (const [title, token] of bad) {
    it(`throws SaslError on ${title}`, () => {
      const server = newServer();
      server.evaluate(Buffer.alloc(0));
      saslErrorOf(() => server.evaluate(Buffer.isBuffer(token) ? token : Buffer.from(token)));
      expect(server.complete).toBe(false);
    });
  }

  it('throws only SaslError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const server = newServer();
        server.evaluate(Buffer.alloc(0));
        saslErrorOf(() => server.evaluate(Buffer.from(bytes)));
      }),
      { numRuns: 300 },
    );
  });

  it('throws only SaslError on arbitrary directive lists', () => {
    const key = fc.constantFrom('username', 'realm', 'nonce', 'cnonce', 'nc', 'nonce-count', 'qop', 'digest-uri', 'response', 'maxbuf', 'charset', 'cipher', 'authzid', 'x');
    const value = fc.oneof(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 }).map(quote));
    fc.assert(
      fc.property(fc.array(fc.tuple(key, value), { maxLength: 12 }), (pairs) => {
        const server = newServer();
        server.evaluate(Buffer.alloc(0));
        saslErrorOf(() => server.evaluate(Buffer.from(pairs.map(([k, v]) => `${k}=${v}`).join(','))));
      }),
    );
  });

  it('either accepts or throws SaslError on mutated valid responses', () => {
    const byte = fc.oneof(fc.constantFrom(...Buffer.from(',="\\ \tAaZz09-')), fc.integer({ min: 0, max: 255 }));
    const edit = fc.tuple(fc.constantFrom('replace', 'insert', 'delete'), fc.nat(), byte);
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 3 }), (edits) => {
        const server = newServer();
        const { token, rspauth } = clientResponse(server.evaluate(Buffer.alloc(0)), GOOD);
        const bytes = [...token];
        for (const [op, at, b] of edits) {
          const i = at % (bytes.length + 1);
          if (op === 'insert') bytes.splice(i, 0, b);
          else if (op === 'delete') bytes.splice(i, 1);
          else bytes[Math.min(i, bytes.length - 1)] = b;
        }
        try {
          expect(server.evaluate(Buffer.from(bytes)).toString()).toBe(rspauth);
          expect(server.authorizationId).toBe('jaasuser');
        } catch (e) {
          if (!(e instanceof SaslError)) throw e;
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('parseDigestDirectives', () => {
  it('unescapes quoted values, ignores unknown directives, and is as strict as the JDK', () => {
    const d = parseDigestDirectives(Buffer.from('Username = "a\\"b\\\\c" , nonce=x  ,, foo=bar,qop=auth'));
    expect(d.get('username')!.toString()).toBe('a"b\\c');
    expect(d.get('nonce')!.toString()).toBe('x');
    expect(d.has('foo')).toBe(false);
    expect(d.get('qop')!.toString()).toBe('auth');
    // LWS ends an unquoted value, so "y" becomes a key that then contains a comma
    expect(saslErrorOf(() => parseDigestDirectives(Buffer.from('nonce=x y,qop=auth')))).toMatch(/key contains a ','/);
  });
});

// --------------------------------------------------------------------------------------------
// Real clients: puresasl (what kazoo uses) and the JDK SaslClient (what ZooKeeper's Java client uses),
// each driven over a line protocol: the client prints "TOKEN <hex|->", reads "CHALLENGE <hex|->" or "FAIL",
// and ends with "COMPLETE" (rspauth verified) or "ERROR <message>".
// --------------------------------------------------------------------------------------------

const PYTHON = '/usr/bin/python3';
const hasPuresasl = spawnSync(PYTHON, ['-c', 'import puresasl.client'], { stdio: 'ignore' }).status === 0;
const hasJava = spawnSync('java', ['-version'], { stdio: 'ignore' }).status === 0;

/** kazoo 2.8 ConnectionHandler._authenticate_with_sasl, with the socket replaced by stdin/stdout. */
const PURESASL_DRIVER = `
import sys
import puresasl.client
user, password, mode = bytes.fromhex(sys.argv[1]).decode(), bytes.fromhex(sys.argv[2]).decode(), sys.argv[3]
if mode == 'legacy':
    # KazooClient(auth_data=[("sasl", "user:password")])
    sasl_options = {'username': user, 'password': password, 'mechanism': 'DIGEST-MD5',
                    'service': 'zookeeper', 'principal': 'zk-sasl-md5'}
else:
    # KazooClient(sasl_options={"mechanism": "DIGEST-MD5", "username": ..., "password": ...})
    sasl_options = {'mechanism': 'DIGEST-MD5', 'username': user, 'password': password}
    sasl_options['service'] = 'zookeeper'
sasl_cli = puresasl.client.SASLClient(host='zk-sasl-md5', **sasl_options)
challenge = None
while True:
    if sasl_cli.complete:
        break
    try:
        response = sasl_cli.process(challenge=challenge)
    except Exception as err:
        print('ERROR %s: %s' % (type(err).__name__, err), flush=True)
        sys.exit(0)
    if sasl_cli.complete and not response:
        break
    elif response is None:
        response = b''
    print('TOKEN ' + (response.hex() or '-'), flush=True)
    line = sys.stdin.readline().strip()
    if not line.startswith('CHALLENGE '):
        sys.exit(0)
    challenge = b'' if line[10:] == '-' else bytes.fromhex(line[10:])
print('COMPLETE', flush=True)
`;

const JAVA_PEER = `
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.CallbackHandler;
import javax.security.auth.callback.NameCallback;
import javax.security.auth.callback.PasswordCallback;
import javax.security.sasl.AuthorizeCallback;
import javax.security.sasl.RealmCallback;
import javax.security.sasl.Sasl;
import javax.security.sasl.SaslClient;
import javax.security.sasl.SaslServer;

public class SaslPeer {
  static String hex(byte[] b) {
    if (b == null) return "-";
    StringBuilder sb = new StringBuilder();
    for (byte x : b) sb.append(String.format("%02x", x & 0xff));
    return sb.length() == 0 ? "-" : sb.toString();
  }

  static byte[] unhex(String s) {
    if (s.equals("-")) return new byte[0];
    byte[] out = new byte[s.length() / 2];
    for (int i = 0; i < out.length; i++) out[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
    return out;
  }

  static String arg(String hexed) {
    return new String(unhex(hexed), StandardCharsets.UTF_8);
  }

  public static void main(String[] a) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    PrintStream out = new PrintStream(System.out, true, "UTF-8");
    if (a[0].equals("client")) {
      // ZooKeeper's client (SecurityUtils.createSaslClient + SaslClientCallbackHandler):
      // authzid = username, NameCallback -> default name, RealmCallback -> default realm.
      final String user = arg(a[1]);
      final String pw = arg(a[2]);
      CallbackHandler cbh = cbs -> {
        for (Callback cb : cbs) {
          if (cb instanceof NameCallback) ((NameCallback) cb).setName(((NameCallback) cb).getDefaultName());
          else if (cb instanceof PasswordCallback) ((PasswordCallback) cb).setPassword(pw.toCharArray());
          else if (cb instanceof RealmCallback) ((RealmCallback) cb).setText(((RealmCallback) cb).getDefaultText());
        }
      };
      SaslClient c = Sasl.createSaslClient(new String[] {"DIGEST-MD5"}, user, "zookeeper", "zk-sasl-md5", null, cbh);
      byte[] token = new byte[0];
      while (true) {
        out.println("TOKEN " + hex(token));
        String line = in.readLine();
        if (line == null || !line.startsWith("CHALLENGE ")) return;
        try {
          token = c.evaluateChallenge(unhex(line.substring(10)));
        } catch (Exception e) {
          out.println("ERROR " + e);
          return;
        }
        if (c.isComplete() && (token == null || token.length == 0)) {
          out.println("COMPLETE");
          return;
        }
        if (token == null) token = new byte[0];
      }
    } else {
      // ZooKeeper's server: Sasl.createSaslServer("DIGEST-MD5", "zookeeper", "zk-sasl-md5", null, handler)
      // with a handler behaving like SaslServerCallbackHandler.
      final Map<String, String> users = new HashMap<>();
      for (int i = 1; i + 1 < a.length; i += 2) users.put(arg(a[i]), arg(a[i + 1]));
      CallbackHandler cbh = cbs -> {
        String name = null;
        for (Callback cb : cbs) {
          if (cb instanceof NameCallback) {
            NameCallback nc = (NameCallback) cb;
            if (users.containsKey(nc.getDefaultName())) { name = nc.getDefaultName(); nc.setName(name); }
          } else if (cb instanceof PasswordCallback) {
            if (name != null) ((PasswordCallback) cb).setPassword(users.get(name).toCharArray());
          } else if (cb instanceof RealmCallback) {
            ((RealmCallback) cb).setText(((RealmCallback) cb).getDefaultText());
          } else if (cb instanceof AuthorizeCallback) {
            AuthorizeCallback ac = (AuthorizeCallback) cb;
            ac.setAuthorized(true);
            ac.setAuthorizedID(ac.getAuthenticationID());
          }
        }
      };
      SaslServer s = null;
      String line;
      while ((line = in.readLine()) != null) {
        if (line.equals("NEW")) {
          s = Sasl.createSaslServer("DIGEST-MD5", "zookeeper", "zk-sasl-md5", null, cbh);
          out.println("OK");
        } else if (line.startsWith("TOKEN ")) {
          try {
            byte[] r = s.evaluateResponse(unhex(line.substring(6)));
            out.println("REPLY " + hex(r) + " "
                + (s.isComplete() ? hex(s.getAuthorizationID().getBytes(StandardCharsets.UTF_8)) : "continue"));
          } catch (Exception e) {
            out.println("FAIL " + e.getClass().getSimpleName());
          }
        }
      }
    }
  }
}
`;

const hex = (b: Buffer | string): string => (b.length === 0 ? '-' : Buffer.from(b).toString('hex'));
const unhex = (s: string): Buffer => (s === '-' ? Buffer.alloc(0) : Buffer.from(s, 'hex'));

/** A child process spoken to line by line. */
class LinePeer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly queue: (string | null)[] = [];
  private readonly waiting: ((line: string | null) => void)[] = [];
  stderr = '';

  constructor(command: string, args: string[]) {
    this.child = spawn(command, args, { stdio: 'pipe' });
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.child.stdin.on('error', () => undefined); // the peer may exit before reading everything
    const push = (line: string | null) => {
      const w = this.waiting.shift();
      if (w) w(line);
      else this.queue.push(line);
    };
    createInterface({ input: this.child.stdout }).on('line', push).on('close', () => push(null));
  }

  next(): Promise<string | null> {
    if (this.queue.length > 0) return Promise.resolve(this.queue.shift()!);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async expect(prefix: string): Promise<string> {
    const line = await this.next();
    if (line === null || !line.startsWith(prefix)) throw new Error(`expected ${prefix}, got ${line}; stderr: ${this.stderr}`);
    return line.slice(prefix.length);
  }

  send(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  close(): void {
    this.child.stdin.end();
  }
}

interface ClientRun {
  outcome: 'complete' | 'server-rejected' | 'client-error';
  tokens: Buffer[];
  challenges: Buffer[];
  serverError?: unknown;
  clientError?: string;
}

/** Relays between a client peer and the server under test, as the zkts connection handler would. */
async function runClient(peer: LinePeer, server: DigestMd5Server): Promise<ClientRun> {
  const tokens: Buffer[] = [];
  const challenges: Buffer[] = [];
  try {
    for (;;) {
      const line = await peer.next();
      if (line === null) throw new Error(`client exited early; stderr: ${peer.stderr}`);
      if (line === 'COMPLETE') return { outcome: 'complete', tokens, challenges };
      if (line.startsWith('ERROR ')) return { outcome: 'client-error', tokens, challenges, clientError: line.slice(6) };
      if (!line.startsWith('TOKEN ')) throw new Error(`unexpected line from client: ${line}`);
      const token = unhex(line.slice(6));
      tokens.push(token);
      let reply: Buffer;
      try {
        reply = server.evaluate(token);
      } catch (e) {
        peer.send('FAIL');
        return { outcome: 'server-rejected', tokens, challenges, serverError: e };
      }
      challenges.push(reply);
      peer.send(`CHALLENGE ${hex(reply)}`);
    }
  } finally {
    peer.close();
  }
}

const h = (s: string) => Buffer.from(s, 'utf8').toString('hex');

describe.skipIf(!hasPuresasl)('with the puresasl client kazoo uses', () => {
  const run = (user: string, password: string, mode: 'options' | 'legacy' = 'options', users = USERS) => {
    const server = new DigestMd5Server({ users });
    return { server, result: runClient(new LinePeer(PYTHON, ['-c', PURESASL_DRIVER, h(user), h(password), mode]), server) };
  };

  it('authenticates jaasuser in two round trips (sasl_options)', async () => {
    const { server, result } = run('jaasuser', 'jaas_password');
    const r = await result;
    expect(r.outcome).toBe('complete'); // puresasl verified rspauth
    expect(r.tokens).toHaveLength(2);
    expect(r.tokens[0]!.length).toBe(0); // kazoo starts with an empty token
    const response = parseDigestDirectives(r.tokens[1]!);
    expect(response.get('digest-uri')!.toString()).toBe('zookeeper/zk-sasl-md5');
    expect(response.get('realm')!.toString()).toBe('zk-sasl-md5');
    expect(response.has('charset')).toBe(false); // puresasl sends no charset
    expect(r.challenges[1]!.toString()).toMatch(/^rspauth=[0-9a-f]{32}$/);
    expect(server.complete).toBe(true);
    expect(server.authorizationId).toBe('jaasuser');
  });

  it('authenticates with the legacy auth_data=[("sasl", "user:password")] options', async () => {
    const { server, result } = run('super', 'super_secret', 'legacy');
    expect((await result).outcome).toBe('complete');
    expect(server.authorizationId).toBe('super');
  });

  it('rejects a wrong password', async () => {
    const { server, result } = run('jaasuser', 'not_the_password');
    const r = await result;
    expect(r.outcome).toBe('server-rejected');
    expect(r.serverError).toBeInstanceOf(SaslError);
    expect(String(r.serverError)).toMatch(/Mismatched response/);
    expect(server.complete).toBe(false);
  });

  it('rejects an unknown user (kazoo test_invalid_sasl_auth)', async () => {
    const { server, result } = run('baduser', 'badpassword');
    const r = await result;
    expect(r.outcome).toBe('server-rejected');
    expect(r.serverError).toBeInstanceOf(SaslError);
    expect(server.authorizationId).toBeUndefined();
  });

  it('authenticates non-Latin-1 credentials (UTF-8 on both sides)', async () => {
    const { server, result } = run('иван', 'пароль', 'options', new Map([['иван', 'пароль']]));
    expect((await result).outcome).toBe('complete');
    expect(server.authorizationId).toBe('иван');
  });
});

describe.skipIf(!hasJava)('with the JDK SaslClient ZooKeeper’s Java client uses', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'zkts-sasl-'));
    writeFileSync(join(dir, 'SaslPeer.java'), JAVA_PEER);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const run = (user: string, password: string, users = USERS) => {
    const server = new DigestMd5Server({ users });
    const peer = new LinePeer('java', [join(dir, 'SaslPeer.java'), 'client', h(user), h(password)]);
    return { server, result: runClient(peer, server) };
  };

  it('authenticates jaasuser (the Java client sends charset=utf-8 and authzid)', async () => {
    const { server, result } = run('jaasuser', 'jaas_password');
    const r = await result;
    expect(r.outcome).toBe('complete');
    const response = parseDigestDirectives(r.tokens[1]!);
    expect(response.get('charset')!.toString()).toBe('utf-8');
    expect(response.get('authzid')!.toString()).toBe('jaasuser');
    expect(server.authorizationId).toBe('jaasuser');
  }, 60_000);

  it('authenticates Latin-1 credentials', async () => {
    const { server, result } = run('jürgen', 'pässwörd', new Map([['jürgen', 'pässwörd']]));
    expect((await result).outcome).toBe('complete');
    expect(server.authorizationId).toBe('jürgen');
  }, 60_000);

  it('rejects a wrong password', async () => {
    const { result } = run('jaasuser', 'nope');
    const r = await result;
    expect(r.outcome).toBe('server-rejected');
    expect(r.serverError).toBeInstanceOf(SaslError);
  }, 60_000);
});

describe.skipIf(!hasJava)('agrees with the JDK SaslServer ZooKeeper uses', () => {
  let dir = '';
  let peer: LinePeer;
  const users = new Map([...USERS, ['jürgen', 'pässwörd'], ['иван', 'пароль']]);
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'zkts-sasl-'));
    writeFileSync(join(dir, 'SaslPeer.java'), JAVA_PEER);
    peer = new LinePeer('java', [join(dir, 'SaslPeer.java'), 'server', ...[...users].flat().map(h)]);
  });
  afterAll(() => {
    peer?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  type Outcome = { ok: true; reply: string; authzid: string } | { ok: false };

  /** One exchange on both servers with the same nonce; `respond` builds the second client token. */
  async function both(respond: (challenge: Buffer) => Buffer): Promise<{ java: Outcome; ours: Outcome }> {
    peer.send('NEW');
    await peer.expect('OK');
    peer.send('TOKEN -');
    const [challengeHex] = (await peer.expect('REPLY ')).split(' ');
    const javaChallenge = unhex(challengeHex!);
    const nonce = parseChallenge(javaChallenge).get('nonce')!;
    const server = new DigestMd5Server({ users, randomNonce: () => nonce });
    expect(server.evaluate(Buffer.alloc(0)).toString()).toBe(javaChallenge.toString());

    const token = respond(javaChallenge);
    peer.send(`TOKEN ${hex(token)}`);
    const line = await peer.next();
    let java: Outcome;
    if (line?.startsWith('REPLY ')) {
      const [reply, authz] = line.slice(6).split(' ');
      java = { ok: true, reply: unhex(reply!).toString('latin1'), authzid: unhex(authz!).toString('utf8') };
    } else {
      expect(line, peer.stderr).toMatch(/^FAIL /);
      java = { ok: false };
    }
    let ours: Outcome;
    try {
      const reply = server.evaluate(token).toString('latin1');
      ours = { ok: true, reply, authzid: server.authorizationId! };
    } catch (e) {
      expect(e).toBeInstanceOf(SaslError);
      ours = { ok: false };
    }
    return { java, ours };
  }

  const cases: [string, (challenge: Buffer) => Buffer][] = [
    ['correct', (c) => clientResponse(c, GOOD).token],
    ['correct with authzid', (c) => clientResponse(c, { ...GOOD, authzid: 'super' }).token],
    ['wrong password', (c) => clientResponse(c, { ...GOOD, password: 'x' }).token],
    ['unknown user', (c) => clientResponse(c, { username: 'baduser', password: 'badpassword' }).token],
    ['upper-case digest-uri', (c) => clientResponse(c, { ...GOOD, digestUri: 'ZOOKEEPER/zk-sasl-md5' }).token],
    ['other digest-uri', (c) => clientResponse(c, { ...GOOD, digestUri: 'zookeeper/localhost' }).token],
    ['no digest-uri', (c) => clientResponse(c, { ...GOOD, digestUri: null }).token],
    ['no realm', (c) => clientResponse(c, { ...GOOD, realm: null }).token],
    ['no charset, qop, nc', (c) => clientResponse(c, { ...GOOD, charset: null, qop: null, nc: null }).token],
    ['nc 2 hashed as 1', (c) => clientResponse(c, { ...GOOD, nc: '00000002' }).token],
    ['nonce-count 1', (c) => clientResponse(c, { ...GOOD, extra: 'nonce-count=1' }).token],
    ['nonce-count 2', (c) => clientResponse(c, { ...GOOD, extra: 'nonce-count=2' }).token],
    ['qop auth-int', (c) => clientResponse(c, { ...GOOD, qop: 'auth-int' }).token],
    ['charset latin1', (c) => clientResponse(c, { ...GOOD, charset: 'iso-8859-1' }).token],
    ['maxbuf', (c) => clientResponse(c, { ...GOOD, extra: 'maxbuf=+1024' }).token],
    ['duplicate auth-param', (c) => clientResponse(c, { ...GOOD, extra: 'auth-param=1,auth-param=2' }).token],
    ['Latin-1 hashed as Latin-1', (c) => clientResponse(c, { username: 'jürgen', password: 'pässwörd' }).token],
    ['Latin-1 hashed as UTF-8', (c) => clientResponse(c, { username: 'jürgen', password: 'pässwörd', encoding: 'utf8' }).token],
    ['Cyrillic', (c) => clientResponse(c, { username: 'иван', password: 'пароль' }).token],
    ['empty', () => Buffer.alloc(0)],
    ['garbage', () => Buffer.from('username="jaasuser')],
    ['too long', (c) => clientResponse(c, { ...GOOD, extra: `x="${'y'.repeat(DIGEST_MD5_MAX_RESPONSE_LENGTH)}"` }).token],
  ];

  it('on hand-written responses', async () => {
    let accepted = 0;
    for (const [title, respond] of cases) {
      const { java, ours } = await both(respond);
      expect(ours, title).toEqual(java);
      if (java.ok) accepted++;
    }
    expect(accepted).toBeGreaterThanOrEqual(8);
  }, 60_000);

  let acceptedMutations = 0;
  it('on randomly mutated responses', async () => {
    const byte = fc.oneof(fc.constantFrom(...Buffer.from(',="\\ \tAaZz09-')), fc.integer({ min: 0, max: 255 }));
    const edit = fc.tuple(fc.constantFrom('replace', 'insert', 'delete'), fc.nat(), byte);
    await fc.assert(
      fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 3 }), async (edits) => {
        const { java, ours } = await both((c) => {
          const bytes = [...clientResponse(c, { ...GOOD, authzid: 'jaasuser' }).token];
          for (const [op, at, b] of edits) {
            const i = at % (bytes.length + 1);
            if (op === 'insert') bytes.splice(i, 0, b);
            else if (op === 'delete') bytes.splice(i, 1);
            else bytes[Math.min(i, bytes.length - 1)] = b;
          }
          return Buffer.from(bytes);
        });
        expect(ours).toEqual(java);
        if (java.ok) acceptedMutations++;
      }),
      { numRuns: 200 },
    );
    expect(acceptedMutations).toBeLessThan(200); // most mutations must be rejected by both
  }, 60_000);
});
