/** report.html: operations drawn per process with their outcome, faults shaded, anomalies outlined. */
import { describe, expect, it } from 'vitest';
import { NEMESIS, type Op } from '../../src/jepsen/history.js';
import { renderHtml } from '../../src/jepsen/html-report.js';

const s = 1e9;
const history: Op[] = [
  { index: 0, time: 0.1 * s, process: 1, type: 'invoke', f: 'write', key: '/r0', value: 1 },
  { index: 1, time: 0.2 * s, process: 1, type: 'ok', f: 'write', key: '/r0', value: { value: 1, version: 1 } },
  { index: 2, time: 0.3 * s, process: NEMESIS, type: 'info', f: 'kill', value: { sid: 2 } },
  { index: 3, time: 0.4 * s, process: 2, type: 'invoke', f: 'sync-read', key: '/r0' },
  { index: 4, time: 0.5 * s, process: 2, type: 'ok', f: 'sync-read', key: '/r0', value: { value: 0, version: 0 } },
  { index: 5, time: 0.6 * s, process: 3, type: 'invoke', f: 'write', key: '/r0', value: 2 },
  { index: 6, time: 0.9 * s, process: 3, type: 'info', f: 'write', key: '/r0', value: 2, error: 'CONNECTIONLOSS' },
  { index: 7, time: 1.0 * s, process: NEMESIS, type: 'info', f: 'restart', value: { sid: 2 } },
];

describe('renderHtml', () => {
  it('draws each operation with its outcome, the fault interval, and outlines the ops an anomaly names', () => {
    const html = renderHtml('run <1>', 'INVALID: ...', history, [{ kind: 'stale-read', ops: [3, 4, 0, 1], explanation: 'read version 0 after version 1 was written' }]);
    expect(html).toContain('<title>run &lt;1&gt;</title>');
    const rects = [...html.matchAll(/<rect [^>]*>/g)].map((m) => m[0]);
    expect(rects.filter((r) => r.includes('fill="#2a2"'))).toHaveLength(2);
    expect(rects.filter((r) => r.includes('fill="#d22"'))).toHaveLength(1);
    expect(rects.filter((r) => r.includes('stroke="#000"'))).toHaveLength(2);
    expect(html).toContain('kill {"sid":2}');
    expect(rects.filter((r) => r.includes('fill="#88f"'))).toHaveLength(2);
  });
});
