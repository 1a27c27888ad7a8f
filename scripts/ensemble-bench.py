#!/usr/bin/python3
"""Throughput and latency of 3-server ensembles, zkts and Apache ZooKeeper 3.8.0 side by side.

    /usr/bin/python3 scripts/ensemble-bench.py [--rounds N] [--duration S] [--workloads read,write,mixed]

Starts a 3-server ensemble of each kind (scripts/ensemble_harness.py: tickTime 2000, fsync on),
and runs `zkts bench WORKLOAD --connect <all three client ports>` against it: the bench spreads its
sessions over the three servers, so reads are served everywhere and writes go through the leader.
Rounds alternate between the kinds. Prints each run and, per workload, the medians and the
median of the per-round ratios. Build zkts first (npm run build).
"""
import argparse, json, os, shutil, statistics, subprocess, sys, tempfile  # noqa: E401

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ensemble_harness import ROOT, Ensemble  # noqa: E402


def bench(hosts, workload, duration, json_file):
    cmd = ['node', os.path.join(ROOT, 'dist/bin/zkts.js'), 'bench', workload, '--connect', hosts, '--rounds', '1', '--duration', str(duration),
           '--warmup', '2', '--json', json_file]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with open(json_file) as f:
        runs = [json.loads(l) for l in f if l.strip()]
    run = [r for r in runs if r.get('type') == 'run'][-1]
    if run.get('errorCount'):
        raise RuntimeError('%s on %s: %d errors %s' % (workload, hosts, run['errorCount'], run['errors']))
    return {'opsPerSec': run['opsPerSec'], 'latency': run['latencyMs']}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--duration', type=int, default=10)
    ap.add_argument('--workloads', default='read,write,mixed')
    args = ap.parse_args()
    base = tempfile.mkdtemp(prefix='zkts-ensemble-bench-')
    kinds = ['zkts', 'zookeeper']
    ensembles = {}
    results = {k: {w: [] for w in args.workloads.split(',')} for k in kinds}
    try:
        for k in kinds:
            ensembles[k] = Ensemble(k, base)
        for k in kinds:
            ensembles[k].settle()
        for rnd in range(args.rounds):
            for w in args.workloads.split(','):
                for k in kinds:
                    r = bench(ensembles[k].client_hosts(), w, args.duration, os.path.join(base, 'bench.jsonl'))
                    results[k][w].append(r)
                    print('round %d %-6s %-9s %9.0f ops/s  p50 %6.2f ms  p99 %6.2f ms' % (rnd + 1, w, k, r['opsPerSec'], r['latency']['p50'], r['latency']['p99']), flush=True)
    finally:
        for e in ensembles.values():
            e.stop()
        shutil.rmtree(base, ignore_errors=True)
    for w in args.workloads.split(','):
        z, j = results['zkts'][w], results['zookeeper'][w]
        ratios = [a['opsPerSec'] / b['opsPerSec'] for a, b in zip(z, j)]
        p99 = [a['latency']['p99'] / b['latency']['p99'] for a, b in zip(z, j)]
        print('%-6s zkts %9.0f ops/s, ZooKeeper %9.0f ops/s: %.2fx; p99 %.2f vs %.2f ms: %.2fx (medians of %d rounds)' % (
            w, statistics.median(r['opsPerSec'] for r in z), statistics.median(r['opsPerSec'] for r in j), statistics.median(ratios),
            statistics.median(r['latency']['p99'] for r in z), statistics.median(r['latency']['p99'] for r in j), statistics.median(p99), len(z)))


if __name__ == '__main__':
    sys.exit(main())
