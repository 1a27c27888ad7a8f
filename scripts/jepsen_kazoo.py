#!/usr/bin/python3
"""jepsen-lite's lock workload: kazoo 2.8's Lock and Election recipes (the kazoo guide's examples)
driven by several clients, each with its own KazooClient (session). Prints one JSON object per
line on stdout, a history entry without its index (src/jepsen/history.ts): the harness adds the
index and maps `process` (this script's numbering) to its own.

Time: `t` is time.monotonic_ns() minus --origin-ns. Python's time.monotonic_ns() and Node's
process.hrtime.bigint() both read CLOCK_MONOTONIC on Linux, so the harness passes its run's start
instant and the two clocks agree; no pipe delay enters the history's times.

A holder that sees its connection suspended or lost stops believing it holds the lock at that
moment: it records the release's invoke then, and completes it as `info` (the lock's znode goes
only when the session expires or the connection comes back and the recipe deletes it).

Usage: jepsen_kazoo.py --hosts h:p,h:p,... --clients N --seconds S --seed N --origin-ns NS
"""
import argparse
import json
import random
import sys
import threading
import time

from kazoo.client import KazooClient
from kazoo.protocol.states import KazooState

ROOT = "/jepsen-lock"
out_lock = threading.Lock()
pids_lock = threading.Lock()
next_pid = [0]


def new_pid():
    with pids_lock:
        next_pid[0] += 1
        return next_pid[0]


def emit(origin, **entry):
    entry["t"] = time.monotonic_ns() - origin
    with out_lock:
        sys.stdout.write(json.dumps(entry) + "\n")
        sys.stdout.flush()


class Client:
    def __init__(self, args, idx, hosts, recipe, rng):
        self.args = args
        self.idx = idx
        self.recipe = recipe
        self.rng = rng
        self.pid = new_pid()
        self.hosts = hosts
        self.key = "%s/%s" % (ROOT, recipe)
        self.zk = KazooClient(hosts=",".join(hosts), timeout=args.session_timeout, connection_retry={"max_tries": -1, "delay": 0.1, "max_delay": 1}, command_retry=None)
        self.connected = threading.Event()
        self.last_session = None
        self.zk.add_listener(self.on_state)

    def on_state(self, state):
        if state == KazooState.CONNECTED:
            self.connected.set()
        else:
            self.connected.clear()

    def session(self):
        """The session's id, or while disconnected the last one it had (kazoo forgets it then)."""
        sid = self.zk.client_id
        if sid is not None:
            self.last_session = "0x%x" % sid[0]
        return self.last_session

    def record(self, type_, f, **extra):
        entry = {"process": self.pid, "type": type_, "f": f, "key": self.key}
        s = self.session()
        if s:
            entry["session"] = s
        entry.update(extra)
        emit(self.args.origin_ns, **entry)

    def retire(self):
        self.pid = new_pid()

    def hold(self):
        """Holds for a while; False if the connection was suspended or lost meanwhile."""
        end = time.monotonic() + self.rng.uniform(0.05, 0.4)
        while time.monotonic() < end:
            if not self.connected.is_set():
                return False
            time.sleep(0.005)
        return self.connected.is_set()

    def run(self, deadline):
        try:
            self.zk.start(timeout=30)
        except Exception as e:  # noqa: BLE001 - any failure to start is reported, not raised
            emit(self.args.origin_ns, process=self.pid, type="log", f="start", error=repr(e))
            return
        self.connected.set()
        while time.monotonic() < deadline:
            if not self.connected.wait(0.2):
                continue
            if self.recipe == "lock":
                self.lock_once()
            else:
                self.elect_once()
            time.sleep(self.rng.uniform(0, 0.1))
        try:
            self.zk.stop()
            self.zk.close()
        except Exception:  # noqa: BLE001
            pass

    def lock_once(self):
        lock = self.zk.Lock(self.key, "client-%d" % self.idx)
        self.record("invoke", "acquire")
        try:
            got = lock.acquire(timeout=self.args.op_timeout)
        except Exception as e:  # noqa: BLE001
            self.record("info", "acquire", error=type(e).__name__)
            self.retire()
            return
        if not got:
            # kazoo gave up waiting and removed its contender node (best effort): unknown.
            self.record("info", "acquire", error="TIMEOUT")
            self.retire()
            return
        self.record("ok", "acquire")
        whole = self.hold()
        self.record("invoke", "release")
        if not whole:
            self.record("info", "release", error="CONNECTION_SUSPENDED")
            self.retire()
            try:
                lock.release()
            except Exception:  # noqa: BLE001
                pass
            return
        try:
            lock.release()
            self.record("ok", "release")
        except Exception as e:  # noqa: BLE001
            self.record("info", "release", error=type(e).__name__)
            self.retire()

    def elect_once(self):
        election = self.zk.Election(self.key, "client-%d" % self.idx)
        state = {"elected": False, "whole": True}

        def lead():
            state["elected"] = True
            self.record("ok", "acquire")
            state["whole"] = self.hold()
            self.record("invoke", "release")

        self.record("invoke", "acquire")
        timer = threading.Timer(self.args.op_timeout, election.cancel)
        timer.start()
        try:
            election.run(lead)
        except Exception as e:  # noqa: BLE001
            timer.cancel()
            if state["elected"]:
                self.record("info", "release", error=type(e).__name__)
            else:
                self.record("info", "acquire", error=type(e).__name__)
            self.retire()
            return
        timer.cancel()
        if not state["elected"]:
            self.record("info", "acquire", error="TIMEOUT")
            self.retire()
        elif not state["whole"]:
            self.record("info", "release", error="CONNECTION_SUSPENDED")
            self.retire()
        else:
            self.record("ok", "release")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--hosts", required=True)
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--origin-ns", type=int, required=True)
    p.add_argument("--session-timeout", type=float, default=4.0)
    p.add_argument("--op-timeout", type=float, default=5.0)
    args = p.parse_args()
    hosts = args.hosts.split(",")
    rng = random.Random(args.seed)
    deadline = time.monotonic() + args.seconds
    threads = []
    for i in range(args.clients):
        # Even clients pinned to one server, odd ones free to move among all; half lock, half elect.
        mine = [hosts[i % len(hosts)]] if i % 2 == 0 else hosts
        c = Client(args, i, mine, "lock" if (i // 2) % 2 == 0 else "election", random.Random(rng.random()))
        t = threading.Thread(target=c.run, args=(deadline,), daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join(args.seconds + 60)


if __name__ == "__main__":
    main()
