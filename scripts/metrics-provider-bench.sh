#!/usr/bin/env bash
# Throughput of zkts without and with the Prometheus provider (scraped every second), alternating
# ROUNDS times: `zkts bench read write` against each (docs/benchmarks.md). Build first.
#   ROUNDS=5 CLIENT_PORT=12181 METRICS_PORT=17000 bash scripts/metrics-provider-bench.sh
set -uo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
BIN=$ROOT/dist/bin/zkts.js
ROUNDS=${ROUNDS:-5}
CLIENT_PORT=${CLIENT_PORT:-12181}
METRICS_PORT=${METRICS_PORT:-17000}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
for round in $(seq 1 "$ROUNDS"); do
  for mode in off on; do
    d=$WORK/$mode; rm -rf "$d"; mkdir -p "$d"
    {
      echo "dataDir=$d/data"; echo "clientPort=$CLIENT_PORT"; echo clientPortAddress=127.0.0.1
      echo maxClientCnxns=0; echo forceSync=yes
      if [[ $mode == on ]]; then
        echo metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider
        echo metricsProvider.httpHost=127.0.0.1; echo "metricsProvider.httpPort=$METRICS_PORT"
      fi
    } > "$d/zoo.cfg"
    ZKTS_LOG_LEVEL=warn node "$BIN" start --config "$d/zoo.cfg" > "$d/log" 2>&1 &
    pid=$!
    sleep 2
    if [[ $mode == on ]]; then
      ( while kill -0 "$pid" 2>/dev/null; do curl -s -o /dev/null "http://127.0.0.1:$METRICS_PORT/metrics"; sleep 1; done ) &
    fi
    echo "== round $round provider=$mode"
    node "$BIN" bench read write -c "127.0.0.1:$CLIENT_PORT" --server-pid "$pid" --rounds 1 -d 10 --warmup 2 | grep -E 'ops/s='
    kill "$pid"; wait "$pid" 2>/dev/null
  done
done
