#!/usr/bin/python3
"""Guide example 2: leader election with kazoo.recipe.election.Election.

Several contenders (threads, each with its own ZooKeeper session) run for leadership of
/election. The leader does its work, then quits; another contender takes over. We check that
exactly one contender leads at a time, every contender leads exactly once, and the hand-over is
quick. The first leader does not step down: it quits by closing its session while leading
(its ephemeral lock node goes with the session), and the next contender must take over.

Usage: /usr/bin/python3 leader_election.py HOST:PORT
Prints one final JSON line {"ok": bool, "checks": {...}} and exits non-zero on failure.
"""
import json
import sys
import threading
import time

from kazoo.client import KazooClient

hosts = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:2181"
N = 4
checks = {}


def check(name, cond, detail=None):
    checks[name] = bool(cond) if detail is None else {"ok": bool(cond), "detail": detail}
    return cond


guard = threading.Lock()
leading = set()
max_concurrent = 0
terms = []  # (contender, start, end)
crashed = []  # the contender that closed its session while leading
contenders_seen_by_first = []
errors = []

observer = KazooClient(hosts=hosts, timeout=10)
observer.start(timeout=15)
all_registered = threading.Event()


def contender(i):
    zk = KazooClient(hosts=hosts, timeout=10)
    zk.start(timeout=15)
    election = zk.Election("/election", "contender-%d" % i)

    def lead():
        global max_concurrent
        start = time.monotonic()
        with guard:
            leading.add(i)
            max_concurrent = max(max_concurrent, len(leading))
            first = len(terms) == 0
        if first:
            # The first leader waits until everybody is queued, so every later term is a real take-over.
            deadline = time.time() + 15
            while time.time() < deadline and len(election.contenders()) < N:
                time.sleep(0.05)
            contenders_seen_by_first.extend(election.contenders())
            all_registered.set()
        time.sleep(0.3)  # leader work
        # Still the only one holding the lock node at the head of the queue?
        if election.contenders()[0] != "contender-%d" % i:
            errors.append("contender-%d leads but is not first in %r" % (i, election.contenders()))
        with guard:
            leading.discard(i)
            terms.append((i, start, time.monotonic()))
        if first:
            # Quit without stepping down: the session goes away with its ephemeral lock node.
            crashed.append(i)
            zk.stop()

    try:
        election.run(lead)
    except Exception as e:
        if i not in crashed:
            errors.append("contender-%d: %r" % (i, e))
    finally:
        zk.stop()
        zk.close()


try:
    threads = [threading.Thread(target=contender, args=(i,), daemon=True) for i in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    check("all_contenders_finished", not any(t.is_alive() for t in threads))
    check("all_registered_before_first_term_ended", all_registered.is_set() and
          sorted(contenders_seen_by_first) == sorted("contender-%d" % i for i in range(N)), contenders_seen_by_first)
    check("one_leader_at_a_time", max_concurrent == 1, max_concurrent)
    leaders = [t[0] for t in terms]
    check("each_contender_led_once", sorted(leaders) == list(range(N)), leaders)
    check("leaders_follow_queue_order", ["contender-%d" % c for c in leaders] == contenders_seen_by_first,
          {"leaders": leaders, "queue": contenders_seen_by_first})
    ordered = sorted(terms, key=lambda t: t[1])
    overlaps = [(a[0], b[0]) for a, b in zip(ordered, ordered[1:]) if b[1] < a[2]]
    check("terms_do_not_overlap", not overlaps, overlaps)
    gaps = [round(b[1] - a[2], 3) for a, b in zip(ordered, ordered[1:])]
    check("takeover_is_prompt", all(g < 5 for g in gaps), gaps)
    check("takeover_after_session_close", len(crashed) == 1 and leaders[:1] == crashed and len(leaders) == N,
          {"order": leaders, "closed_session": crashed})
    check("no_errors", not errors, errors)
    remaining = observer.get_children("/election") if observer.exists("/election") else []
    check("election_znodes_cleaned_up", remaining == [], remaining)
except Exception as e:
    check("no_exception", False, repr(e))
finally:
    observer.stop()
    observer.close()

ok = all(v is True or (isinstance(v, dict) and v["ok"]) for v in checks.values())
print(json.dumps({"example": "leader_election", "ok": ok, "checks": checks}))
sys.exit(0 if ok else 1)
