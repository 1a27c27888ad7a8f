/**
 * Scale curves (`zkts bench scale-*`): a figure against a size (sessions, znodes, watchers, offered
 * load), one series per server. This module is the pure part: parsing the step lists, the medians
 * and ratios per step, the text tables and the SVG line charts.
 */
import { COLORS, escapeXml, renderChartSvg } from './chart.js';
import { fmt } from './report.js';
import { median } from './stats.js';
import type { RunResult } from './workloads.js';

/** "1k,10k,2M" or "1000,10_000" -> [1000, 10000, 2000000]; ascending, no repeats, each a whole number >= 1. */
export function parseSteps(text: string, name: string): number[] {
  const out: number[] = [];
  for (const part of text.split(',').map((x) => x.trim()).filter(Boolean)) {
    const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(part.replace(/_/g, ''));
    const n = m ? Number(m[1]) * (m[2] === '' ? 1 : m[2]!.toLowerCase() === 'k' ? 1e3 : 1e6) : NaN;
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: '${part}' is not a whole number of at least 1 (e.g. 100,1k,2M)`);
    out.push(n);
  }
  if (out.length === 0) throw new Error(`--${name}: no steps in '${text}'`);
  for (let i = 1; i < out.length; i++) {
    if (out[i]! <= out[i - 1]!) throw new Error(`--${name}: steps must grow, got ${out[i - 1]} then ${out[i]}`);
  }
  return out;
}

/**
 * The charts of a run for --chart FILE.svg (and scripts/bench-chart.mjs): the bar chart of the plain
 * workloads, and a line chart per curve (see curveChartFile). `what` ends each title (date, rounds).
 */
export function renderCharts(results: RunResult[], targets: string[], chart: string, curves: string[], what: string): { file: string; svg: string }[] {
  const plain = results.filter((r) => !curves.includes(r.workload));
  const out: { file: string; svg: string }[] = [];
  if (plain.length > 0) out.push({ file: chart, svg: renderChartSvg(plain, targets, `zkts bench ${targets.join(' vs ')} (${what})`) });
  for (const c of curves) {
    const stepOf = results.find((r) => r.workload === c && typeof r.params.stepOf === 'string')?.params.stepOf;
    out.push({ file: curveChartFile(chart, c, plain.length === 0 && curves.length === 1), svg: renderCurveSvg(results, c, targets, `${c}: ${targets.join(' vs ')}${stepOf ? ` against ${stepOf}` : ''} (${what})`) });
  }
  return out;
}

/** Where --chart FILE.svg puts a curve's chart: FILE itself when it is the run's only chart, else FILE-<curve>.svg. */
export function curveChartFile(chart: string, curve: string, alone: boolean): string {
  return alone ? chart : `${chart.replace(/\.svg$/i, '')}-${curve}.svg`;
}

/** 1000 -> "1k", 2000000 -> "2M", 1500 -> "1.5k": the axis labels. */
export function stepLabel(n: number): string {
  if (n >= 1e6 && n % 1e5 === 0) return `${n / 1e6}M`;
  if (n >= 1e3 && n % 100 === 0) return `${n / 1e3}k`;
  return String(n);
}

export interface Series {
  workload: string;
  figure: string;
  better: 'up' | 'down' | 'none';
  steps: number[];
  /** Per target, the median over rounds at each step (undefined: no run, or not finite). */
  values: Map<string, (number | undefined)[]>;
  /** zkts / zookeeper at each step, when both have a value. */
  ratios: (number | undefined)[];
}

/** The step of a curve's run (its params.step). */
function stepOf(r: RunResult): number | undefined {
  const s = r.params.step;
  return typeof s === 'number' ? s : undefined;
}

/** One series per figure of `workload` (in the order the runs report them), medians over rounds. */
export function curveSeries(results: RunResult[], workload: string, targets: string[]): Series[] {
  const runs = results.filter((r) => r.workload === workload && !r.skipped && stepOf(r) !== undefined);
  const steps = [...new Set(runs.map((r) => stepOf(r)!))].sort((a, b) => a - b);
  const figures = new Map<string, 'up' | 'down' | 'none'>();
  for (const r of runs) for (const f of r.figures) if (!figures.has(f.name)) figures.set(f.name, f.better);
  return [...figures].map(([figure, better]) => {
    const values = new Map<string, (number | undefined)[]>();
    for (const t of targets) {
      values.set(
        t,
        steps.map((s) => {
          const vs = runs
            .filter((r) => r.target === t && stepOf(r) === s)
            .map((r) => r.figures.find((f) => f.name === figure)?.value)
            .filter((v): v is number => v !== undefined && Number.isFinite(v));
          return vs.length ? median(vs) : undefined;
        }),
      );
    }
    const z = values.get('zkts');
    const k = values.get('zookeeper');
    const ratios = steps.map((_, i) => {
      const a = z?.[i];
      const b = k?.[i];
      return a !== undefined && b !== undefined && b !== 0 ? a / b : undefined;
    });
    return { workload, figure, better, steps, values, ratios };
  });
}

/** A block per curve: for each figure, a row per step with each server's median and zkts/zk. */
export function renderCurveTables(results: RunResult[], workloads: string[], targets: string[]): string {
  const out: string[] = [];
  const compare = targets.includes('zkts') && targets.includes('zookeeper');
  for (const w of workloads) {
    const series = curveSeries(results, w, targets);
    const param = results.find((r) => r.workload === w && !r.skipped)?.params.stepOf;
    out.push(`  ${w} (step: ${typeof param === 'string' ? param : 'size'})`);
    for (const s of series) {
      const rows: string[][] = [[`    ${s.figure}${s.better === 'up' ? ' (higher is better)' : s.better === 'down' ? ' (lower is better)' : ''}`, ...targets, ...(compare ? ['zkts/zk'] : [])]];
      s.steps.forEach((step, i) => {
        rows.push([`      ${stepLabel(step)}`, ...targets.map((t) => fmt(s.values.get(t)?.[i])), ...(compare ? [fmt(s.ratios[i])] : [])]);
      });
      const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
      out.push(...rows.map((r) => r.map((c, j) => (j === 0 ? c.padEnd(widths[j]!) : c.padStart(widths[j]!))).join('  ')));
    }
    for (const note of new Set(results.filter((r) => r.workload === w && r.skipped).map((r) => `  (${r.target}: skipped, ${r.skipped})`))) out.push(note);
    for (const r of results.filter((x) => x.workload === w && x.errorCount > 0)) {
      out.push(`  ! ${r.target} round ${r.round} step ${r.params.step}: ${Object.entries(r.errors).map(([k, v]) => `${k} x${v}`).join(', ')}`);
    }
    out.push('');
  }
  return out.join('\n');
}

const PANEL_W = 420;
const PANEL_H = 230;
const PAD = { left: 62, right: 16, top: 34, bottom: 36 };

/** The x position of a step: a log scale when the steps span more than a factor of 10. */
export function xScale(steps: number[], width: number): (s: number) => number {
  const lo = Math.min(...steps);
  const hi = Math.max(...steps);
  if (steps.length < 2 || hi === lo) return () => width / 2;
  const log = hi / lo > 10;
  const f = log ? Math.log10 : (x: number) => x;
  return (s) => ((f(s) - f(lo)) / (f(hi) - f(lo))) * width;
}

/** One SVG for one curve: a line chart per figure (x: the step, y: the value from 0), a line per server. */
export function renderCurveSvg(results: RunResult[], workload: string, targets: string[], title: string): string {
  const series = curveSeries(results, workload, targets).filter((s) => s.better !== 'none');
  const cols = 2;
  const width = cols * PANEL_W;
  const height = 56 + Math.ceil(series.length / cols) * PANEL_H;
  const parts: string[] = [`<text x="12" y="22" font-size="15" font-weight="bold">${escapeXml(title)}</text>`];
  targets.forEach((t, i) => {
    const x = 12 + i * 130;
    parts.push(`<rect x="${x}" y="32" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/><text x="${x + 18}" y="43" font-size="12">${escapeXml(t)}</text>`);
  });
  series.forEach((s, n) => {
    const ox = (n % cols) * PANEL_W;
    const oy = 56 + Math.floor(n / cols) * PANEL_H;
    const w = PANEL_W - PAD.left - PAD.right;
    const h = PANEL_H - PAD.top - PAD.bottom;
    const x0 = ox + PAD.left;
    const y0 = oy + PAD.top;
    const all = [...s.values.values()].flat().filter((v): v is number => v !== undefined);
    const max = Math.max(...all, 1e-9);
    const x = xScale(s.steps, w);
    const y = (v: number) => y0 + h - (v / max) * h;
    const last = s.ratios.length ? s.ratios[s.ratios.length - 1] : undefined;
    const ratio = last === undefined ? '' : ` (zkts/zk at ${stepLabel(s.steps[s.steps.length - 1]!)}: ${fmt(last)})`;
    parts.push(`<text x="${ox + 12}" y="${oy + 18}" font-size="12" font-weight="bold">${escapeXml(`${s.figure} ${s.better === 'up' ? '↑' : '↓'}${ratio}`)}</text>`);
    parts.push(`<line x1="${x0}" y1="${y0 + h}" x2="${x0 + w}" y2="${y0 + h}" stroke="#999"/><line x1="${x0}" y1="${y0}" x2="${x0}" y2="${y0 + h}" stroke="#999"/>`);
    for (const v of [0, max / 2, max]) parts.push(`<text x="${x0 - 6}" y="${y(v) + 4}" font-size="10" text-anchor="end">${escapeXml(fmt(v))}</text>`);
    for (const st of s.steps) parts.push(`<text x="${(x0 + x(st)).toFixed(1)}" y="${y0 + h + 14}" font-size="10" text-anchor="middle">${escapeXml(stepLabel(st))}</text>`);
    targets.forEach((t, i) => {
      const color = COLORS[i % COLORS.length];
      const pts = s.steps.map((st, j) => [st, s.values.get(t)?.[j]] as const).filter((p): p is readonly [number, number] => p[1] !== undefined);
      if (pts.length === 0) return;
      parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map(([st, v]) => `${(x0 + x(st)).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>`);
      for (const [st, v] of pts) parts.push(`<circle cx="${(x0 + x(st)).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="${color}"><title>${escapeXml(`${t} at ${stepLabel(st)}: ${fmt(v)}`)}</title></circle>`);
    });
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`;
}
