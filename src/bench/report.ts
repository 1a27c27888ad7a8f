/** The readable tables: one block per workload, a row per figure, a column per target. */
import type { RunResult } from './workloads.js';
import { median } from './stats.js';

export function fmt(v: number | undefined): string {
  if (v === undefined || Number.isNaN(v)) return '-';
  if (!Number.isFinite(v)) return 'inf';
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  if (a === 0) return '0';
  return v.toFixed(3);
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return undefined;
  return a / b;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

/**
 * Each figure's median over rounds per target; in compare mode also zkts/zookeeper (ratio of the
 * medians and median of the per-round ratios) and zkts/ceiling. Errors of every run are listed.
 */
export function renderTables(results: RunResult[], targets: string[]): string {
  const out: string[] = [];
  const workloads = [...new Set(results.map((r) => r.workload))];
  const compare = targets.includes('zkts') && targets.includes('zookeeper');
  const withCeiling = targets.includes('zkts') && targets.includes('ceiling');
  for (const w of workloads) {
    const runs = results.filter((r) => r.workload === w);
    const figureNames: string[] = [];
    const better = new Map<string, string>();
    for (const r of runs) {
      for (const f of r.figures) {
        if (!figureNames.includes(f.name)) figureNames.push(f.name);
        better.set(f.name, f.better === 'up' ? '(higher is better)' : f.better === 'down' ? '(lower is better)' : '');
      }
    }
    const header = ['  ' + w, ...targets];
    if (compare) header.push('zkts/zk', 'median/round');
    if (withCeiling) header.push('zkts/ceiling');
    const rows: string[][] = [header];
    const value = (target: string, fig: string, round?: number): number | undefined => {
      const vs = runs
        .filter((r) => r.target === target && (round === undefined || r.round === round))
        .map((r) => r.figures.find((f) => f.name === fig)?.value)
        .filter((v): v is number => v !== undefined);
      return vs.length === 0 ? undefined : median(vs);
    };
    const rounds = [...new Set(runs.map((r) => r.round))];
    for (const fig of figureNames) {
      const row = [`  ${fig} ${better.get(fig) ?? ''}`.trimEnd()];
      for (const t of targets) row.push(fmt(value(t, fig)));
      if (compare) {
        row.push(fmt(ratio(value('zkts', fig), value('zookeeper', fig))));
        const per = rounds.map((r) => ratio(value('zkts', fig, r), value('zookeeper', fig, r))).filter((x): x is number => x !== undefined);
        row.push(fmt(per.length ? median(per) : undefined));
      }
      if (withCeiling) row.push(fmt(ratio(value('zkts', fig), value('ceiling', fig))));
      rows.push(row);
    }
    const errRow = ['  errors (all rounds)'];
    for (const t of targets) {
      const n = runs.filter((r) => r.target === t && !r.skipped).reduce((a, r) => a + r.errorCount, 0);
      const ran = runs.some((r) => r.target === t && !r.skipped);
      errRow.push(ran ? String(n) : '-');
    }
    rows.push(errRow);
    out.push(table(rows));
    for (const note of new Set(runs.filter((r) => r.skipped).map((r) => `  (${r.target}: skipped, ${r.skipped})`))) out.push(note);
    for (const r of runs) {
      if (r.errorCount > 0) {
        const list = Object.entries(r.errors)
          .map(([k, v]) => `${k} x${v}`)
          .join(', ');
        out.push(`  ! ${r.target} round ${r.round}: ${list}`);
      }
    }
    const params = runs.find((r) => !r.skipped)?.params;
    if (params) out.push(`  (${Object.entries(params).map(([k, v]) => `${k}=${v}`).join(' ')})`);
    out.push('');
  }
  return out.join('\n');
}
