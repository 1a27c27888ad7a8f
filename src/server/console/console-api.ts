/**
 * The web console's HTTP side, served by the admin server at /console: the page, and JSON for it.
 *
 * The console reads and writes znodes as a ZooKeeper client of this server, so ACLs, auth and the
 * write path are the server's own: HTTP Basic credentials become `addauth digest user:password`
 * on that client's session (super too, through superDigest). Writes are refused unless
 * zkts.console.writes=true. Sessions, watches and the role come from the server's tables, as the
 * admin commands do (they need no auth there either, as in ZooKeeper's AdminServer).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ZkClient } from '../../client/index.js';
import { ErrorCode, KeeperError, Perms, errorName } from '../../jute/index.js';
import type { Stat } from '../../jute/records.js';
import type { AdminContext } from '../admin/commands.js';
import { writeJson, type Json } from '../admin/json.js';
import { hex } from '../zk-server.js';
import { CONSOLE_HTML, CONSOLE_JS } from './page.js';

/** Console sessions kept at once: each credential tried gets one, so the pool must not grow without bound. */
const MAX_CLIENTS = 16;

/** A client per credential (none, or user:password), closed after a minute unused or when the pool is full. */
class ConsoleClients {
  private readonly pool = new Map<string, { client: Promise<ZkClient>; timer: NodeJS.Timeout }>();

  constructor(private readonly endpoint: () => { host: string; port: number } | undefined) {}

  async get(credentials: string | undefined): Promise<ZkClient> {
    const key = credentials ?? '';
    const pooled = this.pool.get(key);
    if (pooled) {
      const client = await pooled.client.catch(() => undefined);
      if (client && !client.isClosed) {
        pooled.timer.refresh();
        this.pool.delete(key);
        this.pool.set(key, pooled);
        return client;
      }
      this.drop(key);
    }
    // The least recently used goes first (a Map keeps insertion order; get() re-inserts).
    if (this.pool.size >= MAX_CLIENTS) this.drop(this.pool.keys().next().value!);
    const at = this.endpoint();
    if (!at) throw new KeeperError(ErrorCode.CONNECTIONLOSS, 'this server is not serving clients');
    const client = ZkClient.connect({ host: at.host, port: at.port, timeout: 30_000 }).then(async (c) => {
      if (credentials !== undefined) await c.addAuth('digest', credentials);
      return c;
    });
    const timer = setTimeout(() => this.drop(key), 60_000).unref();
    this.pool.set(key, { client, timer });
    return client;
  }

  private drop(key: string): void {
    const pooled = this.pool.get(key);
    if (!pooled) return;
    this.pool.delete(key);
    clearTimeout(pooled.timer);
    void pooled.client.then((c) => c.close()).catch(() => {});
  }

  close(): void {
    for (const key of [...this.pool.keys()]) this.drop(key);
  }
}

/** The user:password of an `Authorization: Basic` header (never logged). */
function basicCredentials(req: IncomingMessage): string | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(req.headers.authorization ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  return decoded.includes(':') ? decoded : undefined;
}

function perms(p: number): string {
  return [['c', Perms.CREATE], ['d', Perms.DELETE], ['r', Perms.READ], ['w', Perms.WRITE], ['a', Perms.ADMIN]]
    .map(([c, bit]) => ((p & (bit as number)) !== 0 ? c : '-'))
    .join('');
}

function statJson(s: Stat): Json {
  return {
    czxid: hex(BigInt(s.czxid)), mzxid: hex(BigInt(s.mzxid)), pzxid: hex(BigInt(s.pzxid)),
    ctime: s.ctime, mtime: s.mtime, version: s.version, cversion: s.cversion, aversion: s.aversion,
    ephemeralOwner: hex(s.ephemeralOwner), dataLength: s.dataLength, numChildren: s.numChildren,
  };
}

/** The role, this server's id and its peers, as voting_view and leader report them. */
function overview(ctx: AdminContext): Json {
  const server = ctx.server;
  const replication = server?.replication;
  const leaderId = replication ? (replication.role === 'leader' ? ctx.config.myid : replication.leaderId) : undefined;
  return {
    state: server ? server.mode : 'not serving',
    myid: ctx.config.myid ?? null,
    zxid: server ? hex(BigInt(server.zxid)) : null,
    writes: ctx.config.consoleWrites,
    peers: ctx.config.servers.map((s) => ({
      id: s.id, host: s.host, quorumPort: s.quorumPort, electionPort: s.electionPort, role: s.role,
      leader: s.id === leaderId, self: s.id === ctx.config.myid,
    })),
  };
}

/** Sessions with their ephemerals and watched paths (dump and wchc, keyed by hex ids a browser keeps exact). */
function sessions(ctx: AdminContext): Json {
  const server = ctx.server;
  if (!server) return [];
  const watched = new Map<bigint, Set<string>>();
  for (const table of [server.tree.dataWatches, server.tree.childWatches]) {
    for (const [path, byWatcher] of table.entries()) {
      for (const w of byWatcher.keys()) {
        const id = (w as { sessionId: bigint }).sessionId;
        watched.set(id, (watched.get(id) ?? new Set<string>()).add(path));
      }
    }
  }
  return [...server.sessions.values()].map((s) => ({
    id: hex(s.id),
    timeout: s.timeout,
    ephemerals: [...server.tree.ephemeralsOf(s.id)].sort(),
    watches: [...(watched.get(s.id) ?? [])].sort(),
  }));
}

function send(res: ServerResponse, status: number, body: Json, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers }).end(writeJson(body));
}

/** A KeeperError as an HTTP answer: NOAUTH asks for credentials, NONODE is 404. */
function sendKeeperError(res: ServerResponse, e: unknown): void {
  if (!(e instanceof KeeperError)) throw e;
  const status = e.code === ErrorCode.NOAUTH ? 401 : e.code === ErrorCode.NONODE ? 404 : e.code === ErrorCode.CONNECTIONLOSS ? 503 : 400;
  send(res, status, { error: errorName(e.code), message: e.message }, status === 401 ? { 'www-authenticate': 'Basic realm="zkts"' } : {});
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new RangeError(`request body over ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

interface WriteRequest {
  op: 'create' | 'set' | 'delete';
  path: string;
  data?: string;
}

function parseWrite(text: string): WriteRequest | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  const w = v as Partial<WriteRequest>;
  if (typeof w !== 'object' || w === null || typeof w.path !== 'string' || !['create', 'set', 'delete'].includes(w.op as string)) return undefined;
  if (w.data !== undefined && typeof w.data !== 'string') return undefined;
  return w as WriteRequest;
}

export class Console {
  private readonly clients: ConsoleClients;

  constructor(private readonly context: () => AdminContext) {
    this.clients = new ConsoleClients(() => this.context().clientEndpoint);
  }

  /** Answers a request under /console; false when the path is not the console's. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    const path = url.pathname;
    if (path === '/console' || path === '/console/') {
      res.writeHead(200, { 'content-type': 'text/html;charset=utf-8', 'cache-control': 'no-store' }).end(CONSOLE_HTML);
      return true;
    }
    if (path === '/console/app.js') {
      res.writeHead(200, { 'content-type': 'text/javascript;charset=utf-8', 'cache-control': 'no-store' }).end(CONSOLE_JS);
      return true;
    }
    if (path === '/console/api/overview') {
      send(res, 200, overview(this.context()));
      return true;
    }
    if (path === '/console/api/sessions') {
      send(res, 200, sessions(this.context()));
      return true;
    }
    if (path === '/console/api/node') {
      void this.node(req, res, url).catch((e: unknown) => {
        if (!res.headersSent) send(res, 500, { error: 'internal error', message: (e as Error).message });
      });
      return true;
    }
    return false;
  }

  private async node(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const credentials = basicCredentials(req);
    if (req.method === 'POST') {
      const ctx = this.context();
      if (!ctx.config.consoleWrites) return send(res, 403, { error: 'writes are off', message: 'the console is read-only (zkts.console.writes=true turns writes on)' });
      // A page of another origin cannot set this header without a CORS preflight, which is never granted.
      if (req.headers['x-zkts-console'] !== '1') return send(res, 403, { error: 'missing X-Zkts-Console header' });
      const w = parseWrite(await readBody(req, 1 << 20).catch(() => ''));
      if (!w) return send(res, 400, { error: 'expected {"op": "create" | "set" | "delete", "path": "/...", "data"?: "text"}' });
      try {
        const client = await this.clients.get(credentials);
        const data = w.data === undefined ? null : Buffer.from(w.data, 'utf8');
        if (w.op === 'create') await client.create(w.path, data);
        else if (w.op === 'set') await client.setData(w.path, data);
        else await client.delete(w.path);
        return send(res, 200, { ok: true });
      } catch (e) {
        return sendKeeperError(res, e);
      }
    }
    const path = url.searchParams.get('path') ?? '/';
    try {
      const client = await this.clients.get(credentials);
      const { data, stat } = await client.getData(path);
      const children = (await client.getChildren(path)).sort();
      // getACL needs READ or ADMIN; a node readable but not that keeps its ACL to itself.
      const acl = await client.getACL(path).then(
        (r) => r.acl.map((a) => ({ perms: perms(a.perms), scheme: a.id.scheme, id: a.id.id })),
        (e: unknown) => (e instanceof KeeperError && e.code === ErrorCode.NOAUTH ? null : Promise.reject(e)),
      );
      send(res, 200, { path, children, data: data === null ? null : data.toString('base64'), stat: statJson(stat), acl });
    } catch (e) {
      sendKeeperError(res, e);
    }
  }

  close(): void {
    this.clients.close();
  }
}
