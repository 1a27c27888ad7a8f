#!/usr/bin/python3
"""Failover time of 3-server ensembles, zkts and Apache ZooKeeper 3.8.0 side by side.

    /usr/bin/python3 scripts/failover-compare.py [--rounds N] [--kinds zkts,zookeeper]

For each kind: start 3 servers on loopback (tickTime 2000, initLimit 10, syncLimit 5, fsync on),
then N times: find the leader (srvr), kill -9 it, and time until a kazoo client connected to the
two survivors gets its first create acknowledged; start the killed server again and wait until
all three serve. Prints each round and the median and worst per kind. Build zkts first
(npm run build). Needs Debian's zookeeper and python3-kazoo.
"""
import argparse, os, shutil, statistics, sys, tempfile, time

from kazoo.client import KazooClient

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ensemble_harness import Ensemble  # noqa: E402

def failover_round(ens, n):
    leader = ens.settle()
    survivors = [m for m in ens.members if m is not leader]
    client = KazooClient(hosts=','.join('127.0.0.1:%d' % m['client'] for m in survivors), timeout=30)
    client.start(timeout=30)
    client.create('/before-%d' % n, b'x')
    t0 = time.time()
    ens.kill(leader)
    while True:
        try:
            client.create('/after-%d' % n, b'x')
            break
        except Exception:
            time.sleep(0.005)
    elapsed = time.time() - t0
    client.stop()
    client.close()
    ens.start(leader)
    ens.settle()
    return elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--rounds', type=int, default=5)
    ap.add_argument('--kinds', default='zkts,zookeeper')
    args = ap.parse_args()
    base = tempfile.mkdtemp(prefix='zkts-failover-')
    results = {}
    try:
        for kind in args.kinds.split(','):
            ens = Ensemble(kind, base)
            try:
                ens.settle()
                times = []
                for n in range(args.rounds):
                    t = failover_round(ens, n)
                    times.append(t)
                    print('%s round %d: first acknowledged write %.0f ms after kill -9 of the leader' % (kind, n + 1, t * 1000), flush=True)
                results[kind] = times
            finally:
                ens.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)
    for kind, times in results.items():
        print('%s: median %.0f ms, worst %.0f ms over %d rounds' % (kind, statistics.median(times) * 1000, max(times) * 1000, len(times)))
    if len(results) == 2:
        a, b = (statistics.median(results[k]) for k in args.kinds.split(','))
        print('median ratio %s/%s: %.2fx' % (*args.kinds.split(','), a / b))


if __name__ == '__main__':
    sys.exit(main())
