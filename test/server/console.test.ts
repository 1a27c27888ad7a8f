/**
 * The web console in a real headless browser (Debian's chromium driven by playwright-core): the
 * page loads without console errors, the tree shows znodes a client created (data, Stat, ACL),
 * sessions list their ephemerals and watches, the charts move; read-only unless the operator turns
 * writes on, and behind the data's own ACLs (digest and super credentials over HTTP Basic).
 * Screenshots go to .test-results/screenshots/ (CI keeps them) and, with UPDATE_DOCS_SCREENSHOT=1,
 * to docs/console.png for the README.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZkClient } from '../../src/client/index.js';
import { digestId } from '../../src/server/auth.js';
import { DIST, KAZOO, skipWithout } from '../support/requirements.js';
import { httpGet } from '../support/operability.js';
import { REPO_ROOT, freePort, startServer, type RunningServer } from '../support/servers.js';

const CHROMIUM_BIN = '/usr/bin/chromium';
const CHROMIUM = { name: `${CHROMIUM_BIN} (Debian package \`chromium\`)`, available: () => existsSync(CHROMIUM_BIN) };
const SCREENSHOTS = join(REPO_ROOT, '.test-results/screenshots');

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(skipWithout(DIST, CHROMIUM, KAZOO))('web console', () => {
  let zkts: RunningServer;
  let admin: string;
  let browser: Browser;
  let client: ZkClient;
  const errors: string[] = [];

  const open = async (credentials?: { username: string; password: string }): Promise<Page> => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, httpCredentials: credentials });
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${admin}/console`);
    return page;
  };

  beforeAll(async () => {
    const port = await freePort();
    zkts = await startServer('zkts', {
      cfg: ['admin.enableServer=true', 'admin.serverAddress=127.0.0.1', `admin.serverPort=${port}`, 'zkts.console.writes=true'],
      props: [`zookeeper.DigestAuthenticationProvider.superDigest=${digestId('super:sup3r')}`],
    });
    admin = `http://127.0.0.1:${port}`;
    client = await ZkClient.connect({ port: zkts.port, timeout: 30_000 });
    await client.create('/app', Buffer.from('{"replicas": 3, "name": "orders"}'));
    await client.create('/app/config', Buffer.from('plain text'));
    await client.create('/app/lock', null, undefined, 1); // ephemeral
    const kazoo = spawnSync('/usr/bin/python3', ['-c', [
      'import sys', 'from kazoo.client import KazooClient', 'zk = KazooClient(hosts=sys.argv[1])', 'zk.start()',
      "zk.create('/app/made-by-kazoo', b'hello from kazoo')", 'zk.stop()',
    ].join('\n'), zkts.connectString], { encoding: 'utf8', timeout: 60_000 });
    expect(kazoo.status, kazoo.stderr).toBe(0);
    await client.getData('/app/config', true);
    await client.addAuth('digest', 'alice:secret');
    await client.create('/private', Buffer.from('for alice'), [{ perms: 31, id: { scheme: 'digest', id: digestId('alice:secret') } }]);
    browser = await chromium.launch({ executablePath: CHROMIUM_BIN, args: ['--no-sandbox'] });
    mkdirSync(SCREENSHOTS, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await client?.close().catch(() => {});
    await zkts?.stop();
  });

  it('loads without console errors; the tree shows the znodes a client created, with data, Stat and ACL', async () => {
    const page = await open();
    await page.locator('#tree li[data-path="/app"] > span.toggle').click();
    await page.locator('#tree li[data-path="/app/config"]').waitFor();
    expect(await page.locator('#tree li[data-path="/app"] > ul > li').evaluateAll((lis) => lis.map((l) => l.getAttribute('data-path')))).toEqual(['/app/config', '/app/lock', '/app/made-by-kazoo']);
    await page.locator('#tree li[data-path="/app"] > span.name').click();
    await page.locator('#node-path', { hasText: '/app' }).waitFor();
    expect(await page.locator('#node-data').textContent()).toBe('{"replicas": 3, "name": "orders"}');
    await page.locator('input[name=view][value=json]').check();
    expect(await page.locator('#node-data').textContent()).toBe(JSON.stringify({ replicas: 3, name: 'orders' }, null, 2));
    await page.locator('input[name=view][value=hex]').check();
    expect(await page.locator('#node-data').textContent()).toMatch(/^7b 22 72 65/);
    const stat = Object.fromEntries(await page.locator('#node-stat tr').evaluateAll((rows) => rows.map((r) => [r.querySelector('th')!.textContent, r.querySelector('td')!.textContent])));
    const real = (await client.exists('/app'))!;
    expect(stat).toMatchObject({ version: String(real.version), numChildren: '3', dataLength: String(real.dataLength), czxid: `0x${real.czxid.toString(16)}` });
    expect(await page.locator('#node-acl td').allTextContents()).toEqual(['cdrwa', 'world', 'anyone']);
    // Sessions: the client's, with its ephemeral and its watch.
    const row = page.locator('#sessions-table tr', { hasText: `0x${client.sessionId.toString(16)}` });
    await row.waitFor();
    expect(await row.locator('td').allTextContents()).toEqual([`0x${client.sessionId.toString(16)}`, String(client.timeout), '/app/lock', '/app/config']);
    await page.locator('input[name=view][value=text]').check();
    await page.locator('#tree li[data-path="/app/made-by-kazoo"] > span.name').click();
    await page.locator('#node-data', { hasText: 'hello from kazoo' }).waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'console-tree.png'), fullPage: true });
    await page.context().close();
    expect(errors).toEqual([]);
  }, 60_000);

  it('charts follow the requests clients make', async () => {
    const page = await open();
    const points = () => page.locator('#c-throughput path').getAttribute('data-points').then(Number);
    await until('two throughput points', async () => (await points()) >= 2);
    const before = Number(await page.locator('#v-connections').textContent());
    const more = await ZkClient.connect({ port: zkts.port, timeout: 30_000 });
    try {
      for (let i = 0; i < 200; i++) await more.getData('/app');
      await until('the throughput chart shows the reads', async () => Number(await page.locator('#v-throughput').textContent()) > 0);
      await until('the connections figure counts the new client', async () => Number(await page.locator('#v-connections').textContent()) === before + 1);
      await page.screenshot({ path: join(SCREENSHOTS, 'console-charts.png'), fullPage: true });
      if (process.env.UPDATE_DOCS_SCREENSHOT === '1') {
        // The README's picture: a few seconds of load, and a znode open.
        const end = Date.now() + 8000;
        for (let i = 0; Date.now() < end; i++) await Promise.all(Array.from({ length: 20 }, () => (i % 4 === 0 ? more.setData('/app/config', Buffer.from('plain text')) : more.getData('/app'))));
        await page.locator('#tree li[data-path="/app"] > span.toggle').click();
        await page.locator('#tree li[data-path="/app"] > span.name').click();
        await page.locator('input[name=view][value=json]').check();
        await page.screenshot({ path: join(REPO_ROOT, 'docs/console.png') });
      }
    } finally {
      await more.close();
      await page.context().close();
    }
    expect(errors).toEqual([]);
  }, 60_000);

  it('reads as the data allows: a digest ACL needs its user or super (HTTP Basic)', async () => {
    const anonymous = await httpGet(`${admin}/console/api/node?path=/private`);
    expect(anonymous.status).toBe(401);
    const basic = (u: string) => ({ headers: { authorization: `Basic ${Buffer.from(u).toString('base64')}` } });
    expect((await httpGet(`${admin}/console/api/node?path=/private`, basic('alice:wrong'))).status).toBe(401);
    for (const user of ['alice:secret', 'super:sup3r']) {
      const r = await httpGet(`${admin}/console/api/node?path=/private`, basic(user));
      expect(r.status, user).toBe(200);
      expect(Buffer.from(JSON.parse(r.body).data, 'base64').toString()).toBe('for alice');
    }
    expect((await httpGet(`${admin}/console/api/node?path=/nothing`)).status).toBe(404);
  });

  it('keeps at most 16 console sessions, however many credentials are tried', async () => {
    const basic = (u: string) => ({ headers: { authorization: `Basic ${Buffer.from(u).toString('base64')}` } });
    for (let i = 0; i < 40; i++) expect((await httpGet(`${admin}/console/api/node?path=/private`, basic(`mallory:${i}`))).status).toBe(401);
    const sessions = async () => (JSON.parse((await httpGet(`${admin}/console/api/sessions`)).body) as unknown[]).length;
    // The test's own client, and at most 16 of the console's.
    await until('the console to close the sessions it dropped', async () => (await sessions()) <= 17);
  }, 60_000);

  it('writes go through the server as a client write, only with the console header', async () => {
    const post = (body: object, headers: Record<string, string> = { 'x-zkts-console': '1' }) =>
      httpGet(`${admin}/console/api/node`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    expect((await post({ op: 'create', path: '/from-console', data: 'hi' }, {})).status).toBe(403);
    expect((await post({ op: 'frobnicate', path: '/x' })).status).toBe(400);
    expect((await post({ op: 'create', path: '/from-console', data: 'hi' })).status).toBe(200);
    expect((await client.getData('/from-console')).data?.toString()).toBe('hi');
    expect((await post({ op: 'set', path: '/private', data: 'mine now' })).status).toBe(401);
    expect((await client.getData('/private')).data?.toString()).toBe('for alice');
  });
});

describe.skipIf(skipWithout(DIST))('web console: read-only by default', () => {
  it('refuses writes unless zkts.console.writes=true', async () => {
    const port = await freePort();
    const zkts = await startServer('zkts', { cfg: ['admin.enableServer=true', 'admin.serverAddress=127.0.0.1', `admin.serverPort=${port}`] });
    try {
      const r = await httpGet(`http://127.0.0.1:${port}/console/api/node`, { method: 'POST', headers: { 'x-zkts-console': '1' }, body: JSON.stringify({ op: 'create', path: '/x' }) });
      expect(r.status).toBe(403);
      expect(JSON.parse(r.body).message).toMatch(/read-only/);
      expect((await httpGet(`http://127.0.0.1:${port}/console`)).body).toContain('<title>zkts console</title>');
      expect((await httpGet(`http://127.0.0.1:${port}/`, { redirect: 'manual' })).status).toBe(302);
    } finally {
      await zkts.stop();
    }
  });
});
