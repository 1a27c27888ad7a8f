/**
 * `zkts bench --chart FILE.svg`: the comparison at a glance. One panel per workload; in it, one
 * group of bars per figure that has a better direction (throughput, latencies, CPU, memory, ...),
 * a bar per target with its median over the rounds, scaled to the largest of the group, and the
 * zkts/ZooKeeper ratio when both ran. Plain SVG, no dependencies: it opens in any browser and
 * renders in a Markdown page.
 */
import { fmt } from './report.js';
import { median } from './stats.js';
import type { RunResult } from './workloads.js';

export const COLORS = ['#2f6fba', '#d9822b', '#7a7a7a', '#3a9a5b', '#9b59b6'];
const WIDTH = 860;
const LABEL_W = 230;
const BAR_H = 14;
const GAP = 6;

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function renderChartSvg(results: RunResult[], targets: string[], title: string): string {
  const parts: string[] = [];
  let y = 40;
  const barMax = WIDTH - LABEL_W - 120;
  parts.push(`<text x="12" y="24" font-size="16" font-weight="bold">${escapeXml(title)}</text>`);
  // Legend.
  targets.forEach((t, i) => {
    const x = LABEL_W + i * 140;
    parts.push(`<rect x="${x}" y="${y - 11}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/><text x="${x + 18}" y="${y}" font-size="12">${escapeXml(t)}</text>`);
  });
  y += 18;
  for (const w of [...new Set(results.map((r) => r.workload))]) {
    const runs = results.filter((r) => r.workload === w && !r.skipped);
    if (runs.length === 0) continue;
    const figures = [...new Map(runs.flatMap((r) => r.figures).filter((f) => f.better !== 'none').map((f) => [f.name, f])).values()];
    if (figures.length === 0) continue;
    y += 10;
    parts.push(`<text x="12" y="${y}" font-size="14" font-weight="bold">${escapeXml(w)}</text>`);
    y += 8;
    for (const f of figures) {
      const values = targets.map((t) => {
        const vs = runs.filter((r) => r.target === t).map((r) => r.figures.find((x) => x.name === f.name)?.value).filter((v): v is number => v !== undefined && Number.isFinite(v));
        return vs.length ? median(vs) : undefined;
      });
      const max = Math.max(...values.map((v) => v ?? 0), 1e-9);
      const groupH = targets.length * (BAR_H + 2);
      const z = values[targets.indexOf('zkts')];
      const k = values[targets.indexOf('zookeeper')];
      const ratio = z !== undefined && k !== undefined && k !== 0 ? ` zkts/zk ${fmt(z / k)}` : '';
      parts.push(`<text x="12" y="${y + groupH / 2 + 4}" font-size="12">${escapeXml(`${f.name} ${f.better === 'up' ? '↑' : '↓'}`)}</text>`);
      parts.push(`<text x="12" y="${y + groupH / 2 + 17}" font-size="10" fill="#555">${escapeXml(ratio.trim())}</text>`);
      values.forEach((v, i) => {
        const by = y + i * (BAR_H + 2);
        const len = v === undefined ? 0 : Math.max(1, (v / max) * barMax);
        parts.push(`<rect x="${LABEL_W}" y="${by}" width="${len.toFixed(1)}" height="${BAR_H}" fill="${COLORS[i % COLORS.length]}"/>`);
        parts.push(`<text x="${LABEL_W + len + 6}" y="${by + BAR_H - 3}" font-size="11">${escapeXml(fmt(v))}</text>`);
      });
      y += groupH + GAP + 8;
    }
  }
  y += 10;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" viewBox="0 0 ${WIDTH} ${y}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`;
}
