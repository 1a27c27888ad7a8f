/**
 * Server side of SASL DIGEST-MD5 (RFC 2831), behaving like the JDK's
 * `com.sun.security.sasl.digest.DigestMD5Server` as Apache ZooKeeper 3.8 creates it:
 *
 *   Sasl.createSaslServer("DIGEST-MD5", "zookeeper", "zk-sasl-md5", null, SaslServerCallbackHandler)
 *
 * i.e. no properties: realm = the server name, qop "auth" only (not advertised, RFC default),
 * charset=utf-8, algorithm=md5-sess, a single authentication (nonce count 1), no security layer.
 *
 * Sans-IO: feed each client token to `evaluate()` and send back what it returns.
 * The exchange is two round trips:
 *
 *   1. client token (empty for kazoo/puresasl and the Java client; anything non-empty is
 *      ignored, as the JDK does) -> digest-challenge
 *        realm="zk-sasl-md5",nonce="...",charset=utf-8,algorithm=md5-sess
 *   2. digest-response -> `rspauth=<32 hex>`; `complete` becomes true.
 *
 * Any failure throws `SaslError` and ends the exchange (further calls throw too; a completed
 * exchange stays complete), as a `SaslException` does in ZooKeeper, which then answers AUTHFAILED
 * and closes the connection.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export class SaslError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SaslError';
  }
}

/** The JDK's DigestMD5Base.MAX_RESPONSE_LENGTH: longer client tokens are rejected. */
export const DIGEST_MD5_MAX_RESPONSE_LENGTH = 4096;

/** ZooKeeper's hard-wired protocol and server name (ZooKeeperSaslServer / SecurityUtils). */
export const ZK_SASL_SERVICE_NAME = 'zookeeper';
export const ZK_SASL_SERVER_NAME = 'zk-sasl-md5';

export interface DigestMd5ServerOptions {
  /** username -> password (e.g. from `parseJaasUsers`). */
  users: ReadonlyMap<string, string>;
  /** SASL protocol / service name: first half of the expected digest-uri. Default 'zookeeper'. */
  serviceName?: string;
  /** Server name: second half of the digest-uri and the default realm. Default 'zk-sasl-md5'. */
  serverName?: string;
  /** Realms to offer (the JDK's com.sun.security.sasl.digest.realm). Default [serverName]. */
  realms?: readonly string[];
  /** Nonce generator (for tests). Default: 30 random bytes in base64 (40 chars), like the JDK. */
  randomNonce?: () => string;
  /**
   * Also send `qop="auth"` in the challenge. Off by default: ZooKeeper's JDK SaslServer is created
   * without properties and omits the directive (RFC 2831 default is "auth"); clients accept both.
   */
  advertiseQop?: boolean;
}

type State = 'initial' | 'challenged' | 'complete' | 'failed';

/**
 * Directives of a digest-response the server records: exactly the JDK's DigestMD5Server.DIRECTIVE_KEY.
 * Note the JDK lists "nonce-count" rather than RFC 2831's "nc", so the "nc" a client sends is ignored
 * (the hash always uses nonce count 00000001); we keep that so results match ZooKeeper byte for byte.
 * A repeated directive from this list is an error; any other directive is ignored.
 */
const RESPONSE_DIRECTIVES: ReadonlySet<string> = new Set([
  'username',
  'realm',
  'nonce',
  'cnonce',
  'nonce-count',
  'qop',
  'digest-uri',
  'response',
  'maxbuf',
  'charset',
  'cipher',
  'authzid',
  'auth-param',
]);

const NONCE_COUNT = '00000001';

function isLws(b: number): boolean {
  return b === 13 || b === 10 || b === 32 || b === 9;
}

function skipLws(buf: Buffer, start: number): number {
  let i = start;
  while (i < buf.length && isLws(buf[i]!)) i++;
  return i;
}

/**
 * Port of the JDK's DigestMD5Base.parseDirectives: `key=value` or `key="quoted\"value"`,
 * separated by commas and/or linear white space; keys case-insensitive; a repeated known
 * directive is an error; unknown directives are ignored.
 */
export function parseDigestDirectives(buf: Buffer, known: ReadonlySet<string> = RESPONSE_DIRECTIVES): Map<string, Buffer> {
  const result = new Map<string, Buffer>();
  const key: number[] = [];
  const value: number[] = [];
  let gettingKey = true;
  let gettingQuotedValue = false;
  let expectSeparator = false;
  const keyString = (): string => Buffer.from(key).toString('latin1');

  const extract = (): void => {
    const k = keyString().toLowerCase();
    if (!known.has(k)) return;
    if (result.has(k)) {
      throw new SaslError(`DIGEST-MD5: peer sent more than one ${k} directive: ${Buffer.from(value).toString('latin1')}`);
    }
    result.set(k, Buffer.from(value));
  };

  let i = skipLws(buf, 0);
  while (i < buf.length) {
    const b = buf[i]!;
    if (gettingKey) {
      if (b === 0x2c /* , */) {
        if (key.length !== 0) throw new SaslError(`Directive key contains a ',': ${keyString()}`);
        i = skipLws(buf, i + 1); // empty element
      } else if (b === 0x3d /* = */) {
        if (key.length === 0) throw new SaslError('Empty directive key');
        gettingKey = false;
        i = skipLws(buf, i + 1);
        if (i >= buf.length) throw new SaslError(`Valueless directive found: ${keyString()}`);
        if (buf[i] === 0x22 /* " */) {
          gettingQuotedValue = true;
          i++;
        }
      } else if (isLws(b)) {
        i = skipLws(buf, i + 1);
        if (i >= buf.length || buf[i] !== 0x3d) throw new SaslError(`'=' expected after key: ${keyString()}`);
      } else {
        key.push(b);
        i++;
      }
    } else if (gettingQuotedValue) {
      if (b === 0x5c /* \ */) {
        i++;
        if (i >= buf.length) {
          throw new SaslError(`Unmatched quote found for directive: ${keyString()}`);
        }
        value.push(buf[i]!);
        i++;
      } else if (b === 0x22) {
        i++;
        gettingQuotedValue = false;
        expectSeparator = true;
      } else {
        value.push(b);
        i++;
      }
    } else if (isLws(b) || b === 0x2c) {
      extract();
      key.length = 0;
      value.length = 0;
      gettingKey = true;
      gettingQuotedValue = expectSeparator = false;
      i = skipLws(buf, i + 1);
    } else if (expectSeparator) {
      throw new SaslError(
        `Expecting comma or linear whitespace after quoted string: "${Buffer.from(value).toString('latin1')}"`,
      );
    } else {
      value.push(b);
      i++;
    }
  }
  if (gettingQuotedValue) throw new SaslError(`Unmatched quote found for directive: ${keyString()}`);
  if (key.length > 0) extract();
  return result;
}

/** RFC 2831 section 7.2 / JDK writeQuotedStringValue: escape '"', '\', DEL and CTLs other than CR, LF, HT. */
function quoteValue(bytes: Buffer): Buffer {
  const out: number[] = [];
  for (const b of bytes) {
    if (b === 0x22 || b === 0x5c || b === 127 || (b <= 31 && b !== 13 && b !== 9 && b !== 10)) out.push(0x5c);
    out.push(b);
  }
  return Buffer.from(out);
}

/** JDK DigestMD5Base.stringToByte_8859_1 (with UTF-8 enabled): ISO-8859-1 unless a char is beyond U+00FF. */
function to8859OrUtf8(s: string): Buffer {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0xff) return Buffer.from(s, 'utf8');
  }
  return Buffer.from(s, 'latin1');
}

function md5(...parts: (Buffer | string)[]): Buffer {
  const h = createHash('md5');
  for (const p of parts) h.update(typeof p === 'string' ? Buffer.from(p, 'utf8') : p);
  return h.digest();
}

/** Whether Java's Integer.parseInt(s) accepts s (ASCII digits only). */
function isJavaInt(s: string): boolean {
  if (!/^[+-]?\d+$/.test(s)) return false;
  const v = BigInt(s);
  return v >= -2147483648n && v <= 2147483647n;
}

function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/**
 * RFC 2831 section 2.1.2.1 response-value (md5-sess, qop "auth"), computed like the JDK's
 * DigestMD5Base.generateResponseValue. `method` is "AUTHENTICATE" for the client's response
 * and "" for the server's rspauth.
 */
export function digestMd5ResponseValue(p: {
  method: string;
  digestUri: string;
  qop: string;
  username: string;
  realm: string;
  password: string;
  nonce: Buffer;
  cnonce: Buffer;
  nonceCount?: string;
  authzid?: Buffer | undefined;
}): string {
  const hexA2 = md5(`${p.method}:${p.digestUri}`).toString('hex');
  const userHash = md5(to8859OrUtf8(p.username), ':', to8859OrUtf8(p.realm), ':', to8859OrUtf8(p.password));
  const a1Parts: Buffer[] = [userHash, Buffer.from(':'), p.nonce, Buffer.from(':'), p.cnonce];
  if (p.authzid !== undefined) a1Parts.push(Buffer.from(':'), p.authzid);
  const hexA1 = md5(Buffer.concat(a1Parts)).toString('hex');
  return md5(hexA1, ':', p.nonce, ':', p.nonceCount ?? NONCE_COUNT, ':', p.cnonce, ':', p.qop, ':', hexA2).toString('hex');
}

export class DigestMd5Server {
  readonly mechanism = 'DIGEST-MD5';
  private readonly users: ReadonlyMap<string, string>;
  private readonly digestUri: string;
  private readonly realms: readonly string[];
  private readonly randomNonce: () => string;
  private readonly advertiseQop: boolean;
  private state: State = 'initial';
  private nonce: Buffer | undefined;
  private authzId: string | undefined;

  constructor(opts: DigestMd5ServerOptions) {
    const serviceName = opts.serviceName ?? ZK_SASL_SERVICE_NAME;
    const serverName = opts.serverName ?? ZK_SASL_SERVER_NAME;
    this.users = opts.users;
    this.digestUri = `${serviceName}/${serverName}`;
    this.realms = opts.realms && opts.realms.length > 0 ? [...opts.realms] : [serverName];
    this.randomNonce = opts.randomNonce ?? (() => randomBytes(30).toString('base64'));
    this.advertiseQop = opts.advertiseQop ?? false;
  }

  /** True once the client's response has been verified (the rspauth token was returned). */
  get complete(): boolean {
    return this.state === 'complete';
  }

  /**
   * The identity to add as `sasl:<id>` once complete: the authenticated user name, as
   * ZooKeeper's SaslServerCallbackHandler sets it (the authenticationID; an authzid sent by the
   * client is covered by the hash but does not change the identity). Undefined until complete.
   */
  get authorizationId(): string | undefined {
    return this.state === 'complete' ? this.authzId : undefined;
  }

  /**
   * Processes one client token and returns the server token to send back.
   * Throws SaslError on bad credentials, malformed input or a call in the wrong state.
   */
  evaluate(token: Buffer | Uint8Array): Buffer {
    const response = Buffer.isBuffer(token) ? token : Buffer.from(token.buffer, token.byteOffset, token.byteLength);
    try {
      if (response.length > DIGEST_MD5_MAX_RESPONSE_LENGTH) {
        throw new SaslError(
          `DIGEST-MD5: Invalid digest response length. Got:  ${response.length} Expected < ${DIGEST_MD5_MAX_RESPONSE_LENGTH}`,
        );
      }
      switch (this.state) {
        case 'initial': {
          // A non-empty initial response ("subsequent authentication") is ignored, as in the JDK.
          const challenge = this.generateChallenge();
          this.state = 'challenged';
          return challenge;
        }
        case 'challenged': {
          const rspauth = this.validateClientResponse(response);
          this.state = 'complete';
          return rspauth;
        }
        default:
          throw new SaslError('DIGEST-MD5: Server at illegal state');
      }
    } catch (err) {
      // Like the JDK: a finished exchange stays complete (getAuthorizationID keeps working), anything
      // else is over for good.
      if (this.state !== 'complete') this.state = 'failed';
      this.nonce = undefined;
      if (err instanceof SaslError) throw err;
      throw new SaslError(`DIGEST-MD5: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private generateChallenge(): Buffer {
    const nonceText = this.randomNonce();
    if (nonceText.length === 0) throw new SaslError('DIGEST-MD5: empty nonce');
    this.nonce = Buffer.from(nonceText, 'utf8');
    const parts: Buffer[] = [];
    for (const realm of this.realms) {
      parts.push(Buffer.from('realm="'), quoteValue(Buffer.from(realm, 'utf8')), Buffer.from('",'));
    }
    parts.push(Buffer.from('nonce="'), quoteValue(this.nonce), Buffer.from('",'));
    if (this.advertiseQop) parts.push(Buffer.from('qop="auth",'));
    parts.push(Buffer.from('charset=utf-8,algorithm=md5-sess'));
    return Buffer.concat(parts);
  }

  /** Mirrors DigestMD5Server.validateClientResponse (same checks, same order). */
  private validateClientResponse(response: Buffer): Buffer {
    const d = parseDigestDirectives(response);
    const str = (k: string): string | undefined => d.get(k)?.toString('utf8');

    const charset = str('charset');
    if (charset !== undefined && charset !== 'utf-8') {
      throw new SaslError(`DIGEST-MD5: digest response format violation. Incompatible charset value: ${charset}`);
    }

    const maxbuf = str('maxbuf');
    if (maxbuf !== undefined && !isJavaInt(maxbuf)) {
      throw new SaslError(`DIGEST-MD5: digest response format violation. Invalid maxbuf: ${maxbuf}`);
    }

    const username = str('username');
    if (username === undefined) {
      throw new SaslError('DIGEST-MD5: digest response format violation. Missing username.');
    }

    const realm = str('realm') ?? '';
    if (!this.realms.includes(realm)) {
      throw new SaslError(`DIGEST-MD5: digest response format violation. Nonexistent realm: ${realm}`);
    }

    const nonce = d.get('nonce');
    if (nonce === undefined) throw new SaslError('DIGEST-MD5: digest response format violation. Missing nonce.');
    if (this.nonce === undefined || !nonce.equals(this.nonce)) {
      throw new SaslError('DIGEST-MD5: digest response format violation. Mismatched nonce.');
    }

    const cnonce = d.get('cnonce');
    if (cnonce === undefined) throw new SaslError('DIGEST-MD5: digest response format violation. Missing cnonce.');

    // Only one authentication per exchange, so a nonce count must be 1 (see RESPONSE_DIRECTIVES about "nc").
    const nonceCount = str('nonce-count');
    if (nonceCount !== undefined && !(/^[+-]?[0-9a-fA-F]+$/.test(nonceCount) && parseInt(nonceCount, 16) === 1)) {
      throw new SaslError(`DIGEST-MD5: digest response format violation. Nonce count does not match: ${nonceCount}`);
    }

    const qop = str('qop') ?? 'auth';
    if (qop === 'auth-int' || qop === 'auth-conf') {
      throw new SaslError(`DIGEST-MD5: server does not support  qop: ${qop}`);
    } else if (qop !== 'auth') {
      throw new SaslError(`DIGEST-MD5: digest response format violation. Invalid QOP: ${qop}`);
    }

    const digestUri = str('digest-uri');
    if (digestUri === undefined || asciiLower(digestUri) !== asciiLower(this.digestUri)) {
      throw new SaslError(
        `DIGEST-MD5: digest response format violation. Mismatched URI: ${digestUri ?? 'null'}; expecting: ${this.digestUri}`,
      );
    }

    const clientResponse = d.get('response');
    if (clientResponse === undefined) {
      throw new SaslError('DIGEST-MD5: digest response format  violation. Missing response.');
    }

    const authzid = d.get('authzid');

    const password = this.users.get(username);
    if (password === undefined) {
      throw new SaslError(`DIGEST-MD5: cannot acquire password for ${username} in realm : ${realm}`);
    }

    const common = {
      // the client's spelling of the URI (case may differ) is what it hashed
      digestUri,
      qop,
      username,
      realm,
      password,
      nonce: this.nonce,
      cnonce,
      authzid,
    };
    const expected = Buffer.from(digestMd5ResponseValue({ ...common, method: 'AUTHENTICATE' }), 'latin1');
    if (clientResponse.length !== expected.length || !timingSafeEqual(clientResponse, expected)) {
      throw new SaslError('DIGEST-MD5: digest response format violation. Mismatched response.');
    }

    this.authzId = username;
    return Buffer.from(`rspauth=${digestMd5ResponseValue({ ...common, method: '' })}`, 'latin1');
  }
}
