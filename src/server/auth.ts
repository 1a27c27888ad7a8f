import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { ErrorCode, KeeperError, Perms, type records } from '../jute/index.js';

type Id = records.Id;
type ACL = records.ACL;

/**
 * Authentication schemes and ACL checks, as ZooKeeper's ProviderRegistry and ZooKeeperServer.checkACL
 * do them. A connection's identities are a list of Ids; "super" bypasses every check.
 */

/** digest scheme: the id of "user:password" is "user:" + base64(sha1("user:password")). */
export function digestId(userPassword: string): string {
  const colon = userPassword.indexOf(':');
  const user = colon === -1 ? userPassword : userPassword.substring(0, colon);
  return `${user}:${createHash('sha1').update(userPassword, 'utf8').digest('base64')}`;
}

export interface AuthProvider {
  /** Whether an ACL id of this scheme is well formed (ProviderRegistry's isValid). */
  isValid(id: string): boolean;
  /** Whether an authenticated id matches an ACL's id. */
  matches(authId: string, aclId: string): boolean;
  /** Whether ids of this scheme stand for an authenticated user (for the "auth" ACL scheme). */
  readonly isAuthenticated: boolean;
}

const digestProvider: AuthProvider = {
  // Java's String.split(":") drops trailing empty strings: "user:" is one part, so invalid.
  isValid: (id) => id.replace(/:+$/, '').split(':').length === 2,
  matches: (authId, aclId) => authId === aclId,
  isAuthenticated: true,
};

const ipProvider: AuthProvider = {
  isValid: (id) => parseIpAcl(id) !== undefined,
  matches: (authId, aclId) => ipMatches(authId, aclId),
  isAuthenticated: false,
};

const saslProvider: AuthProvider = {
  isValid: (id) => id.length > 0,
  // ZooKeeper 3.8's SASLAuthenticationProvider.matches: a SASL user named "super" matches every sasl
  // ACL (and only sasl ACLs; full super rights come from zookeeper.superUser, see SaslAuthenticator).
  matches: (authId, aclId) => authId === aclId || authId === 'super',
  isAuthenticated: true,
};

const providers = new Map<string, AuthProvider>([
  ['digest', digestProvider],
  ['ip', ipProvider],
  ['sasl', saslProvider],
]);

export const AUTH_PROVIDERS: ReadonlyMap<string, AuthProvider> = providers;

/**
 * Adds a scheme configured by authProvider.N (x509). Process-wide, as ZooKeeper's ProviderRegistry
 * is: once a server of this process has it, every server's ACLs accept it.
 */
export function registerAuthProvider(scheme: string, provider: AuthProvider): void {
  providers.set(scheme, provider);
}

function ipBytes(addr: string): number[] | undefined {
  if (isIPv4(addr)) return addr.split('.').map(Number);
  if (isIPv6(addr)) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
    if (mapped) return ipBytes(mapped[1]!);
    const [head, tail] = addr.split('::') as [string, string | undefined];
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
    return groups.flatMap((g) => {
      const n = parseInt(g, 16);
      return [n >> 8, n & 0xff];
    });
  }
  return undefined;
}

function parseIpAcl(aclId: string): { bytes: number[]; bits: number } | undefined {
  const [addr, bitsText] = aclId.split('/', 2) as [string, string | undefined];
  const bytes = ipBytes(addr);
  if (!bytes) return undefined;
  const bits = bitsText === undefined ? bytes.length * 8 : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > bytes.length * 8) return undefined;
  return { bytes, bits };
}

function ipMatches(authId: string, aclId: string): boolean {
  const acl = parseIpAcl(aclId);
  const addr = ipBytes(authId);
  if (!acl || !addr || addr.length !== acl.bytes.length) return false;
  for (let i = 0; i < acl.bits; i++) {
    const mask = 0x80 >> i % 8;
    if ((addr[i >> 3]! & mask) !== (acl.bytes[i >> 3]! & mask)) return false;
  }
  return true;
}

/**
 * zookeeper.skipACL=yes. Process-wide as in ZooKeeper (a static of ZooKeeperServer, read once): every
 * check of every server in the process is skipped, which keeps the setting out of each call site.
 */
let aclChecksSkipped = false;

export function skipAclChecks(skip: boolean): void {
  aclChecksSkipped = skip;
}

/** Adds an identity to a connection's list once (ServerCnxn.addAuthInfo). */
export function addAuthId(ids: Id[], scheme: string, id: string): void {
  if (!ids.some((x) => x.scheme === scheme && x.id === id)) ids.push({ scheme, id });
}

/** ZooKeeperServer.checkACL: throws NOAUTH unless one of `ids` grants `perm` on a node with `acl`. */
export function checkAcl(acl: readonly ACL[], perm: number, ids: readonly Id[]): void {
  if (aclChecksSkipped || acl.length === 0) return;
  for (const id of ids) if (id.scheme === 'super') return;
  for (const a of acl) {
    if ((a.perms & perm) === 0) continue;
    if (a.id.scheme === 'world' && a.id.id === 'anyone') return;
    const provider = AUTH_PROVIDERS.get(a.id.scheme);
    if (!provider) continue;
    for (const id of ids) {
      if (id.scheme === a.id.scheme && provider.matches(id.id, a.id.id)) return;
    }
  }
  throw new KeeperError(ErrorCode.NOAUTH);
}

/**
 * PrepRequestProcessor.fixupACL: removes duplicates, rejects malformed entries, and expands the
 * "auth" scheme into the caller's authenticated ids. Throws INVALIDACL.
 */
export function fixupAcl(acl: readonly ACL[], ids: readonly Id[]): ACL[] {
  const unique: ACL[] = [];
  for (const a of acl) {
    if (!unique.some((u) => u.perms === a.perms && u.id.scheme === a.id.scheme && u.id.id === a.id.id)) unique.push(a);
  }
  if (unique.length === 0) throw new KeeperError(ErrorCode.INVALIDACL);
  const out: ACL[] = [];
  for (const a of unique) {
    if (a.id.scheme === 'world' && a.id.id === 'anyone') {
      out.push(a);
    } else if (a.id.scheme === 'auth') {
      let any = false;
      for (const id of ids) {
        const provider = AUTH_PROVIDERS.get(id.scheme);
        if (provider?.isAuthenticated) {
          any = true;
          out.push({ perms: a.perms, id: { scheme: id.scheme, id: id.id } });
        }
      }
      if (!any) throw new KeeperError(ErrorCode.INVALIDACL);
    } else {
      const provider = AUTH_PROVIDERS.get(a.id.scheme);
      if (!provider || !provider.isValid(a.id.id)) throw new KeeperError(ErrorCode.INVALIDACL);
      out.push(a);
    }
  }
  return out;
}

/** What getACL shows a caller without ADMIN: digest hashes are masked ("user:x"). */
export function maskDigests(acl: readonly ACL[]): ACL[] {
  return acl.map((a) =>
    a.id.scheme === 'digest' ? { perms: a.perms, id: { scheme: 'digest', id: a.id.id.replace(/:.*/s, ':x') } } : a,
  );
}

export const ALL_PERMS = Perms.ALL;
