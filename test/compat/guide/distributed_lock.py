#!/usr/bin/python3
"""Guide example 3: a distributed lock with kazoo.recipe.lock.Lock.

WORKERS processes each increment a counter stored in /counter ROUNDS times, doing an unguarded
read-modify-write under the lock /locks/counter. Without mutual exclusion updates would be lost.
Each critical section also (1) creates the ephemeral /locks/inside (NodeExists => someone else is
inside), (2) writes the counter with the version it read (BadVersion => someone wrote meanwhile)
and (3) reports its CLOCK_MONOTONIC interval so the parent can check no two sections overlap.

Usage: /usr/bin/python3 distributed_lock.py HOST:PORT            (parent: spawns the workers)
       /usr/bin/python3 distributed_lock.py HOST:PORT --worker I  (one worker, prints JSON)
Prints one final JSON line {"ok": bool, "checks": {...}} and exits non-zero on failure.
"""
import json
import os
import subprocess
import sys
import time

from kazoo.client import KazooClient
from kazoo.exceptions import BadVersionError, NodeExistsError

hosts = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:2181"
WORKERS = 4
ROUNDS = 20


def worker(index):
    zk = KazooClient(hosts=hosts, timeout=10)
    zk.start(timeout=15)
    lock = zk.Lock("/locks/counter", "worker-%d" % index)
    intervals, violations = [], []
    try:
        for _ in range(ROUNDS):
            with lock:
                start = time.monotonic()
                try:
                    zk.create("/locks/inside", b"worker-%d" % index, ephemeral=True)
                except NodeExistsError:
                    violations.append("inside-node-exists")
                data, stat = zk.get("/counter")
                value = int(data.decode())
                time.sleep(0.002)  # widen the race window
                try:
                    zk.set("/counter", str(value + 1).encode(), version=stat.version)
                except BadVersionError:
                    violations.append("bad-version")
                    zk.set("/counter", str(value + 1).encode())
                zk.delete("/locks/inside")
                intervals.append((start, time.monotonic()))
    finally:
        zk.stop()
        zk.close()
    print(json.dumps({"worker": index, "intervals": intervals, "violations": violations}))


def parent():
    checks = {}

    def check(name, cond, detail=None):
        checks[name] = bool(cond) if detail is None else {"ok": bool(cond), "detail": detail}

    zk = KazooClient(hosts=hosts, timeout=10)
    zk.start(timeout=15)
    try:
        zk.ensure_path("/locks")
        zk.create("/counter", b"0")
        procs = [subprocess.Popen([sys.executable, os.path.abspath(__file__), hosts, "--worker", str(i)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(WORKERS)]
        reports, failures = [], []
        for i, p in enumerate(procs):
            try:
                out, err = p.communicate(timeout=50)
            except subprocess.TimeoutExpired:
                p.kill()
                out, err = p.communicate()
            lines = [l for l in out.decode().splitlines() if l.startswith("{")]
            if p.returncode != 0 or not lines:
                failures.append({"worker": i, "rc": p.returncode, "stderr": err.decode()[-2000:]})
            else:
                reports.append(json.loads(lines[-1]))
        check("workers_succeeded", not failures, failures)
        data, stat = zk.get("/counter")
        expected = WORKERS * ROUNDS
        check("final_counter", int(data.decode()) == expected, {"value": int(data.decode()), "expected": expected})
        check("counter_version", stat.version == expected, stat.version)
        intervals = sorted((a, b, r["worker"]) for r in reports for a, b in r["intervals"])
        check("critical_sections", len(intervals) == expected, len(intervals))
        overlaps = [(x[2], y[2]) for x, y in zip(intervals, intervals[1:]) if y[0] < x[1]]
        check("no_overlapping_critical_sections", not overlaps, overlaps[:10])
        violations = [v for r in reports for v in r["violations"]]
        check("no_guard_violations", not violations, violations)
        order = [x[2] for x in intervals]
        check("lock_was_shared", len(set(order)) == WORKERS, sorted(set(order)))
        check("lock_node_released", zk.get_children("/locks/counter") == [], zk.get_children("/locks/counter"))
        check("inside_node_gone", zk.exists("/locks/inside") is None)
    except Exception as e:
        check("no_exception", False, repr(e))
    finally:
        zk.stop()
        zk.close()

    ok = all(v is True or (isinstance(v, dict) and v["ok"]) for v in checks.values())
    print(json.dumps({"example": "distributed_lock", "ok": ok, "checks": checks}))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[2] == "--worker":
        worker(int(sys.argv[3]))
    else:
        parent()
