/**
 * metricsProvider.className=...PrometheusMetricsProvider: /metrics has ZooKeeper 3.8's metric names,
 * types and summary quantiles, with figures that follow what clients do; Prometheus's own promtool
 * parses the page, and a real Prometheus server scrapes zkts and answers a query on its series.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZkClient } from '../../src/client/index.js';
import { PROMETHEUS, PROMETHEUS_BIN, PROMTOOL_BIN, httpGet } from '../support/operability.js';
import { DIST, skipWithout } from '../support/requirements.js';
import { freePort, startServer, type RunningServer } from '../support/servers.js';

const PROVIDER = 'metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider';

/** The page as families: name -> { type, samples (name{labels} -> value) }. */
function parse(text: string): Map<string, { type: string; samples: Map<string, number> }> {
  const families = new Map<string, { type: string; samples: Map<string, number> }>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) families.set(type[1]!, { type: type[2]!, samples: new Map() });
    const sample = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!sample) continue;
    const family = [...families.keys()].reverse().find((f) => sample[1] === f || sample[1]!.startsWith(`${f}_`));
    families.get(family!)?.samples.set(`${sample[1]}${sample[2] ?? ''}`, Number(sample[3]));
  }
  return families;
}

describe.skipIf(skipWithout(DIST))('Prometheus metrics provider', () => {
  let zkts: RunningServer;
  let metricsPort: number;
  let client: ZkClient;
  const page = async () => {
    const r = await httpGet(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^text\/plain; version=0\.0\.4/);
    return r.body;
  };

  beforeAll(async () => {
    metricsPort = await freePort();
    zkts = await startServer('zkts', { cfg: [PROVIDER, 'metricsProvider.httpHost=127.0.0.1', `metricsProvider.httpPort=${metricsPort}`] });
    client = await ZkClient.connect({ port: zkts.port, timeout: 30_000 });
  }, 60_000);

  afterAll(async () => {
    await client?.close().catch(() => {});
    await zkts?.stop();
  });

  it('serves ZooKeeper 3.8 names and types: gauges, and summaries with its quantiles', async () => {
    await client.create('/m', Buffer.from('v'));
    for (let i = 0; i < 20; i++) await client.getData('/m');
    const families = parse(await page());
    for (const gauge of ['znode_count', 'watch_count', 'ephemerals_count', 'approximate_data_size', 'global_sessions', 'num_alive_connections', 'outstanding_requests', 'avg_latency', 'max_latency', 'min_latency', 'packets_received', 'packets_sent', 'uptime']) {
      expect(families.get(gauge)?.type, gauge).toBe('gauge');
    }
    // DetailLevel.ADVANCED summaries: 0.5, 0.9, 0.99; BASIC ones: 0.5 only.
    for (const [name, quantiles] of [['readlatency', ['0.5', '0.9', '0.99']], ['updatelatency', ['0.5', '0.9', '0.99']], ['fsynctime', ['0.5']], ['sync_processor_batch_size', ['0.5']]] as const) {
      const f = families.get(name);
      expect(f?.type, name).toBe('summary');
      const labels = [...f!.samples.keys()].filter((k) => k.includes('quantile')).map((k) => /quantile="([^"]+)"/.exec(k)![1]);
      expect(labels, name).toEqual(quantiles);
      expect(f!.samples.has(`${name}_count`) && f!.samples.has(`${name}_sum`), name).toBe(true);
    }
    expect(families.get('snapshottime')?.type).toBe('summary');
    // Node's process metrics stand for the JVM's (exportJvmInfo defaults to true).
    expect(families.get('process_resident_memory_bytes')?.type).toBe('gauge');
    const samples = (name: string) => families.get(name)!.samples;
    expect(samples('znode_count').get('znode_count')).toBe(6); // "", /, /zookeeper, /zookeeper/quota, /zookeeper/config, /m
    expect(samples('readlatency').get('readlatency_count')).toBeGreaterThanOrEqual(20);
    expect(samples('updatelatency').get('updatelatency_count')).toBeGreaterThanOrEqual(1);
    expect(samples('fsynctime').get('fsynctime_count')).toBeGreaterThanOrEqual(1);
    // The snapshot of the empty dataDir at start, as ZooKeeper counts it.
    expect(samples('snapshottime').get('snapshottime_count')).toBe(1);
  });

  it('counts go on across srst: a summary\'s count never goes back (mntr\'s does)', async () => {
    const before = parse(await page()).get('readlatency')!.samples.get('readlatency_count')!;
    const s = await import('../support/servers.js').then((m) => m.fourLetter(zkts.port, 'srst'));
    expect(s).toContain('reset');
    await client.getData('/m');
    const after = parse(await page()).get('readlatency')!.samples.get('readlatency_count')!;
    expect(after).toBe(before + 1);
  });

  it('answers 404 off /metrics', async () => {
    expect((await httpGet(`http://127.0.0.1:${metricsPort}/`)).status).toBe(404);
  });

  describe.skipIf(skipWithout(PROMETHEUS))('with Debian\'s prometheus', () => {
    it('promtool parses the page; its only lint findings are the names ZooKeeper (and prom-client) chose', async () => {
      const r = spawnSync(PROMTOOL_BIN, ['check', 'metrics'], { input: await page(), encoding: 'utf8', timeout: 30_000 });
      const findings = (r.stdout + r.stderr).trim().split('\n').filter((l) => l !== '');
      // Exit 1 is a parse error; 3 lint problems only; 0 nothing to say.
      expect([0, 3], r.stdout + r.stderr).toContain(r.status);
      const expected = [
        // ZooKeeper's gauge names, kept for its dashboards.
        /^(znode_count|watch_count|ephemerals_count|open_file_descriptor_count|max_file_descriptor_count) non-histogram and non-summary metrics should not have "_count" suffix$/,
        // prom-client's default Node.js metrics.
        /^nodejs_active_\w+_total non-counter metrics should not have "_total" suffix$/,
      ];
      for (const f of findings) expect(expected.some((e) => e.test(f)), f).toBe(true);
    });

    it('a Prometheus server scrapes zkts and answers a query on a zkts series', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'zkts-prometheus-'));
      const port = await freePort();
      writeFileSync(
        join(dir, 'prometheus.yml'),
        ['global:', '  scrape_interval: 1s', 'scrape_configs:', '  - job_name: zkts', '    static_configs:', `      - targets: ['127.0.0.1:${metricsPort}']`, ''].join('\n'),
      );
      let prometheus: ChildProcess | undefined;
      let log = '';
      try {
        prometheus = spawn(PROMETHEUS_BIN, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
        prometheus.stdout?.on('data', (d: Buffer) => (log += d.toString()));
        prometheus.stderr?.on('data', (d: Buffer) => (log += d.toString()));
        const query = `http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent('znode_count{job="zkts"}')}`;
        const deadline = Date.now() + 60_000;
        let value: string | undefined;
        while (value === undefined) {
          if (Date.now() > deadline) throw new Error(`no znode_count from Prometheus within 60 s:\n${log}`);
          if (prometheus.exitCode !== null) throw new Error(`prometheus exited ${prometheus.exitCode}:\n${log}`);
          await new Promise((r) => setTimeout(r, 500));
          const answer = await httpGet(query).catch(() => undefined);
          if (answer?.status !== 200) continue;
          const result = (JSON.parse(answer.body) as { data: { result: { value: [number, string] }[] } }).data.result;
          value = result[0]?.value[1];
        }
        expect(Number(value)).toBe(6);
      } finally {
        if (prometheus && prometheus.exitCode === null) {
          const exited = new Promise((r) => prometheus!.once('exit', r));
          prometheus.kill('SIGTERM');
          const timer = setTimeout(() => prometheus!.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(timer);
        }
        rmSync(dir, { recursive: true, force: true });
      }
    }, 90_000);
  });
});

describe('metricsProvider settings', () => {
  it('the Prometheus provider and its host, port and exportJvmInfo are settings; no warning', async () => {
    const { defaultConfig, parseZooCfg } = await import('../../src/server/config.js');
    expect(defaultConfig()).toMatchObject({ prometheus: false, metricsHttpHost: '0.0.0.0', metricsHttpPort: 7000, metricsExportProcessInfo: true });
    const c = parseZooCfg(`${PROVIDER}\nmetricsProvider.httpHost=127.0.0.1\nmetricsProvider.httpPort=7001\nmetricsProvider.exportJvmInfo=false\nmetricsProvider.numWorkerThreads=4\n`, 'zoo.cfg');
    expect(c).toMatchObject({ prometheus: true, metricsHttpHost: '127.0.0.1', metricsHttpPort: 7001, metricsExportProcessInfo: false });
    expect(c.warnings).toEqual([]);
    const other = parseZooCfg('metricsProvider.className=com.example.Mine\n', 'zoo.cfg');
    expect(other.prometheus).toBe(false);
    expect(other.warnings).toEqual([expect.stringMatching(/unknown metrics provider com\.example\.Mine/)]);
  });
});
