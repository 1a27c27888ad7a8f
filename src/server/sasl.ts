import type { Logger } from 'pino';
import { ErrorCode } from '../jute/index.js';
import { addAuthId } from './auth.js';
import type { Connection } from './connection.js';
import { JAAS_DEFAULT_SERVER_SECTION, parseJaasConfig, parseJaasUsers } from './jaas.js';
import { DigestMd5Server } from './sasl-digest-md5.js';

/**
 * SASL (opcode 102) as ZooKeeper's processSasl: one DIGEST-MD5 exchange per connection, users from
 * the JAAS config's Server section. Success adds the id sasl:<user>, and super:"" (every ACL
 * passes) when the user is one named by zookeeper.superUser or zookeeper.superUser.*; failure
 * answers AUTHFAILED and closes the connection.
 */
export class SaslAuthenticator {
  private readonly users: Map<string, string>;
  /** Without a Server section ZooKeeper has no SASL server and answers every token with OK, no token. */
  private readonly enabled: boolean;
  private readonly exchanges = new WeakMap<Connection, DigestMd5Server>();

  constructor(jaasText: string, private readonly superUsers: readonly string[] = []) {
    this.users = parseJaasUsers(jaasText);
    this.enabled = parseJaasConfig(jaasText).has(JAAS_DEFAULT_SERVER_SECTION);
  }

  step(conn: Connection, xid: number, token: Buffer, zxid: number, log: Logger): void {
    void zxid;
    if (!this.enabled) {
      conn.sendReply(xid, 0, 0, (w) => w.buffer(null));
      return;
    }
    let exchange = this.exchanges.get(conn);
    if (!exchange) {
      exchange = new DigestMd5Server({ users: this.users });
      this.exchanges.set(conn, exchange);
    }
    let response: Buffer;
    try {
      response = exchange.evaluate(token);
    } catch (e) {
      log.warn({ client: conn.describe(), err: (e as Error).message }, 'SASL authentication failed');
      // ZooKeeper sends the error with an empty (null) token, then drops the connection.
      conn.sendReply(xid, 0, ErrorCode.AUTHFAILED, (w) => w.buffer(null));
      conn.close('SASL authentication failed');
      return;
    }
    if (exchange.complete && exchange.authorizationId !== undefined) {
      const user = exchange.authorizationId;
      addAuthId(conn.ids, 'sasl', user);
      log.info({ client: conn.describe(), user }, 'SASL authentication succeeded');
      // ZooKeeperServer.isSaslSuperUser: an empty name is never super.
      if (user !== '' && this.superUsers.includes(user)) {
        addAuthId(conn.ids, 'super', '');
        log.info({ client: conn.describe(), user }, 'SASL user authenticated as super user (zookeeper.superUser)');
      }
    }
    conn.sendReply(xid, 0, 0, (w) => w.buffer(response));
  }
}
