#!/usr/bin/env node
// Top functions of a V8 .cpuprofile (node --cpu-prof): self time by function and by file, and
// inclusive (self + callees) time by function. Usage: node scripts/cpuprofile-top.mjs FILE [N]
import { readFileSync } from 'node:fs';

const [file, nArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: cpuprofile-top.mjs FILE.cpuprofile [N]');
  process.exit(2);
}
const N = Number(nArg ?? 25);
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// Time per sample: the deltas (microseconds) of the sample that follows.
const selfUs = new Map();
const deltas = prof.timeDeltas ?? [];
for (let i = 0; i < prof.samples.length; i++) {
  const dt = deltas[i + 1] ?? deltas[i] ?? 0;
  selfUs.set(prof.samples[i], (selfUs.get(prof.samples[i]) ?? 0) + dt);
}
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

const short = (url) => url.replace(/^file:\/\//, '').replace(/^.*\/(dist|node_modules)\//, '$1/');
const key = (n) => {
  const cf = n.callFrame;
  const name = cf.functionName || '(anonymous)';
  return cf.url ? `${name}  ${short(cf.url)}:${cf.lineNumber + 1}` : name;
};

const self = new Map();
const byFile = new Map();
const incl = new Map();
for (const [id, us] of selfUs) {
  const n = byId.get(id);
  const k = key(n);
  self.set(k, (self.get(k) ?? 0) + us);
  const f = n.callFrame.url ? short(n.callFrame.url) : `(${n.callFrame.functionName || 'native'})`;
  byFile.set(f, (byFile.get(f) ?? 0) + us);
  // Inclusive: credit every distinct function on the stack once.
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const ck = key(byId.get(cur));
    if (seen.has(ck)) continue;
    seen.add(ck);
    incl.set(ck, (incl.get(ck) ?? 0) + us);
  }
}

const pct = (us) => ((100 * us) / total).toFixed(1).padStart(5) + '%';
const top = (m, n) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n);
console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled`);
console.log('\nself time by function:');
for (const [k, us] of top(self, N)) console.log(`${pct(us)}  ${k}`);
console.log('\nself time by file:');
for (const [k, us] of top(byFile, 15)) console.log(`${pct(us)}  ${k}`);
console.log('\ninclusive time by function:');
for (const [k, us] of top(incl, N)) if (!k.startsWith('(root)')) console.log(`${pct(us)}  ${k}`);
