#!/usr/bin/python3
"""Compare kazoo test-suite results of zkts against real Apache ZooKeeper.

Usage (run with /usr/bin/python3, after scripts/kazoo-suite.sh zookeeper and ... zkts):

    scripts/kazoo-compare.py [--zookeeper JUNIT] [--zkts JUNIT] [--allowlist FILE]

Defaults: .kazoo-work/zookeeper/junit.xml, .kazoo-work/zkts/junit.xml and
test/compat/kazoo/expected-failures.txt, relative to the repo root.

Prints both result counts side by side, then every test that passed on zookeeper but not
on zkts (failed, error, skipped or missing). Exit status:
    0  every such test is in the allowlist
    1  at least one test passed on zookeeper, did not pass on zkts, and is not allowlisted
    2  an input file is missing or unreadable

Test ids are pytest node ids, e.g. kazoo/tests/test_client.py::TestClient::test_create.
Allowlist lines are node ids or fnmatch patterns (kazoo/tests/*::Test*Client::test_x);
everything after `#` is a comment.

Also used by kazoo-suite.sh to write its one-line summary:
    scripts/kazoo-compare.py --summarize JUNIT --target NAME
"""

import argparse
import fnmatch
import os
import re
import sys
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTCOMES = ("passed", "failed", "skipped", "errors")
SEVERITY = ("passed", "skipped", "errors", "failed")
# Where kazoo's tests live; used to turn junit classnames back into node ids.
NODEID_ROOTS = ["/usr/lib/python3/dist-packages"]


class InputError(Exception):
    pass


def _module_split(parts):
    """Index just past the module part of a dotted junit classname, e.g.
    ['kazoo', 'tests', 'test_client', 'TestClient'] -> 3."""
    # Prefer the file system: the longest prefix that is an existing .py file.
    for root in NODEID_ROOTS:
        for i in range(len(parts), 0, -1):
            if os.path.isfile(os.path.join(root, *parts[:i]) + ".py"):
                return i
    # Fallback: the last part named like a pytest test module.
    for i in range(len(parts) - 1, -1, -1):
        if re.match(r"^(test_\w*|\w*_test)$", parts[i]):
            return i + 1
    return len(parts)


def node_id(classname, name):
    """Rebuild a pytest node id from junit classname/name (pytest's mangle_test_address)."""
    parts = classname.split(".") if classname else []
    if not parts:
        return name
    i = _module_split(parts)
    nodeid = "/".join(parts[:i]) + ".py"
    for p in parts[i:] + [name]:
        nodeid += "::" + p
    return nodeid


def load(path):
    """Return {node_id: outcome} with outcome in OUTCOMES (one outcome per test)."""
    if not os.path.isfile(path):
        raise InputError("%s: not found" % path)
    try:
        tree = ET.parse(path)
    except ET.ParseError as e:
        raise InputError("%s: %s" % (path, e))
    results = {}
    for tc in tree.iter("testcase"):
        if not tc.get("name"):
            continue  # pytest writes a bare <testcase/> for a test cut short by SIGINT
        tid = node_id(tc.get("classname", ""), tc.get("name", ""))
        tags = {child.tag for child in tc}
        # A test that failed and also errored in teardown counts as failed.
        if "failure" in tags:
            outcome = "failed"
        elif "error" in tags:
            outcome = "errors"
        elif "skipped" in tags:
            outcome = "skipped"
        else:
            outcome = "passed"
        # Same id twice (should not happen): keep the worse outcome.
        prev = results.get(tid)
        if prev is None or SEVERITY.index(outcome) > SEVERITY.index(prev):
            results[tid] = outcome
    return results


def counts(results):
    c = dict.fromkeys(OUTCOMES, 0)
    for outcome in results.values():
        c[outcome] += 1
    return c


def summary_line(target, results):
    c = counts(results)
    return "kazoo-suite %s: %d passed, %d failed, %d skipped, %d errors" % (
        target, c["passed"], c["failed"], c["skipped"], c["errors"])


def load_allowlist(path):
    """Return [(pattern, comment)] from the allowlist; missing file = empty list."""
    entries = []
    if not path or not os.path.isfile(path):
        return entries
    with open(path, encoding="utf-8") as f:
        for line in f:
            entry, _, comment = line.partition("#")
            entry = entry.strip()
            if entry:
                entries.append((entry, comment.strip()))
    return entries


def allowed_by(tid, allowlist):
    for pattern, _ in allowlist:
        if tid == pattern or fnmatch.fnmatchcase(tid, pattern):
            return pattern
    return None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--zookeeper", default=os.path.join(ROOT, ".kazoo-work/zookeeper/junit.xml"))
    ap.add_argument("--zkts", default=os.path.join(ROOT, ".kazoo-work/zkts/junit.xml"))
    ap.add_argument("--allowlist",
                    default=os.path.join(ROOT, "test/compat/kazoo/expected-failures.txt"))
    ap.add_argument("--summarize", metavar="JUNIT",
                    help="only print the one-line summary of JUNIT and exit")
    ap.add_argument("--target", default="?", help="target name for --summarize")
    args = ap.parse_args(argv)

    try:
        if args.summarize:
            print(summary_line(args.target, load(args.summarize)))
            return 0
        zk = load(args.zookeeper)
        zt = load(args.zkts)
    except InputError as e:
        print("kazoo-compare: %s" % e, file=sys.stderr)
        return 2
    allowlist = load_allowlist(args.allowlist)

    czk, czt = counts(zk), counts(zt)
    print("%-10s %10s %10s" % ("", "zookeeper", "zkts"))
    for o in OUTCOMES:
        print("%-10s %10d %10d" % (o, czk[o], czt[o]))
    print("%-10s %10d %10d" % ("total", len(zk), len(zt)))
    print()

    regressions, tolerated = [], []
    for tid in sorted(zk):
        if zk[tid] != "passed":
            continue
        got = zt.get(tid, "missing")
        if got == "passed":
            continue
        pattern = allowed_by(tid, allowlist)
        (tolerated if pattern else regressions).append((tid, got, pattern))

    print("Passed on zookeeper, not on zkts: %d (%d allowlisted, %d not)"
          % (len(regressions) + len(tolerated), len(tolerated), len(regressions)))
    for tid, got, _ in regressions:
        print("  %-8s %s" % (got, tid))
    for tid, got, pattern in tolerated:
        print("  %-8s %s   [allowlisted%s]" % (got, tid, "" if pattern == tid else ": " + pattern))

    # Informational: allowlist entries that no longer match a zkts non-pass.
    stale = [p for p, _ in allowlist
             if not any(allowed_by(tid, [(p, "")]) for tid, _, _ in tolerated)]
    if stale:
        print()
        print("Allowlist entries not needed by this run (pass on zkts, or no such test):")
        for p in stale:
            print("  " + p)

    better = sorted(tid for tid, o in zt.items() if o == "passed" and zk.get(tid) != "passed")
    if better:
        print()
        print("Passed on zkts, not on zookeeper: %d" % len(better))
        for tid in better:
            print("  %-8s %s" % (zk.get(tid, "missing"), tid))

    print()
    if regressions:
        print("kazoo-compare: FAIL: %d test(s) pass on zookeeper but not on zkts and are not in %s"
              % (len(regressions), os.path.relpath(args.allowlist, os.getcwd())))
        return 1
    print("kazoo-compare: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
