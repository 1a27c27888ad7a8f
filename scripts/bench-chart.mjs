#!/usr/bin/env node
// Draws the runs of a `zkts bench --json FILE` as SVG charts (the same as `zkts bench --chart`):
// a bar chart of the plain workloads, and a line chart per scale curve (CHART-<curve>.svg, or CHART
// itself when the file holds one curve and nothing else).
//   node scripts/bench-chart.mjs bench.jsonl chart.svg ["title"]
import { readFileSync, writeFileSync } from 'node:fs';
import { renderCharts } from '../dist/src/bench/curves.js';
import { CURVES } from '../dist/src/bench/workloads.js';

const [input, output, title] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: bench-chart.mjs BENCH.jsonl CHART.svg [TITLE]');
  process.exit(2);
}
const lines = readFileSync(input, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
const runs = lines.filter((l) => l.type === 'run');
const targets = [...new Set(runs.map((r) => r.target))];
const curves = CURVES.filter((c) => runs.some((r) => r.workload === c));
for (const { file, svg } of renderCharts(runs, targets, output, curves, title ?? input)) {
  writeFileSync(file, svg);
  console.log(`${file}: ${runs.length} runs, ${targets.join(', ')}`);
}
