#!/usr/bin/env bash
# The project's test command (README): installs everything the tests need on a fresh Debian
# machine, builds, and runs every test:
#   0. tsc over src/, bin/ and test/ (tsconfig.test.json): the test files are type-checked too;
#   1. vitest: unit and property tests, the differential test against Apache ZooKeeper, real
#      clients (zkCli.sh, cli_mt, node-zookeeper-client) and the kazoo guide examples;
#   2. kazoo's own test suite, unchanged, against Apache ZooKeeper 3.8.0 and against zkts;
#      every test that passes on ZooKeeper must pass on zkts unless
#      test/compat/kazoo/expected-failures.txt names it with a reason.
# Ends with one line "zkts tests: N passed, N failed". Exit status is non-zero on any failure.
set -uo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd -- "$ROOT"
RESULTS=$ROOT/.test-results
rm -rf "$RESULTS" && mkdir -p "$RESULTS"

scripts/install-deps.sh || { echo "test-all: installing dependencies failed" >&2; exit 1; }

status=0
echo "== tsc: type-check the sources and the tests"
typecheck_failed=0
npx tsc -p tsconfig.test.json || { typecheck_failed=1; status=1; }

echo "== vitest: unit, property, differential and real-client tests"
# JSON for the closing line below, JUnit XML so that CI's report names a failing test.
npx vitest run --reporter=default --reporter=json --reporter=junit \
  --outputFile.json="$RESULTS/vitest.json" --outputFile.junit="$RESULTS/vitest-junit.xml" || status=1

echo "== kazoo's test suite: Apache ZooKeeper 3.8.0, then zkts"
export KAZOO_WORK_DIR=$RESULTS/kazoo
scripts/kazoo-suite.sh zookeeper || status=1
scripts/kazoo-suite.sh zkts || status=1
/usr/bin/python3 scripts/kazoo-compare.py \
  --zookeeper "$KAZOO_WORK_DIR/zookeeper/junit.xml" --zkts "$KAZOO_WORK_DIR/zkts/junit.xml" \
  | tee "$RESULTS/kazoo-compare.txt"
compare=${PIPESTATUS[0]}
(( compare == 0 )) || status=1

echo "== kazoo's test suite on 3-server ensembles: Apache ZooKeeper 3.8.0, then zkts"
export KAZOO_WORK_DIR=$RESULTS/kazoo3
ZOOKEEPER_CLUSTER_SIZE=3 scripts/kazoo-suite.sh zookeeper || status=1
ZOOKEEPER_CLUSTER_SIZE=3 scripts/kazoo-suite.sh zkts || status=1
/usr/bin/python3 scripts/kazoo-compare.py --allowlist test/compat/kazoo/expected-failures-size3.txt \
  --zookeeper "$KAZOO_WORK_DIR/zookeeper/junit.xml" --zkts "$KAZOO_WORK_DIR/zkts/junit.xml" \
  | tee "$RESULTS/kazoo3-compare.txt"
compare3=${PIPESTATUS[0]}
(( compare3 == 0 )) || status=1

# One closing line over both runners. Kazoo tests that fail on Apache ZooKeeper too (they need an
# ensemble) or that the allowlist names are reported by kazoo-compare above, not counted here.
node -e '
  const fs = require("fs");
  const v = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  // Both kazoo runs (a standalone server, then 3-server ensembles), each compared with ZooKeeper.
  let kazooPassed = 0;
  let unexpected = 0;
  for (const file of [process.argv[2], process.argv[4]]) {
    const cmp = fs.readFileSync(file, "utf8");
    kazooPassed += Number((/^passed\s+\d+\s+(\d+)/m.exec(cmp) || [0, 0])[1]);
    unexpected += Number((/allowlisted, (\d+) not\)/.exec(cmp) || [0, 0])[1]);
  }
  // A failed type check, and a test file that failed outside any test (e.g. a dependency missing
  // under CI), count as one failure each.
  const fileFailures = v.testResults.filter((f) => f.status === "failed" && !f.assertionResults.some((a) => a.status === "failed")).length;
  const failed = v.numFailedTests + fileFailures + Number(process.argv[3]) + unexpected;
  // Name what failed here too: a long log is often cut before the vitest summary.
  const rel = (p) => require("path").relative(process.cwd(), p);
  for (const f of v.testResults) {
    const tests = f.assertionResults.filter((a) => a.status === "failed");
    if (f.status === "failed" && tests.length === 0) console.log(`FAILED ${rel(f.name)}: ${String(f.message).split("\n")[0]}`);
    for (const a of tests) console.log(`FAILED ${rel(f.name)} > ${a.fullName}: ${String(a.failureMessages[0] ?? "").split("\n")[0]}`);
  }
  console.log(`zkts tests: ${v.numPassedTests + kazooPassed} passed, ${failed} failed`);
' "$RESULTS/vitest.json" "$RESULTS/kazoo-compare.txt" "$typecheck_failed" "$RESULTS/kazoo3-compare.txt" || status=1
exit $status
