#!/usr/bin/env bash
# Run kazoo's own test suite (Debian python3-kazoo 2.8.0, unchanged) against a server.
#
#   scripts/kazoo-suite.sh TARGET [PYTEST_ARGS...]
#
# TARGET:
#   zookeeper  real Apache ZooKeeper 3.8.0 (Debian zookeeper package, launched by kazoo's harness)
#   zkts       this repo's server: test/compat/kazoo/bin is put first on PATH, so the harness's
#              `java ... QuorumPeerMain zoo.cfg` runs `node dist/bin/zkts.js start --config zoo.cfg -D...`
#              (build it first: npm run build)
#
# PYTEST_ARGS are passed to pytest. Arguments of the form test_*.py[::...] are taken relative
# to kazoo's tests dir and replace the default (whole suite), e.g.
#   scripts/kazoo-suite.sh zkts test_client.py -k test_create
#   scripts/kazoo-suite.sh zkts test_client.py::TestClient::test_create
#
# Results go to $KAZOO_WORK_DIR/TARGET (default .kazoo-work/TARGET in the repo root):
#   junit.xml     junit xml (xunit1), input of scripts/kazoo-compare.py
#   summary.txt   one line: "kazoo-suite TARGET: N passed, N failed, N skipped, N errors"
#   pytest.log    full pytest output (-v)
#   zkts-server.log  (zkts only) stdout/stderr of every server the harness launched
#   tmp/          TMPDIR of the run; the harness creates its server WORKDIRs here
#
# Exit status: 0 whenever pytest ran (test failures included; kazoo-compare.py decides),
# non-zero if pytest could not run at all (bad target, missing build, ports busy, crash, ...).
#
# Environment (defaults in brackets):
#   ZOOKEEPER_PORT_OFFSET   first client port [zkts 20000, zookeeper 21000]; server N uses
#                           offset+10*(N-1) .. +3. Different offsets let both targets run at once.
#   ZOOKEEPER_CLUSTER_SIZE  [1]
#   ZOOKEEPER_VERSION       [3.8.0]  (what the harness assumes about the server)
#   ZOOKEEPER_CLASSPATH     [Debian jars, see below]; used by the zookeeper target only
#   KAZOO_TEST_TIMEOUT      per-test timeout in seconds, pytest-timeout [60]
#   KAZOO_SUITE_TIMEOUT     whole-run limit in seconds [1800]: then SIGINT to pytest and the
#                           servers (pytest still writes junit.xml), and SIGKILL to all of them
#                           KAZOO_SUITE_KILL_AFTER [60] seconds later if they are still there
#   KAZOO_WORK_DIR          results root [<repo>/.kazoo-work]
#   KAZOO_PYTHON            [/usr/bin/python3]  (not the python3 first on PATH)
#   KAZOO_STREAM            1 = also stream pytest output to stdout [1 if stdout is a tty, else 0]
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit 2
}
(( $# >= 1 )) || usage
TARGET=$1; shift
case $TARGET in
  zkts) default_offset=20000 ;;
  zookeeper) default_offset=21000 ;;
  -h|--help) usage ;;
  *) echo "kazoo-suite: unknown target '$TARGET' (zkts or zookeeper)" >&2; exit 2 ;;
esac

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
SHIM_DIR=$ROOT/test/compat/kazoo/bin
PY=${KAZOO_PYTHON:-/usr/bin/python3}
TEST_TIMEOUT=${KAZOO_TEST_TIMEOUT:-60}
SUITE_TIMEOUT=${KAZOO_SUITE_TIMEOUT:-1800}
KILL_AFTER=${KAZOO_SUITE_KILL_AFTER:-60}
WORK=${KAZOO_WORK_DIR:-$ROOT/.kazoo-work}/$TARGET
if [[ -t 1 ]]; then STREAM=${KAZOO_STREAM:-1}; else STREAM=${KAZOO_STREAM:-0}; fi

export ZOOKEEPER_CLUSTER_SIZE=${ZOOKEEPER_CLUSTER_SIZE:-1}
export ZOOKEEPER_VERSION=${ZOOKEEPER_VERSION:-3.8.0}
export ZOOKEEPER_CLASSPATH=${ZOOKEEPER_CLASSPATH:-/usr/share/java/zookeeper.jar:/usr/share/java/zookeeper-jute.jar:/usr/share/java/slf4j-api.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar}
export ZOOKEEPER_PORT_OFFSET=${ZOOKEEPER_PORT_OFFSET:-$default_offset}
# test_sasl.py sets this itself mid-run; a value inherited from the caller would change the
# whole run (and ZOOKEEPER_PATH is not needed: the classpath above takes precedence).
unset ZOOKEEPER_JAAS_AUTH ZOOKEEPER_PATH

# --- preflight -------------------------------------------------------------------------------
[[ -x $PY ]] || { echo "kazoo-suite: $PY not found (scripts/install-deps.sh)" >&2; exit 3; }
TESTS_DIR=$(cd / && "$PY" -c 'import os, kazoo.tests; print(os.path.dirname(kazoo.tests.__file__))') \
  || { echo "kazoo-suite: kazoo tests not importable with $PY (install python3-kazoo)" >&2; exit 3; }
RUN_ROOTDIR=$(dirname -- "$(dirname -- "$TESTS_DIR")")   # .../dist-packages: node ids kazoo/tests/...
(cd / && "$PY" -c 'import pytest_timeout') \
  || { echo "kazoo-suite: pytest-timeout missing (install python3-pytest-timeout)" >&2; exit 3; }

# PATH: the shim first for zkts; never the shim for zookeeper.
clean_path=$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF -- "$SHIM_DIR" | paste -sd: -)
if [[ $TARGET == zkts ]]; then
  export PATH=$SHIM_DIR:$clean_path
  [[ -f $ROOT/dist/bin/zkts.js ]] \
    || { echo "kazoo-suite: $ROOT/dist/bin/zkts.js missing; run npm run build" >&2; exit 3; }
  command -v node >/dev/null || { echo "kazoo-suite: node not on PATH" >&2; exit 3; }
else
  export PATH=$clean_path
  command -v java >/dev/null || { echo "kazoo-suite: java not on PATH" >&2; exit 3; }
  IFS=: read -r -a jars <<<"$ZOOKEEPER_CLASSPATH"
  for j in "${jars[@]}"; do
    [[ -e $j ]] || { echo "kazoo-suite: $j missing (install zookeeper)" >&2; exit 3; }
  done
fi

# Every port the cluster will use must be free: a leftover server on a client port would
# silently answer for the one under test.
if ! "$PY" - "$ZOOKEEPER_PORT_OFFSET" "$ZOOKEEPER_CLUSTER_SIZE" <<'EOF'
import socket, sys
offset, size = int(sys.argv[1]), int(sys.argv[2])
busy = []
for n in range(size):
    for p in range(offset + 10 * n, offset + 10 * n + 4):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", p))
        except OSError:
            busy.append(p)
        finally:
            s.close()
if busy:
    print("kazoo-suite: port(s) in use: %s (leftover server? see `ss -ltnp`)"
          % ", ".join(map(str, busy)), file=sys.stderr)
    sys.exit(1)
EOF
then exit 3; fi

rm -rf -- "$WORK"
mkdir -p -- "$WORK/tmp"
export TMPDIR=$WORK/tmp
export PYTHONDONTWRITEBYTECODE=1   # no pytest .pyc files written into /usr/lib/python3
[[ $TARGET == zkts ]] && export ZKTS_ROOT=$ROOT ZKTS_SHIM_LOG=$WORK/zkts-server.log
printf '[pytest]\n' >"$WORK/pytest.ini"   # keeps pytest from looking for config elsewhere

selection=()
passthru=()
for a in "$@"; do
  if [[ $a == test_*.py || $a == test_*.py::* ]]; then selection+=("$TESTS_DIR/$a"); else passthru+=("$a"); fi
done
(( ${#selection[@]} > 0 )) || selection=("$TESTS_DIR")

cmd=("$PY" -m pytest
  -c "$WORK/pytest.ini" --rootdir "$RUN_ROOTDIR" -p no:cacheprovider
  -v -rfEs --durations=20 --continue-on-collection-errors
  --timeout "$TEST_TIMEOUT"
  -o junit_family=xunit1 -o junit_suite_name="kazoo-$TARGET" --junitxml "$WORK/junit.xml"
  "${passthru[@]}" "${selection[@]}")

{
  echo "# kazoo-suite $TARGET  $(date -Is)"
  echo "# PATH=$PATH"
  env | grep -E '^(ZOOKEEPER_|ZKTS_|TMPDIR=)' | sed 's/^/# /'
  printf '#'; printf ' %q' "${cmd[@]}"; printf '\n'
} >"$WORK/pytest.log"

echo "kazoo-suite $TARGET: running kazoo tests (ports from $ZOOKEEPER_PORT_OFFSET, per-test timeout ${TEST_TIMEOUT}s, log $WORK/pytest.log)"
start=$(date +%s)

# Run pytest in its own process group (set -m), under `timeout`, from the writable work dir.
# Servers launched by the harness stay in that group, so nothing can outlive the run.
# On the suite timeout or on our own SIGINT/SIGTERM, pytest gets SIGINT and still writes junit.xml.
set -m
(cd -- "$WORK" && exec timeout -s INT -k "$KILL_AFTER" "$SUITE_TIMEOUT" "${cmd[@]}") >>"$WORK/pytest.log" 2>&1 </dev/null &
pgid=$!
set +m
interrupted=0
trap 'interrupted=1; kill -INT -- -"$pgid" 2>/dev/null || true' INT TERM HUP
tail_pid=
if [[ $STREAM == 1 ]]; then tail -n +1 -f --pid="$pgid" "$WORK/pytest.log" & tail_pid=$!; fi

rc=0
while :; do
  wait "$pgid" && rc=0 || rc=$?
  kill -0 "$pgid" 2>/dev/null || break
done
[[ -n $tail_pid ]] && { wait "$tail_pid" 2>/dev/null || true; }
trap - INT TERM HUP
wall=$(( $(date +%s) - start ))

# Anything still in the group is a server the harness failed to stop: report it, then end it.
sleep 0.5
live=()
for p in $(pgrep -g "$pgid" 2>/dev/null || true); do
  [[ $(ps -o stat= -p "$p" 2>/dev/null) == Z* ]] || live+=("$p")
done
if (( ${#live[@]} > 0 )); then
  echo "kazoo-suite $TARGET: WARNING: processes left after pytest exited, terminating:" >&2
  ps -o pid=,args= -p "$(IFS=,; echo "${live[*]}")" >&2 || true
  kill -TERM -- -"$pgid" 2>/dev/null || true
  sleep 3
  kill -KILL -- -"$pgid" 2>/dev/null || true
fi

if [[ ! -s $WORK/junit.xml ]]; then
  echo "kazoo-suite $TARGET: pytest did not produce $WORK/junit.xml (exit $rc, ${wall}s); see $WORK/pytest.log" >&2
  tail -n 30 "$WORK/pytest.log" >&2
  exit 4
fi

summary=$("$PY" "$ROOT/scripts/kazoo-compare.py" --summarize "$WORK/junit.xml" --target "$TARGET")
echo "$summary" >"$WORK/summary.txt"
echo "kazoo-suite $TARGET: pytest exit $rc, wall ${wall}s"
# pytest shows paths relative to its cwd ($WORK); print the short summary without that prefix.
[[ $STREAM == 1 ]] || sed -n '/short test summary info/,/^=\{3,\} .* in [0-9.]*s/p' "$WORK/pytest.log" \
  | sed -E 's#(\.\./)+'"${RUN_ROOTDIR#/}"'/##'

echo "$summary"

if (( interrupted )); then exit 130; fi
case $rc in
  0|1) exit 0 ;;         # pytest ran; test failures are for kazoo-compare.py to judge
  124|137)               # `timeout` fired (137: the group needed SIGKILL, e.g. a server ignoring SIGTERM)
    echo "kazoo-suite $TARGET: WARNING: suite timeout (${SUITE_TIMEOUT}s) hit; results are partial" >&2
    exit 0 ;;
  *) echo "kazoo-suite $TARGET: pytest exit status $rc (internal or usage error)" >&2
     exit 4 ;;
esac
