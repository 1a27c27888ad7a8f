#!/usr/bin/env node
// Draws the runs of a `zkts bench --json FILE` as an SVG chart (the same as `zkts bench --chart`):
//   node scripts/bench-chart.mjs bench.jsonl chart.svg ["title"]
import { readFileSync, writeFileSync } from 'node:fs';
import { renderChartSvg } from '../dist/src/bench/chart.js';

const [input, output, title] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: bench-chart.mjs BENCH.jsonl CHART.svg [TITLE]');
  process.exit(2);
}
const lines = readFileSync(input, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
const runs = lines.filter((l) => l.type === 'run');
const targets = [...new Set(runs.map((r) => r.target))];
writeFileSync(output, renderChartSvg(runs, targets, title ?? `zkts bench: ${targets.join(' vs ')}`));
console.log(`${output}: ${runs.length} runs, ${targets.join(', ')}`);
