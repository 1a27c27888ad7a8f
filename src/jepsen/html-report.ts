/**
 * report.html: one self-contained page per run (no scripts, no external files): the verdict, a
 * timeline of every operation per process (ok green, fail orange, indeterminate red; operations
 * an anomaly names outlined in black), the fault intervals shaded behind it, and latency over time.
 */
import type { Anomaly } from './checkers/index.js';
import { pairOps, type Op } from './history.js';

const HEALS = new Set(['heal', 'restart', 'resume', 'fsync-heal']);
const COLORS: Record<string, string> = { ok: '#2a2', fail: '#e90', info: '#d22', open: '#999' };
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Fault intervals (start, end, label) in seconds, from the nemesis entries. */
function faultIntervals(history: readonly Op[], end: number): { from: number; to: number; label: string }[] {
  const out: { from: number; to: number; label: string }[] = [];
  let open: { from: number; label: string } | undefined;
  for (const op of history) {
    if (op.process >= 0) continue;
    const t = op.time / 1e9;
    if (HEALS.has(op.f)) {
      if (open) out.push({ ...open, to: t });
      open = undefined;
    } else if (!open) {
      open = { from: t, label: `${op.f} ${JSON.stringify(op.value)}` };
    }
  }
  if (open) out.push({ ...open, to: end });
  return out;
}

export function renderHtml(title: string, summary: string, history: readonly Op[], anomalies: readonly Anomaly[]): string {
  const ops = pairOps(history);
  const flagged = new Set(anomalies.flatMap((a) => a.ops));
  const end = Math.max(1, ...history.map((o) => o.time / 1e9));
  const processes = [...new Set(ops.map((p) => p.process))].sort((a, b) => a - b);
  const lane = new Map(processes.map((p, i) => [p, i]));
  const W = 1200;
  const laneH = Math.max(2, Math.min(12, Math.floor(600 / Math.max(1, processes.length))));
  const H = processes.length * laneH + 20;
  const x = (t: number) => 40 + (t / end) * (W - 50);
  const faults = faultIntervals(history, end)
    .map((f) => `<rect x="${x(f.from)}" y="0" width="${Math.max(1, x(f.to) - x(f.from))}" height="${H}" fill="#88f" opacity="0.18"><title>${esc(f.label)}</title></rect>`)
    .join('');
  const bars = ops
    .map((p) => {
      const kind = p.complete?.type ?? 'open';
      const t0 = p.invoke.time / 1e9;
      const t1 = (p.complete?.time ?? end * 1e9) / 1e9;
      const y = 10 + lane.get(p.process)! * laneH;
      const mark = flagged.has(p.invoke.index) || (p.complete && flagged.has(p.complete.index));
      const tip = `${p.invoke.index}: process ${p.process} ${p.f} ${p.key ?? ''} ${JSON.stringify(p.invoke.value ?? '')} -> ${kind} ${JSON.stringify(p.complete?.value ?? p.complete?.error ?? '')}`;
      return `<rect x="${x(t0)}" y="${y}" width="${Math.max(1, x(t1) - x(t0))}" height="${Math.max(1, laneH - 1)}" fill="${COLORS[kind]}"${mark ? ' stroke="#000" stroke-width="2"' : ''}><title>${esc(tip)}</title></rect>`;
    })
    .join('');
  const done = ops.filter((p) => p.complete?.type === 'ok' || p.complete?.type === 'fail');
  const maxLat = Math.max(1, ...done.map((p) => (p.complete!.time - p.invoke.time) / 1e6));
  const LH = 200;
  const dots = done
    .map((p) => {
      const ms = (p.complete!.time - p.invoke.time) / 1e6;
      return `<circle cx="${x(p.invoke.time / 1e9)}" cy="${LH - 10 - (ms / maxLat) * (LH - 20)}" r="1.5" fill="${COLORS[p.complete!.type]}"/>`;
    })
    .join('');
  const axis = (h: number) => Array.from({ length: 11 }, (_, i) => `<text x="${x((end * i) / 10)}" y="${h - 2}" font-size="10">${((end * i) / 10).toFixed(0)}s</text>`).join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title></head><body style="font-family:sans-serif">
<h1>${esc(title)}</h1><pre>${esc(summary)}</pre>
<h2>Operations per process</h2><p>green ok, orange fail, red indeterminate, grey still open; shaded: faults (hover for details); outlined: named by an anomaly.</p>
<svg width="${W}" height="${H + 14}" style="border:1px solid #ccc">${faults}${bars}${axis(H + 12)}</svg>
<h2>Latency of completed operations (max ${maxLat.toFixed(0)} ms)</h2>
<svg width="${W}" height="${LH + 14}" style="border:1px solid #ccc">${faultIntervals(history, end).map((f) => `<rect x="${x(f.from)}" y="0" width="${Math.max(1, x(f.to) - x(f.from))}" height="${LH}" fill="#88f" opacity="0.18"/>`).join('')}${dots}${axis(LH + 12)}</svg>
</body></html>
`;
}
