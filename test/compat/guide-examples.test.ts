/**
 * The three classic ZooKeeper guide examples, written against kazoo (Debian python3-kazoo, run
 * with /usr/bin/python3) and run unchanged against zkts and against Apache ZooKeeper 3.8:
 *   guide/config_management.py  create /config/database (makepath), get, DataWatch on change/delete
 *   guide/leader_election.py    kazoo Election, 4 contenders, one leader at a time, take-overs
 *   guide/distributed_lock.py   kazoo Lock, 4 processes x 20 read-modify-write increments -> 80
 * Each script takes the connect string as argv[1], prints a final JSON line with its checks and
 * exits non-zero on failure.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KAZOO, skipWithout } from '../support/requirements.js';
import { startServer, type RunningServer } from '../support/servers.js';
import { SERVER_KINDS, runProcess, serverDependency } from './client-helpers.js';

const PYTHON = '/usr/bin/python3'; // Debian's interpreter, which has python3-kazoo (not the one first on PATH)
const GUIDE = join(import.meta.dirname, 'guide');

interface GuideReport {
  example: string;
  ok: boolean;
  checks: Record<string, boolean | { ok: boolean; detail: unknown }>;
}

for (const kind of SERVER_KINDS) {
  describe.skipIf(skipWithout(KAZOO, serverDependency(kind)))(`ZooKeeper guide examples (kazoo) against ${kind}`, () => {
    let server: RunningServer;

    beforeAll(async () => {
      server = await startServer(kind);
    }, 60_000);

    afterAll(async () => {
      await server?.stop();
    });

    async function runExample(script: string, expectedChecks: string[]): Promise<GuideReport> {
      const r = await runProcess(PYTHON, [join(GUIDE, script), server.connectString], { timeoutMs: 55_000 });
      const last = r.stdout.trim().split('\n').at(-1) ?? '';
      let report: GuideReport;
      try {
        report = JSON.parse(last) as GuideReport;
      } catch {
        throw new Error(`${script} printed no JSON report (exit ${r.code}, signal ${r.signal}):\n${r.stdout}\n${r.stderr}`);
      }
      const failed = Object.entries(report.checks).filter(([, v]) => !(v === true || (typeof v === 'object' && v.ok)));
      expect(failed, `${script} failed checks:\n${JSON.stringify(failed, null, 1)}\nstderr:\n${r.stderr.slice(-3000)}`).toEqual([]);
      expect(Object.keys(report.checks)).toEqual(expect.arrayContaining(expectedChecks));
      expect(report.ok).toBe(true);
      expect(r.code).toBe(0);
      return report;
    }

    it('configuration management: makepath create, get, DataWatch fires on change', async () => {
      await runExample('config_management.py', [
        'create_with_makepath',
        'get_returns_config',
        'watch_called_initially',
        'watch_fires_on_change',
        'watch_fires_again',
        'watch_sees_delete',
      ]);
    }, 60_000);

    it('leader election: one leader at a time, take-over when the leader quits', async () => {
      await runExample('leader_election.py', [
        'all_contenders_finished',
        'one_leader_at_a_time',
        'each_contender_led_once',
        'leaders_follow_queue_order',
        'terms_do_not_overlap',
        'takeover_is_prompt',
        'takeover_after_session_close',
        'election_znodes_cleaned_up',
      ]);
    }, 60_000);

    it('distributed lock: 4 processes x 20 increments under the lock give 80, no overlapping critical sections', async () => {
      const report = await runExample('distributed_lock.py', [
        'workers_succeeded',
        'final_counter',
        'no_overlapping_critical_sections',
        'no_guard_violations',
        'lock_was_shared',
      ]);
      expect(report.checks.final_counter).toEqual({ ok: true, detail: { value: 80, expected: 80 } });
    }, 60_000);
  });
}
